"""The allow-list: which words of a message survive, and what the rest is called.

A word survives only if it is in the fixed vocabulary, is one of the CLI's own
command or option names, or is a number that tells the error's shape, or
punctuation.  Anything else is replaced by the kind of thing it was -- "<path>",
"<host>", "<secret>", "<number>", "<value>" -- so a shape nobody foresaw is
still removed, only less precisely named.  Three things are decided by context,
because the word alone cannot tell:

- numbers (numbers.py): a count of one or two digits stays; a longer one
  only where its neighbours say it is a port, a status, an exit code, a line, a
  version or a measure, never next to a card, PIN, phone or postcode word;
  digit groups joined by spaces, dashes, dots or slashes (phones, cards, IBANs,
  dates) go;
- names (names.py, and _known for compounds): error words that are also
  given names or surnames ("will", "max", "short") go where they read as a
  name ("Will Short", "user max", "max.long");
- secrets (secrets.py): the value after a key that is, contains or misspells a
  secret's name (password, PGPASSWORD, authtoken, passwrod, secert, tokn) goes,
  whatever it looks like.

This module holds the patterns, the kinds of chunk (url, e-mail, host, path,
address...) and `redact`, which runs the stages in order; words.py is the
word stage.
"""

from __future__ import annotations

import re
from typing import Callable, Optional

KINDS = ("arg", "user", "host", "path", "url", "email", "ip", "address", "secret", "number", "value")
# A placeholder travels through the pipeline as one private-use character, so no
# later pattern matches inside or across it; it is spelled out at the very end.
MARK = {kind: chr(0xE000 + i) for i, kind in enumerate(KINDS)}
_NAME = {mark: f"<{kind}>" for kind, mark in MARK.items()}
UNMARK = {cp: " " for cp in range(0xE000, 0xE100)}  # the input may not carry placeholder characters

# Scripts written without spaces between words, cut into vocabulary words (see _cjk).
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
_WORDCHAR_NOT_CJK = rf"[^\W{_CJK}]"


class _Rx:
    """Patterns and word sets, built on first use: importing this module stays cheap."""

    def __init__(self) -> None:
        from . import vocabulary as v

        c = re.compile
        self.vocab = (frozenset(v.WORDS.split()) | frozenset(v.FOREIGN.split())
                      | frozenset("abcdefghijklmnopqrstuvwxyz"))
        self.cjk = frozenset(v.CJK.split())
        self.cjk_longest = max(len(w) for w in self.cjk)
        self.names_too, self.first_names_too = frozenset(v.NAMES_TOO.split()), frozenset(v.FIRST_NAMES_TOO.split())
        self.introducers = frozenset(v.NAME_INTRODUCERS.split())
        self.slashed, self.sensitive = frozenset(v.SLASHED.split()), frozenset(v.SENSITIVE.split())
        self.stems, self.fuzzy = tuple(v.SENSITIVE_STEMS.split()), tuple(v.FUZZY_STEMS.split())
        self.not_pass = frozenset(v.NOT_PASS.split())
        self.user_keys, self.host_keys = frozenset(v.USER_KEYS.split()), frozenset(v.HOST_KEYS.split())
        self.scheme_words, self.extensions = frozenset(v.SCHEME_WORDS.split()), frozenset(v.EXTENSIONS.split())
        self.host_suffixes = frozenset(v.HOST_SUFFIXES.split())
        self.number_before = {word: limit for limit, words in v.NUMBER_BEFORE.items() for word in words.split()}
        self.number_after = {word: limit for limit, words in v.NUMBER_AFTER.items() for word in words.split()}
        self.number_deny = frozenset(v.NUMBER_DENY.split())
        self.status_starts, self.version_words = frozenset(v.STATUS_STARTS.split()), frozenset(v.VERSION_WORDS.split())
        self.cjk_units = frozenset(w for w in self.number_after if re.match(f"[{_CJK}]", w))
        self.controls = {cp: " " for cp in [*range(32), 127]}
        self.pem = c(r"-----BEGIN [A-Z0-9 ]*-----.*?(?:-----END [A-Z0-9 ]*-----|\Z)", re.S)
        # Any key before "=", ":" or "=>" (or a flag before its value); _sensitive decides.
        self.key = c(
            r"(?i)(?<![\w.\-])(?:(api|access|private|secret|signing|ssh|client|account|service)\s+)?"
            r"([\"']?)(-{0,2}[^\W_][\w.\-]*?)\2(\s*(?:[:=]|=>)\s*|\s+)"
        )
        self.scheme = c(r"(?i)(?:bearer|basic|digest|token)\s+")
        self.value = c(r""""(?:[^"\\\n]|\\.)*(?:"|$)|'(?:[^'\\\n]|\\.)*(?:'|$)|\S+""", re.M)
        self.bare_scheme = c(r"(?i)\b(bearer|basic|digest)\s+([^\s,;:)]+)")
        hx, b64 = "[0-9a-fA-F]", r"[\w+/=\-]"
        # Each pattern may start only where a run of its characters starts (the
        # look-behinds): a 4000-character run then costs one scan, not 4000.
        self.subs: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
            (c(r"(?i)(?<![a-z0-9+.\-])[a-z][a-z0-9+.\-]*://[^\s\"'<>\[\]{}|\\^`]*"), _url),
            (c(r"(?<![\w.\-])[\w.\-]+@[\w.\-]+:[\w./~\-]+"), _fixed("url")),
            (c(r"(?<![\w.%+\-])[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)+"), _fixed("email")),
            (c(r"(?<![\w.\-])[\w.\-]+@[\w\-]+"), lambda m: f"{MARK['user']}@{MARK['host']}"),
            (c(r"\beyJ[\w\-]{4,}\.[\w\-]{4,}(?:\.[\w\-]*)?"), _fixed("secret")),
            (c(r"\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_\w{20,}|glpat-[\w\-]{16,}|xox[abposr]-[\w\-]{8,}"
               r"|[srp]k_(?:live|test)_\w{8,}|A[KS]IA[A-Z0-9]{12,}|AIza[\w\-]{20,}|npm_[A-Za-z0-9]{20,})"),
             _fixed("secret")),
            (c(rf"\b{hx}{{8}}-(?:{hx}{{4}}-){{3}}{hx}{{12}}\b"), _fixed("value")),
            (c(rf"\b(?={hx}*[a-fA-F])(?={hx}*\d){hx}{{16,}}\b"), _fixed("secret")),
            (c(rf"(?<![\w+/=\-])(?={b64}*\d)(?={b64}*[a-z])(?={b64}*[A-Z])[\w+][\w+/\-]{{19,}}={{0,2}}"),
             _fixed("secret")),
            (c(r"\b\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d)?(?:\.\d+)?(?:Z|[+\-]\d\d:?\d\d)?)?\b"), _fixed("value")),
            # An IBAN, with or without its spaces (its letters would pass the word stage as <value> anyway).
            (c(r"(?<!\w)[A-Z]{2}\d{2}(?:[ \-]?[A-Z0-9]{4}){2,7}(?:[ \-]?[A-Z0-9]{1,4})?(?!\w)"), _fixed("number")),
            # A MAC address: a device's serial, not an IPv6 address.
            (c(r"(?<![\w:\-])(?:[0-9A-Fa-f]{2}([:\-]))(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}(?![\w:\-])"),
             _fixed("value")),
            (c(r"(?<![\w:.])(?:\[[0-9A-Fa-f:]{2,39}(?:%\w+)?\](?::\d{1,5})?|[0-9A-Fa-f:]{2,39}[0-9A-Fa-f])(?![\w.])"),
             _ipv6),
            (c(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)(:\d{1,5}|/\d{1,2})?"), _ipv4),
            (c(r"[^\s\"'`<>()\[\]{},;=|\uE000-\uE0FF]+"), _chunk),
        ]
        # A run of digit groups joined by spaces, dashes, dots or slashes: one number, judged whole
        # (see _number).  It starts where no word (of a spaced script) or word-joined dot/dash ends.
        sep = r"(?:[ \u00a0]?[\-\u2010-\u2015\u2212\u30fc./][ \u00a0]?|[ \u00a0])"
        first = r"(?:(?<=\+)\d{1,3}[ \u00a0]?\(\d{1,5}\)|\(\d{1,5}\)|\d+)"  # "(212) 555-0187", "+1 (212) ..."
        unit = r"(?:ms|[smhd]|[kmgtp]i?b|[kmgt]i|%|x)"
        self.run = c(
            rf"(?<!{_WORDCHAR_NOT_CJK})(?<!\w[.\-])(?<![@/\\])(?P<lead>\+|v(?=\d))?"
            rf"(?P<body>{first}(?:{sep}\d+)*)(?P<unit>{unit}(?![^\W\d_]))?(?!{_WORDCHAR_NOT_CJK}|[@/\\])",
            re.I,
        )
        self.quoted = c(r""""([^"\n]{0,300})"|(?<!\w)'([^'\n]{0,300})'(?!\w)|`([^`\n]{0,300})`|“([^”\n]{0,300})”"""
                        r"|„([^“”\n]{0,300})[“”]|«\s?([^»\n]{0,300}?)\s?»|「([^」\n]{0,300})」|『([^』\n]{0,300})』")
        self.token = c(r"([\uE000-\uE0FF])|(-{1,2}[^\W_][\w\-]*|\w+(?:[.'’\-]\w+)*)|(\s+)|(.)", re.S)
        self.humps = c(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+|[^\W\d_]+")
        self.number = c(r"v?\d{1,6}(?:\.\d{1,4}){0,3}(?:ms|[smhd]|[kmgt]i?b?|%|x)?", re.I)
        self.port = c(r"(.+?)((?::\d{1,5})+)")


_RX: Optional[_Rx] = None


def _rx() -> _Rx:
    global _RX
    if _RX is None:
        _RX = _Rx()
    return _RX


def _fixed(kind: str) -> Callable[[re.Match[str]], str]:
    return lambda m: MARK[kind]


def _url(m: re.Match[str]) -> str:
    url = m.group()
    kept = url.rstrip(".,;:!?'\")")
    return MARK["url"] + url[len(kept):]


def _ipv6(m: re.Match[str]) -> str:
    core = m.group().lstrip("[").split("]")[0].split("%")[0]
    groups = core.split(":")
    if core.strip(":") == "" or any(len(g) > 4 for g in groups) or ("::" not in core and len(groups) != 8):
        return m.group()
    return MARK["address" if "]:" in m.group() else "ip"]


def _ipv4(m: re.Match[str]) -> str:
    return MARK["address" if (m.group(1) or "").startswith(":") else "ip"]


def _parts(word: str) -> list[str]:
    """`word` cut at dots, dashes, underscores and camelCase humps, lowercased."""
    return [p.lower() for piece in re.split(r"[.'’_\-]+", word) for p in _rx().humps.findall(piece)]


def _known(word: str, own: frozenset[str] = frozenset()) -> bool:
    """A vocabulary word, an own word, a number the number stage let through, or a compound of vocabulary words.

    A compound is not known when it could be a person: its parts are initials
    ("J.D.", "A-B"), or two of them are names ("will.short", "max_long"), or a
    name sits next to an initial ("will.s"), or, run together, it starts with a
    given name ("WillShort", "MaxLong").
    """
    rx = _rx()
    lower = word.lower().replace("’", "'")
    if lower in rx.vocab or word in own or lower in own or rx.number.fullmatch(word):
        return True
    if re.fullmatch(r"\d+(?:[.\-]\d+)+", word):
        return True  # digit groups the number stage judged whole and kept (a version, a port range)
    parts = _parts(word)
    if not parts or not all(p in rx.vocab and not p.isdigit() for p in parts) or all(len(p) == 1 for p in parts):
        return False
    names = [p in rx.names_too for p in parts]
    if sum(names) >= 2 and not re.search(r"[.'’_\-]", word) and parts[0] not in rx.first_names_too:
        return True  # run-together code words (NullPointerException), not a given name and a surname
    if sum(names) >= 2:
        return False
    return not any(named and len(other) == 1 for a, b in zip(parts, parts[1:])
                   for named, other in ((a in rx.names_too, b), (b in rx.names_too, a)))


def _is_file(name: str) -> bool:
    base = re.split(r"[/\\]", name)[-1].split(":")[0]
    return "." in base and base.rsplit(".", 1)[1].lower() in _rx().extensions


def _chunk(m: re.Match[str]) -> str:
    """A run of non-space characters: a path, a host or an address, else left to the word stage."""
    chunk = m.group()
    core = chunk.rstrip(".,:;!?")
    lead = 2 if core.startswith("*.") else 0  # a wildcard host
    called = m.string[m.end():m.end() + 1] == "(" and len(core) == len(chunk)
    kind = _chunk_kind(core[lead:], called)
    return chunk if kind is None else chunk[:lead] + MARK[kind] + chunk[len(core):]


def _chunk_kind(core: str, called: bool = False) -> Optional[str]:
    rx = _rx()
    if not re.search(r"[^\W_]", core):
        return None
    if "/" in core or "\\" in core:
        if core.lower() in rx.slashed or re.fullmatch(r"\d+/\d+", core):
            return None
        return "host" if re.match(r"[\w\-]+(?:\.[\w\-]+)+[/:]", core) and not _is_file(core) else "path"
    port = rx.port.fullmatch(core)
    if port and re.search(r"[^\W\d_]", port.group(1)):
        host = port.group(1)
        if _is_file(host):
            return "path"
        return "address" if "." in host or host.lower() == "localhost" or not _known(host) else None
    if "." not in core.strip(".") or not re.search(r"[^\W\d_]", core) or rx.number.fullmatch(core):
        return None
    if _is_file(core):
        return "path"
    labels = core.strip(".").split(".")
    if labels[-1].lower() in rx.host_suffixes:
        # `Object.is`, `x.to(`: code; a host's last label is lowercase, and it is not called
        code = called or (labels[-1].lower() in rx.vocab and any(ch.isupper() for ch in core))
        return None if code else "host"
    if called or any(re.search(r"[a-z][A-Z]|[A-Z]{2}[a-z]|_", label) for label in labels):
        return None  # code (cy.visit(), requests.exceptions.ConnectionError): the word stage judges its parts
    unknown = not all(_known(label) for label in labels)
    return "host" if unknown or len(labels) > 4 else None


def redact(text: str, own: frozenset[str]) -> str:
    """`text`, already bounded and with typed values marked, reduced to known words and placeholders."""
    rx = _rx()
    from .numbers import numbers
    from .secrets import bare_scheme, key_values
    from .words import quotes, words

    text = rx.pem.sub(MARK["secret"], text.translate(rx.controls))
    text = rx.bare_scheme.sub(bare_scheme, key_values(text))
    for pattern, replace in rx.subs:
        text = pattern.sub(replace, text)
    text = numbers(text)
    out = " ".join(words(quotes(text, own), own).split())
    out = re.sub(r"(<[a-z]+>)(?:<[a-z]+>)+", r"\1", out)  # "<path><secret>" from one token: one placeholder
    return re.sub(r"(<[a-z]+>)(?:\s*\1)+", r"\1", out)
