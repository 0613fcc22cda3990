"""Secrets found by their key: the value after a secret's key goes, whatever it looks like.

A deny-list of value shapes misses a short or wordy password ("open-source-
rules"), so the key decides: a key that names a secret (password, token, PIN,
passcode, in the languages the tools speak), holds one inside a compound
(PGPASSWORD, authtoken, MYSQL_PWD, dbpass) or misspells one within an edit or
two (passwrod, pasword, secert, tokn) forces <secret> on its value, in
`key=value`, `key: value`, JSON, YAML and `--flag value` forms.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .allowlist import MARK, _parts, _rx


@lru_cache(maxsize=4096)
def sensitive(key: str) -> bool:
    """Whether a key's value is a secret: it names, holds or misspells a secret's name."""
    rx = _rx()
    parts = _parts(key.lstrip("-"))
    if len(parts) > 1 and parts[-1] in ("error", "exception", "warning") and key[:1].isupper():
        return False  # an exception's class (KeyError: 'x', AuthenticationError: ...), not a key
    if any(p in rx.sensitive for p in (*parts, "".join(parts))) or ("key" in parts and len(parts) > 1):
        return True
    return any(_secret_word(word) for word in {*parts, "".join(parts)} if len(word) >= 3)


def _secret_word(word: str) -> bool:
    """One part of a key: a secret's name inside it (PGPASSWORD, authtoken, dbpass) or misspelt (passwrod, tokn)."""
    rx = _rx()
    if any(stem in word for stem in rx.stems) or (word.endswith("pass") and word not in rx.not_pass):
        return True
    if word.startswith("auth") and not word.startswith("author") and word not in rx.vocab:
        return True
    if word in rx.vocab:
        return False  # an English word is not a misspelling (passed, version)
    if word.endswith("key") and len(word) > 3:
        return True  # apikey, signingkey, masterkey
    for stem in rx.fuzzy:
        size, most = len(stem), (1 if len(stem) <= 7 else 2)
        # the word itself, or where it may start or end inside a compound (pgpasswrod, mytokn)
        starts = [i for i, ch in enumerate(word) if ch == stem[0] and abs(len(word) - i - size) <= most] or [0]
        candidates = {word[i:] for i in starts} | {word[:size + d] for d in range(-most, most + 1) if size + d > 0}
        if any(c[:1] == stem[0] and abs(len(c) - size) <= most and _osa(c, stem, most) <= most for c in candidates):
            return True
    return False


def _osa(a: str, b: str, most: int) -> int:
    """Optimal-string-alignment distance (a transposition counts one), stopping early past `most`."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], previous2[j - 2] + 1)
        if min(row) > most:
            return most + 1
        previous2, previous = previous, row
    return previous[-1]


def key_values(text: str) -> str:
    """The value after a sensitive key becomes <secret>, whatever it looks like."""
    rx, out, pos = _rx(), [], 0
    while (m := rx.key.search(text, pos)) is not None:
        key, sep = m.group(3), m.group(4)
        spaced = not sep.strip()
        prefixed = m.group(1) and (key.lower() in ("key", "keys") or sensitive(key))  # "api key: ..."
        if (spaced and not key.startswith("-")) or not (prefixed or sensitive(key)):
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


def bare_scheme(m: re.Match[str]) -> str:
    return m.group() if m.group(2).lower() in _rx().scheme_words else f"{m.group(1)} {MARK['secret']}"
