"""Names made of dictionary words: where an error word is a person or an account.

"Will", "Max", "May", "Long", "Short", "Key" are error words and names alike.
They stay where they can only be words ("will be retried", "too long", "max
retries") and go where they read as a name: capitalised next to another name,
an unknown capitalised word or an initial ("Will Short", "Max, Long"), after a
word that introduces a person or account ("user max", "by Will", "Welcome,
Will"), or in ALL CAPS with a given name ("WILL SHORT").  Compounds that could
be a user id ("will.short", "max_long") are judged by allowlist._known.  A
typed value is removed in its recognisable parts too (typed_pieces).
"""

from __future__ import annotations

import re

from .allowlist import MARK, _known, _parts, _rx


def _title(word: str) -> bool:
    return word[:1].isupper() and word[1:].islower() and word.isalpha()


def name_tokens(tokens: list[tuple[str, str, str, str]], own: frozenset[str]) -> dict[int, str]:
    """Word tokens that read as a person's name or account, with the placeholder kind for each.

    - a name-like word right after a word that introduces a person or account
      ("user will", "by Max", "Welcome, Will"): user keys take any case, the
      others a capitalised word;
    - capitalised neighbours of which one is an error word that is also a name
      and the other a name too, an unknown word or an initial ("Will Short",
      "Max, Long", "May F."), or the same in capitals with a given name or an
      unknown word ("WILL SHORT", "JUNE SHORT"; not "NULL POINTER");
    - a capitalised name-word next to a name part already removed ("<arg> Short").
    """
    rx = _rx()
    removed = {MARK["user"], MARK["arg"], MARK["value"]}  # a name part already replaced ("<arg>, Will")
    words = [(i, t[1] or t[0]) for i, t in enumerate(tokens) if t[1] or t[0] in removed]
    found: dict[int, str] = {}

    def between(a: int, b: int) -> str:
        return "".join(tokens[k][2] or tokens[k][3] or ("\0" if tokens[k][0] else "") for k in range(a + 1, b))

    def namely(word: str) -> bool:
        lower = word.lower()
        return lower in rx.names_too or (len(word) == 1 and word.isupper()) or not _known(word, own)

    for (i, a), (j, b) in zip(words, words[1:]):
        if not ({a.lower(), b.lower()} & rx.names_too or a in removed or b in removed):
            continue  # most pairs: no name-word in them, nothing to decide
        gap = between(i, j)
        if re.fullmatch(r"[ \t]+|,[ \t]*|[ \t]*\.[ \t]+", gap) is None:
            continue
        if gap.strip() == "." and not (len(a) == 1 and a.isupper()):
            continue  # "May F. Short": an initial's dot only
        if a in removed or b in removed:
            k, word = (j, b) if a in removed else (i, a)
            if word not in removed and word.lower() in rx.names_too and (_title(word) or word.isupper()):
                found[k] = "value"
            continue
        title = (_title(a) or len(a) == 1) and (_title(b) or len(b) == 1) and (_title(a) or _title(b))
        caps = a.isupper() and b.isupper() and a.isalpha() and b.isalpha() and min(len(a), len(b)) > 1
        named = (a.lower() in rx.names_too or b.lower() in rx.names_too)
        if title and named and namely(a) and namely(b):
            found[i] = found[j] = "value"
        elif caps and named and namely(a) and namely(b) and (
                {a.lower(), b.lower()} & rx.first_names_too or not (_known(a, own) and _known(b, own))):
            found[i] = found[j] = "value"  # WILL SHORT, JUNE SHORT; not NULL POINTER
    for (i, a), (j, b) in zip(words, words[1:]):
        introducer = a.lower()
        if introducer not in rx.introducers or re.fullmatch(r"[\s:=\"'«“„(]*", between(i, j)) is None:
            continue
        lower = b.lower()
        person = lower in rx.names_too or (re.search(r"[._\-]", b) is not None and lower not in rx.vocab
                                          and any(p in rx.names_too for p in _parts(b)))
        if person and (introducer in rx.user_keys or _title(b) or b.isupper()):
            found[j] = "user" if introducer in rx.user_keys else "value"
    return found


def typed_pieces(value: str) -> list[tuple[str, bool]]:
    """The recognisable parts of a typed value that a server may echo apart from it, (text, exact case).

    A typed "Will Short onboarding" comes back as "(user Will Short)": each run
    of two or more of its words goes, and each single word (or part of a
    dotted, dashed or underscored word) that is not error vocabulary.  A part
    that is an error word and also a name ("Will", "Short") goes only as typed,
    capitalised: "will be retried" keeps its "will".
    """
    rx = _rx()
    words = [w.strip(".,;:!?()[]{}\"'") for w in value.split()[:12]]
    words = [w for w in words if w]
    found: list[tuple[str, bool]] = []
    for size in range(2, len(words)):
        found += [(" ".join(words[i:i + size]), False) for i in range(len(words) - size + 1)]
    for part in {p for w in words for p in re.split(r"[._\-/:@]+", w) if len(p) >= 2}:
        lower = part.lower()
        if lower in rx.names_too:
            if part[:1].isupper():
                found.append((part, True))
        elif lower not in rx.vocab and any(ch.isalpha() for ch in part):
            found.append((part, False))
    return found
