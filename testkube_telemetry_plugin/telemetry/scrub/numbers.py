"""Numbers in error text: kept only when they tell the error's shape.

Digits are normalised first (the package's normalise: full-width and Arabic-Indic are
ASCII by now).  A run of digit groups joined by spaces, dashes, dots or slashes
is judged as one number, so a phone, a card, an IBAN or a date goes whole.
What stays: a count of one or two digits; a version or a decimal; a ratio of
counts (0/3 nodes); a number its neighbours call a port, a status, an exit
code, a line, a position, a measure or a count (port 5432, HTTP 404, exit code
137, line 12, 4000ms, 3 retries, `403 Forbidden`, `:8080`).  Never one right
after a card, PIN, phone, postcode, birth-date or secret word ("cvv 314",
"ending in 4242", "PIN: 7391"), nor one with a leading zero, a plus sign or
more than the digits its context allows.
"""

from __future__ import annotations

import re
from typing import Optional

from .allowlist import _NAME, MARK, _known, _parts, _rx
from .secrets import sensitive


def numbers(text: str) -> str:
    """Every run of digits, judged in its context: kept as it is, or one <number>."""
    return _rx().run.sub(lambda m: _number(m, text), text)


def _number(m: re.Match[str], text: str) -> str:
    body, lead, unit = m.group("body"), m.group("lead") or "", m.group("unit")
    groups = re.findall(r"\d+", body)
    words = [w for w in re.findall(r"[^\W_]+", text[max(0, m.start() - 60):m.start()]) if not w.isdigit()]
    nearest = _nearest(words)
    after_match = re.match(r"[\s:\-]*([^\W\d_]+)", text[m.end():m.end() + 40])
    after = after_match.group(1).lower() if after_match else ""
    seps = {s.strip() or " " for s in re.split(r"[\d()]+", body) if s}
    if _denied(words):
        keep = False
    elif lead == "+":
        keep = len(groups) == 1 and len(groups[0]) <= 2
    elif len(groups) == 1:
        keep = _single(groups[0], unit, nearest, after, m, text) or (
            body.startswith("(") and len(body) == 5 and 100 <= int(groups[0]) <= 599)  # "rejected (401)"
    elif seps == {"."}:
        keep = _dotted(groups, lead == "v" or nearest in _rx().version_words)
    elif seps == {"/"} and len(groups) == 2:
        keep = _ratio(groups, after)
    elif seps <= {"-", "\u2013"} and len(groups) == 2:
        keep = nearest in ("range", "between", "from", "ports") and _no_zero(groups) and int(groups[0]) < int(groups[1])
    else:
        keep = False  # digit groups joined by spaces or mixed separators: a phone, a card, an account
    if keep:
        return m.group()
    if len(groups) == 1 and body.startswith("("):
        return f"({MARK['number']}){unit or ''}"
    return MARK["number"]


def _nearest(words: list[str]) -> str:
    """The word before a number, lowercased; an exception's class (PermissionDenied: 403) reads as "error"."""
    if not words:
        return ""
    humps = [h.lower() for h in _rx().humps.findall(words[-1])]
    if len(humps) > 1 and humps[-1] in _FAILURES and _known(words[-1]) and words[-1][:1].isupper():
        return "error"
    return words[-1].lower()


def _denied(words: list[str]) -> bool:
    """A card, PIN, phone, postcode or secret word just before: "cvv 314", "card ending in 4242", "cardNumber: 4242"."""
    rx = _rx()

    def telling(word: str) -> bool:
        return any(p in rx.number_deny for p in (word.lower(), *_parts(word))) or sensitive(word)

    if words and telling(words[-1]):
        return True
    return len(words) > 1 and words[-1].lower() in _LINKS and telling(words[-2])


_LINKS = frozenset("in on of is was with number no nr num code digits ending date last".split())
_FAILURES = frozenset("error exception denied forbidden found unauthorized failed failure timeout refused conflict "
                      "invalid".split())


def _no_zero(groups: list[str]) -> bool:
    return not any(len(g) > 1 and g.startswith("0") for g in groups)


def _single(digits: str, unit: Optional[str], nearest: str, after: str, m: re.Match[str], text: str) -> bool:
    """One group of digits: small, or said by its neighbours to be a port, a status, a line, a measure."""
    rx = _rx()
    size = len(digits)
    if unit:
        return size <= 6
    if size <= 2:
        return True
    if digits.startswith("0"):
        return False  # 0176..., 0049...: a phone's or an account's, not a count
    if text[m.start() - 1:m.start()] == ":" and size <= 5 and int(digits) <= 65535 and _port_owner(text, m.start() - 1):
        return True
    limit = rx.number_before.get(nearest, 5 if nearest.endswith(("error", "exception")) else 0)
    if size <= limit and (nearest not in ("port", "ports") or int(digits) <= 65535):
        return True
    if size <= max(rx.number_after.get(word, 0) for word in (after, after[:1], after[:2])):
        return True
    return size == 3 and 100 <= int(digits) <= 599 and after in rx.status_starts


def _port_owner(text: str, colon: int) -> bool:
    """Whether what stands before ':' owns a port or a time: a placeholder host, localhost, or digits."""
    before = text[max(0, colon - 12):colon].rstrip("]")
    return bool(before) and (before[-1] in _NAME or before[-1].isdigit() or before.lower().endswith("localhost"))


def _dotted(groups: list[str], version: bool) -> bool:
    """A version or a decimal stays; a date goes (12.11.1985, 03.09.78, 10.1.10, unless called a version).

    A triple whose first two parts can be a day and a month and whose last has
    two digits reads as a date (d.m.yy): "10.1.10" is as likely a child's
    birth date as a release, so only "v10.1.10" or "helm 10.1.10" keep it.
    """
    if len(groups) > 4 or any(len(g) > 4 for g in groups):
        return False
    if version:
        return True
    if len(groups) == 2:
        return _no_zero(groups[:1])  # 1.25, 0.05, 12.5; not 06.12 (a day and a month, or a phone's start)
    if len(groups[0]) == 4 or len(groups[-1]) == 4 or not _no_zero(groups) or any(len(g) > 3 for g in groups):
        return False
    first, second = int(groups[0]), int(groups[1])
    day_month = 1 <= first <= 31 and 1 <= second <= 12 or 1 <= first <= 12 and 1 <= second <= 31
    return not (len(groups) == 3 and day_month and len(groups[2]) == 2)


def _ratio(groups: list[str], after: str) -> bool:
    """`0/3 nodes`, `2/2`: a count of a count.  `11/29`, `04/28` (a card's expiry, a date) go."""
    first, second = int(groups[0]), int(groups[1])
    if not _no_zero(groups) or any(len(g) > 4 for g in groups) or first > second:
        return False
    return second <= 12 or first == second or _rx().number_after.get(after, 0) >= 4
