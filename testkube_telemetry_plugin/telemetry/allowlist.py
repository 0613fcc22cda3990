"""The allow-list: which words of a message survive, and what the rest is called.

A word survives only if it is in the fixed vocabulary, is one of the CLI's own
command or option names, or is a small number or punctuation.  Anything else is
replaced by the kind of thing it was -- "<path>", "<host>", "<secret>",
"<value>" -- so a shape nobody foresaw is still removed, only less precisely
named.  Secrets are found by their key as well as their shape: the value after
"password=" goes whatever it looks like.
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


class _Rx:
    """Patterns and word sets, built on first use: importing this module stays cheap."""

    def __init__(self) -> None:
        from . import vocabulary as v

        c = re.compile
        self.vocab = frozenset(v.WORDS.split()) | frozenset("abcdefghijklmnopqrstuvwxyz")
        self.slashed, self.sensitive = frozenset(v.SLASHED.split()), frozenset(v.SENSITIVE.split())
        self.user_keys, self.host_keys = frozenset(v.USER_KEYS.split()), frozenset(v.HOST_KEYS.split())
        self.scheme_words, self.extensions = frozenset(v.SCHEME_WORDS.split()), frozenset(v.EXTENSIONS.split())
        self.host_suffixes = frozenset(v.HOST_SUFFIXES.split())
        self.controls = {cp: " " for cp in [*range(32), 127]}
        self.pem = c(r"-----BEGIN [A-Z0-9 ]*-----.*?(?:-----END [A-Z0-9 ]*-----|\Z)", re.S)
        stems = "pass|pwd|pw|secret|token|key|auth|credential|cookie|session|sig|bearer"
        self.key = c(
            r"(?i)(?<![\w.\-])(?:(api|access|private|secret|signing|ssh|client|account|service)\s+)?"
            rf"([\"']?)(-{{0,2}}[\w.\-]*?(?:{stems})[\w.\-]*)\2(\s*(?:[:=]|=>)\s*|\s+)"
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
            (c(r"(?<![\w:.])(?:\[[0-9A-Fa-f:]{2,39}(?:%\w+)?\](?::\d{1,5})?|[0-9A-Fa-f:]{2,39}[0-9A-Fa-f])(?![\w.])"),
             _ipv6),
            (c(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)(:\d{1,5}|/\d{1,2})?"), _ipv4),
            (c(r"[^\s\"'`<>()\[\]{},;=|\uE000-\uE0FF]+"), _chunk),
        ]
        self.quoted = c(r""""([^"\n]{0,300})"|(?<!\w)'([^'\n]{0,300})'(?!\w)|`([^`\n]{0,300})`|“([^”\n]{0,300})”""")
        self.token = c(r"([\uE000-\uE0FF])|(-{1,2}[^\W_][\w\-]*|\w+(?:[.'’\-]\w+)*)|(\s+)|(.)", re.S)
        self.humps = c(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+|[^\W\d_]+")
        self.number = c(r"v?\d{1,4}(?:\.\d{1,4}){0,2}(?:ms|[smhd]|[kmgt]i?b?|%|x)?|\d+/\d+", re.I)
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
    """A vocabulary word, an own word, a small number, or a compound of vocabulary words.

    A compound of single letters ("J.D.", "A-B") is not known: it may be someone's initials.
    """
    rx = _rx()
    lower = word.lower().replace("’", "'")
    if lower in rx.vocab or word in own or lower in own or rx.number.fullmatch(word):
        return True
    parts = _parts(word)
    return all(p in rx.vocab and not p.isdigit() for p in parts) and any(len(p) > 1 for p in parts)


def _is_file(name: str) -> bool:
    base = re.split(r"[/\\]", name)[-1].split(":")[0]
    return "." in base and base.rsplit(".", 1)[1].lower() in _rx().extensions


def _chunk(m: re.Match[str]) -> str:
    """A run of non-space characters: a path, a host or an address, else left to the word stage."""
    chunk = m.group()
    core = chunk.rstrip(".,:;!?")
    lead = 2 if core.startswith("*.") else 0  # a wildcard host
    kind = _chunk_kind(core[lead:])
    return chunk if kind is None else chunk[:lead] + MARK[kind] + chunk[len(core):]


def _chunk_kind(core: str) -> Optional[str]:
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
    if "." not in core or not re.search(r"[^\W\d_]", core) or rx.number.fullmatch(core):
        return None
    if _is_file(core):
        return "path"
    labels = core.split(".")
    unknown = not all(_known(label) for label in labels)
    return "host" if unknown or labels[-1].lower() in rx.host_suffixes or len(labels) > 4 else None


def _sensitive(key: str) -> bool:
    parts = _parts(key.lstrip("-"))
    return any(p in _rx().sensitive for p in parts) or ("key" in parts and len(parts) > 1)


def _key_values(text: str) -> str:
    """The value after a sensitive key becomes <secret>, whatever it looks like."""
    rx, out, pos = _rx(), [], 0
    while (m := rx.key.search(text, pos)) is not None:
        key, sep = m.group(3), m.group(4)
        spaced = not sep.strip()
        if (spaced and not key.startswith("-")) or not (m.group(1) or _sensitive(key)):
            out.append(text[pos:m.start(3) + 1])
            pos = m.start(3) + 1
            continue
        scheme = rx.scheme.match(text, m.end())
        start = scheme.end() if scheme else m.end()
        value = rx.value.match(text, start)
        if value is None or (spaced and value.group().startswith("-")):
            out.append(text[pos:m.end()])
            pos = m.end()
            continue
        raw = value.group()
        tail = "" if raw[:1] in "\"'" else raw[len(raw.rstrip(",;:.)]}>")):]
        out.append(text[pos:start] + MARK["secret"] + tail)
        pos = value.end()
    return "".join(out) + text[pos:]


def _bare_scheme(m: re.Match[str]) -> str:
    return m.group() if m.group(2).lower() in _rx().scheme_words else f"{m.group(1)} {MARK['secret']}"


def _quotes(text: str, own: frozenset[str]) -> str:
    """A quoted word or two is a value from the user's world, unless it is the CLI's own."""
    rx = _rx()

    def one(m: re.Match[str]) -> str:
        content = next(g for g in m.groups() if g is not None)
        bare = content.strip()
        plain = bare.translate(UNMARK)
        words = bare.split()
        if len(words) >= 3 or (words and all(w in own or w.lower() in own for w in words)):
            return m.group()
        if not re.search(r"[^\W_]", plain):
            return m.group() if plain.strip() or not bare else bare
        if len(words) == 1 and text[m.end():m.end() + 1] == ":" and _known(bare):
            return m.group()  # a key in JSON or YAML: part of the structure
        before = re.findall(r"\w+", text[max(0, m.start() - 40):m.start()])
        return MARK[_kind_after(before[-1].lower() if before else "")]

    return rx.quoted.sub(one, text)


def _kind_after(previous: str) -> str:
    rx = _rx()
    return "user" if previous in rx.user_keys else "host" if previous in rx.host_keys else "value"


def _words(text: str, own: frozenset[str]) -> str:
    """Each word kept only if known; anything else becomes the kind of thing it was."""
    out, previous = [], ""
    for mark, word, space, other in _rx().token.findall(text):
        if mark:
            out.append(_NAME.get(mark, "<value>"))
            previous = ""
        elif word:
            known = _known(word, own)
            out.append(word if known else "<number>" if word.isdigit() else f"<{_kind_after(previous)}>")
            previous = word.lower()
        else:
            kept = space or other.isascii() or other in "…’“”«»—–"
            out.append(" " if space else other if kept else "<value>")
    return "".join(out)


def redact(text: str, own: frozenset[str]) -> str:
    """`text`, already bounded and with typed values marked, reduced to known words and placeholders."""
    rx = _rx()
    text = rx.pem.sub(MARK["secret"], text.translate(rx.controls))
    text = rx.bare_scheme.sub(_bare_scheme, _key_values(text))
    for pattern, replace in rx.subs:
        text = pattern.sub(replace, text)
    out = " ".join(_words(_quotes(text, own), own).split())
    out = re.sub(r"(<[a-z]+>)(?:<[a-z]+>)+", r"\1", out)  # "<path><secret>" from one token: one placeholder
    return re.sub(r"(<[a-z]+>)(?:\s*\1)+", r"\1", out)
