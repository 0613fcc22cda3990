"""JSON for the hot path, without importing the `json` package.

Importing `json` costs about 2.5% of a whole command (its decoder compiles
regular expressions); every command writes one spool record, and nothing
on that path reads JSON.  `_json.make_encoder` is the C encoder `json.dumps`
itself builds (same arguments as in `json.encoder`, unchanged since Python
2.7); where it is missing or its signature changed, `json.dumps` is used.
`tests/test_spool.py` checks both give the same bytes.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

_encoder: Optional[Callable[[Any, int], Any]] = None


def _refuse(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _c_encoder() -> Optional[Callable[[Any, int], Any]]:
    try:
        from _json import encode_basestring_ascii, make_encoder

        return make_encoder(None, _refuse, encode_basestring_ascii, None, ":", ",", False, False, True)
    except Exception:  # noqa: BLE001 - any change in the private module: use the public one
        return None


def dumps(value: Any) -> str:
    """`json.dumps(value, separators=(",", ":"))`, byte for byte."""
    global _encoder
    if _encoder is None:
        _encoder = _c_encoder() or _fallback
    try:
        return "".join(_encoder(value, 0))
    except TypeError:
        raise
    except Exception:  # noqa: BLE001
        return _fallback(value, 0)[0]


def _fallback(value: Any, _level: int) -> tuple[str]:
    import json

    return (json.dumps(value, separators=(",", ":")),)
