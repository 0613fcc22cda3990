"""Free text made safe to send: an allow-list, not a deny-list.

Error messages echo what the user typed and what their machine knows: names,
hosts, paths, tokens.  A deny-list of patterns always misses a shape, so the
message is rebuilt from what is known to be harmless (see allowlist.py), after
two steps that hold by construction: every value the user typed (and its
recognisable parts: a typed "Will Short onboarding" also removes "Will Short"),
and this machine's user, host and home names, are replaced wherever they occur.
The text is normalised first (NFKC, every script's digits as ASCII), and a long
message keeps its head and its tail, where the cause usually is.  Click's usage
errors get fixed forms built from the exception, not from its text.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any, Iterable, Optional, Sequence

from .allowlist import MARK, UNMARK, redact

if TYPE_CHECKING:
    import click

MAX_MESSAGE_CHARS = 200
_REASON: Optional[re.Pattern[str]] = None


def _local_labelled() -> list[tuple[str, str]]:
    """This machine's names, each with the kind of thing it is."""
    import getpass  # here, not at the top: socket alone costs milliseconds, and scrub runs only on errors
    import socket

    pairs = [(os.environ.get(var, ""), kind) for var, kind in
             (("USER", "user"), ("USERNAME", "user"), ("LOGNAME", "user"), ("HOSTNAME", "host"))]
    for get, kind in ((getpass.getuser, "user"), (socket.gethostname, "host")):
        try:
            pairs.append((get(), kind))
        except Exception:  # getuser raises when no user name can be found
            continue
    pairs += [(name.split(".")[0], "host") for name, kind in list(pairs) if kind == "host"]
    home = os.path.expanduser("~")
    pairs += [(home, "path"), (home.replace("\\", "/"), "path")]
    return [(name, kind) for name, kind in pairs if len(name.strip("/\\~")) >= 2]


def local_names() -> list[str]:
    """This machine's user name(s), host name and home folder, which must never leave it."""
    return sorted({name for name, _ in _local_labelled()}, key=len, reverse=True)


def normalise(text: str) -> str:
    """NFKC, and every script's decimal digits as ASCII ones: a number is judged the same in any script.

    Full-width forms (０９０, ＡＢＣ) and compatibility characters become their
    plain forms, Arabic-Indic or Devanagari digits become 0-9, before anything
    is decided: otherwise `\\d` would see digits that no ASCII rule was written for.
    """
    if text.isascii():
        return text
    import unicodedata

    text = unicodedata.normalize("NFKC", text)
    digits = {ord(ch): str(unicodedata.decimal(ch)) for ch in set(text) if ch.isdecimal() and not ch.isascii()}
    return text.translate(digits) if digits else text


def _values(typed: Iterable[Any], own: frozenset[str], cap: int) -> list[tuple[str, str, bool, bool]]:
    """(value as searched, kind, whole tokens only, exact case), longest first.

    A value is searched by its first `cap` characters: every occurrence holds
    them, and no occurrence that starts before the cut can be longer than that.
    Values are casefolded unless exact case is asked for.
    """
    from .names import typed_pieces

    found: dict[tuple[str, bool], tuple[str, bool]] = {}
    for raw in typed or ():
        value = str(raw).translate(UNMARK)
        for v in {value, value.strip(), normalise(value), normalise(value).strip()}:
            if any(ch.isalnum() for ch in v) and v not in own and v.lower() not in own:
                found.setdefault((v[:cap].casefold(), False), ("arg", len(v) <= 2))
        for piece, exact in typed_pieces(normalise(value).strip()):
            if piece not in own and piece.lower() not in own:
                found.setdefault((piece if exact else piece.casefold(), exact), ("arg", True))
    for name, kind in _local_labelled():  # whole words: a host called "vm" leaves "vmware" alone
        found.setdefault((name.translate(UNMARK).casefold(), False), (kind, True))
    return sorted(((f, k, w, e) for (f, e), (k, w) in found.items()), key=lambda item: -len(item[0]))


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _spans(text: str, values: list[tuple[str, str, bool, bool]]) -> list[tuple[int, int, str]]:
    """Where the values occur, case-insensitively (casefold) unless exact, merged where they overlap."""
    index: Sequence[int]
    if text.isascii():
        folded, index = text.lower(), range(len(text))
    else:
        pieces = [ch.casefold() for ch in text]
        folded, index = "".join(pieces), [i for i, p in enumerate(pieces) for _ in p]
    spans = []
    for value, kind, whole, exact in values:
        haystack = text if exact else folded
        at = haystack.find(value)
        while at >= 0:
            end = at + len(value)
            if not whole or not (
                (_is_word(value[0]) and at > 0 and _is_word(haystack[at - 1]))
                or (_is_word(value[-1]) and end < len(haystack) and _is_word(haystack[end]))
            ):
                spans.append((at, end, kind) if exact else (index[at], index[end - 1] + 1, kind))
            at = haystack.find(value, at + 1)
    merged: list[tuple[int, int, str]] = []
    for start, end, kind in sorted(spans, key=lambda s: (s[0], -s[1])):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]), merged[-1][2])
        else:
            merged.append((start, end, kind))
    return merged


def _mark(window: str, values: list[tuple[str, str, bool, bool]], lo: int, hi: int) -> str:
    """window[lo:hi] with the values marked; a value straddling a bound is marked whole, a cut token dropped."""
    pieces, pos, covered = [], lo, False
    for start, end, kind in _spans(window, values):
        if end <= lo or start >= hi:
            continue
        covered = covered or start < lo
        if start > pos:
            pieces.append(window[pos:start])
        pieces.append(MARK[kind])
        pos = max(pos, end)
    if pos < hi:
        pieces.append(window[pos:hi])
    marked = "".join(pieces)
    if hi < len(window) and pos <= hi and not window[hi:hi + 1].isspace():
        marked = re.sub(r"[^\s\uE000-\uE0FF]+$", "", marked)
    if lo > 0 and not covered and not window[lo - 1:lo].isspace():
        marked = re.sub(r"^[^\s\uE000-\uE0FF]+", "", marked)
    return marked


def _bound_and_mark(text: str, typed: Iterable[Any], own: frozenset[str], limit: int) -> tuple[str, bool]:
    """The text (its head and its tail when long), normalised, with what the user typed and this machine's names marked.

    A long message keeps its beginning and its end, where the cause usually is
    (urllib3's "Connection refused", a Java "nested exception is ..."); the middle
    goes.  Values are searched a value's length past each cut, so one that
    straddles a cut is still found whole; a cut token is dropped, not halved, and
    so is the tail's first word (it may be a value whose key was cut away).
    """
    bound = max(limit, 50) * 20
    values = _values(typed, own, bound)
    longest = max((len(v) for v, _, _, _ in values), default=0)
    if len(text) <= bound:
        window = normalise(text).translate(UNMARK)
        return _mark(window, values, 0, len(window)), False
    head_size = bound * 3 // 5
    head = normalise(text[:head_size + longest]).translate(UNMARK)
    tail = normalise(text[len(text) - (bound - head_size) - longest:]).translate(UNMARK)
    start = max(0, len(tail) - (bound - head_size))
    tail_marked = re.sub(r"^\s*[^\s\uE000-\uE0FF]*", "", _mark(tail, values, start, len(tail)))
    return _mark(head, values, 0, min(head_size, len(head))) + " \u2026 " + tail_marked, True


def scrub(
    text: Optional[str], typed: Iterable[str] = (), own_words: Iterable[str] = (), limit: int = MAX_MESSAGE_CHARS
) -> str:
    """Free text made safe to send: only known words survive, the rest is named by kind.

    Never raises: telemetry must not break the command it reports on, and on an
    unexpected failure nothing of the text is sent.
    """
    if not text or limit <= 0:
        return ""
    try:
        return _scrub(str(text), typed, own_words, limit)
    except Exception:  # a bug must cost the message, never the command
        return "<value>"[:limit]


def _scrub(text: str, typed: Iterable[Any], own_words: Iterable[Any], limit: int) -> str:
    """The pipeline itself, raising on bugs: the tests call it so none can hide."""
    words = [str(w) for w in own_words or () if w]
    own = frozenset(words) | frozenset(w.lower() for w in words)
    text, _ = _bound_and_mark(text, typed, own, limit)
    return _cut_middle(redact(text, own).strip(), limit)


def _cut_middle(out: str, limit: int) -> str:
    """`out` within `limit` characters: its head and its tail around " … ", no word or placeholder halved."""
    if len(out) <= limit:
        return out
    if limit < 24:
        return re.sub(r"<[a-z]*$", "", out[: limit - 1]).rstrip() + "…"
    room = limit - 3
    head_size = room * 3 // 5
    tail_size = room - head_size
    head, tail = out[:head_size], out[len(out) - tail_size:]
    if not out[head_size].isspace():
        head = re.sub(r"\S+$", "", head) or re.sub(r"<[a-z]*$", "", head)
    if not out[len(out) - tail_size - 1].isspace():
        tail = re.sub(r"^\S+", "", tail) or re.sub(r"^[a-z]*>", "", tail)
    return f"{head.rstrip()} … {tail.lstrip()}"


def usage_error_message(exc: click.UsageError, typed: Iterable[str] = (), own_words: Iterable[str] = ()) -> str:
    """A fixed, value-free form of a Click usage error.

    Click writes the user's words into these messages (the unknown command, the
    bad value, since 8.2 the whole help text), so the form is built from the
    exception's class and attributes; only unknown shapes fall back to scrub().
    """
    own = [str(w) for w in own_words or ()]
    try:
        form = _usage_form(exc, frozenset(own) | frozenset(w.lower() for w in own))
        if form is not None:
            return form
        text, hints = exc.format_message(), _hints(exc)
    except Exception:  # an attribute missing in some Click version: the text, scrubbed, will do
        text, hints = _text_of(exc), []
    return scrub(text, typed, [*own, *hints])


def _text_of(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return ""


def _usage_form(exc: click.UsageError, own: frozenset[str]) -> Optional[str]:
    from click import exceptions as ce

    message = str(getattr(exc, "message", "") or "")
    no_args, no_command = getattr(ce, "NoArgsIsHelpError", ()), getattr(ce, "NoSuchCommand", ())
    if no_args and isinstance(exc, no_args):
        return "No arguments given; help shown."
    if isinstance(exc, ce.NoSuchOption):
        name = exc.option_name
        return f"No such option {_quote(name) if name in own or name.lower() in own else '<arg>'}."
    if isinstance(exc, ce.BadOptionUsage):
        name, count = _quote(exc.option_name), re.search(r"requires (\d+) arguments", message)
        if count:
            return f"Option {name} requires {count.group(1)} arguments."
        for ending in ("requires an argument", "does not take a value"):
            if ending in message:
                return f"Option {name} {ending}."
        return None
    if isinstance(exc, ce.MissingParameter):
        kind = exc.param_type or getattr(exc.param, "param_type_name", None)
        kind = kind if kind in ("option", "argument") else "parameter"
        return " ".join(["Missing", kind, *_hints(exc, quoted=True)]) + "."
    if isinstance(exc, ce.BadParameter):
        reason, hints = _reason().search(message), _hints(exc, quoted=True)
        head = f"Invalid value for {' / '.join(hints)}" if hints else "Invalid value"
        if reason is None:
            return f"{head}."
        return f"{head}: {reason.group()}{' the choices' if reason.group().endswith('one of') else ''}."
    if (no_command and isinstance(exc, no_command)) or message.startswith("No such command"):
        return "No such command <arg>."
    if message.startswith("Got unexpected extra argument"):
        return "Got unexpected extra argument(s)."
    return "Missing command." if message.strip() == "Missing command." else None


def _reason() -> re.Pattern[str]:
    """Click's own value-free reasons for a bad value (the value itself is left out)."""
    global _REASON
    if _REASON is None:
        _REASON = re.compile(
            r"(?i)\b(?:is not a valid (?:integer|float|boolean|uuid|number|path|file|directory)|is not one of"
            r"|is not in the range|does not exist|is a directory|is a file|is not (?:readable|writable|executable)"
            r"|does not match the formats?|no such file or directory|permission denied)\b"
        )
    return _REASON


def _quote(name: str) -> str:
    """The CLI's own parameter name quoted, or <arg> if it does not look like one."""
    return f"'{name}'" if re.fullmatch(r"-{0,2}[\w\[\]][\w\-\[\].]{0,40}", name) else "<arg>"


def _hints(exc: click.UsageError, quoted: bool = False) -> list[str]:
    """The parameter names an error is about: the CLI's own words, from its definition."""
    hint: Any = getattr(exc, "param_hint", None)
    param, ctx = getattr(exc, "param", None), getattr(exc, "ctx", None)
    if hint is None and param is not None and ctx is not None:
        hint = param.get_error_hint(ctx)
    names = [hint] if isinstance(hint, str) else [str(h) for h in hint or ()]
    pieces = [p.strip().strip("'\"") for name in names for p in name.split(" / ") if p.strip()]
    return [_quote(p) for p in pieces] if quoted else [p for p in pieces if _quote(p) != "<arg>"]
