"""The word stage: quoted values, and which words of a message survive.

A quoted word or two is a value from the user's world (a resource, a branch, a
user), unless it is the CLI's own, two error words, code made of known words
(`cy.visit()`) or an HTTP status phrase ('403 Forbidden').  Then each word is
kept only if allowlist._known says so and names.py does not read it as a
name; Japanese and Chinese, written without spaces, are cut into the longest
vocabulary words first.  Anything else becomes the kind of thing it was.
"""

from __future__ import annotations

import re

from .allowlist import _CJK, _NAME, MARK, UNMARK, _known, _rx


def quotes(text: str, own: frozenset[str]) -> str:
    """A quoted word or two is a value from the user's world, unless it is the CLI's own or a status phrase."""
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
        if len(words) == 2 and all(_known(w) and w.lower() not in rx.names_too and not w.isdigit() for w in words):
            return m.group()  # 'already registered', 'connection refused': error words, no name
        if re.fullmatch(r"[A-Za-z]\w*(?:\.[A-Za-z]\w*)+(?:\(\))?", bare) and _known(bare.rstrip("()")):
            return m.group()  # `cy.visit()`, `page.goto`: code made of known words
        status = re.fullmatch(r"([1-5]\d\d)\s+([A-Za-z][A-Za-z'\- ]*)", bare)
        if status and words[1].lower() in rx.status_starts and all(_known(w) for w in words[1:]):
            return m.group()  # 'Client error '403 Forbidden'': an HTTP status phrase
        before = re.findall(r"\w+", text[max(0, m.start() - 40):m.start()])
        return MARK[_kind_after(before[-1].lower() if before else "")]

    return rx.quoted.sub(one, text)


def _kind_after(previous: str) -> str:
    rx = _rx()
    return "user" if previous in rx.user_keys else "host" if previous in rx.host_keys else "value"


def _cjk(word: str, own: frozenset[str]) -> str:
    """A run of Japanese or Chinese (no spaces): its vocabulary words kept, the rest one <value> each."""
    rx = _rx()
    out: list[str] = []
    i = 0
    while i < len(word):
        ascii_run = re.match(r"[A-Za-z0-9_]+", word[i:])
        if ascii_run:
            piece = ascii_run.group()
            i += len(piece)
            if piece.isdigit():
                unit = next((u for u in sorted(rx.cjk_units, key=len, reverse=True) if word.startswith(u, i)), "")
                small = len(piece) <= 2 or (unit and len(piece) <= 4 and not piece.startswith("0"))
                out.append(piece + unit if small else "<number>")
                i += len(unit) if small else 0
            else:
                out.append(piece if _known(piece, own) else "<value>")
            continue
        match = next((word[i:i + n] for n in range(min(rx.cjk_longest, len(word) - i), 0, -1)
                      if word[i:i + n] in rx.cjk), None)
        if match:
            out.append(match)
            i += len(match)
        else:
            if not out or out[-1] != "<value>":
                out.append("<value>")
            i += 1
    return "".join(out)


_CJK_CHAR = re.compile(f"[{_CJK}]")
_KEPT_MARKS = "…’“”«»—–。、「」『』・：！？（）¿¡„"


def words(text: str, own: frozenset[str]) -> str:
    """Each word kept only if known and not read as a name; anything else becomes the kind of thing it was."""
    from .names import name_tokens

    tokens = _rx().token.findall(text)
    names = name_tokens(tokens, own)
    out, previous = [], ""
    rx = _rx()
    for index, (mark, word, space, other) in enumerate(tokens):
        if mark:
            out.append(_NAME.get(mark, "<value>"))
            previous = ""
        elif word:
            if index in names:
                out.append(f"<{names[index]}>")
            elif word in rx.cjk_units and previous.isdigit():
                out.append(word)  # "30 秒": the unit of a number kept
            elif _CJK_CHAR.search(word):
                cut = _cjk(word, own)
                out.append(f"<{_kind_after(previous)}>" if cut == "<value>" else cut)
            else:
                known = _known(word, own)
                out.append(word if known else "<number>" if word.isdigit() else f"<{_kind_after(previous)}>")
            previous = word.lower()
        else:
            kept = space or other.isascii() or other in _KEPT_MARKS
            out.append(" " if space else other if kept else "<value>")
    return "".join(out)
