"""Small Click CLIs written the way other projects write them (tests/test_adoption.py)."""
