"""Removal of personal data from free text, before anything is spooled.

Error messages are the one free-text value that leaves the machine, and they
echo whatever the user typed: paths, URLs with tokens, e-mail addresses.  Each
pattern below replaces a kind of value with a placeholder naming the kind, so
the message stays useful ("No such file: <path>") and tells nothing about whom.
"""

from __future__ import annotations

import getpass
import os
import re
import socket
from typing import Iterable, Optional

MAX_MESSAGE_CHARS = 200

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (placeholder, re.compile(pattern, flags))
    for placeholder, pattern, flags in (
        ("<private-key>", r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
        ("<jwt>", r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*", 0),
        ("<token>", r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}", 0),
        ("<token>", r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b", 0),
        ("<token>", r"\bxox[abposr]-[A-Za-z0-9-]{10,}", 0),
        ("<token>", r"(?i)\b(?:bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}", 0),
        ("<url>", r"(?i)\b[a-z][a-z0-9+.-]*://\S+", 0),
        ("<email>", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", 0),
        ("<ip>", r"(?i)\b(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}\b", 0),
        ("<ip>", r"\b(?:\d{1,3}\.){3}\d{1,3}\b", 0),
        ("<path>", r"(?i)(?:\b[a-z]:)?\\\\?[^\s\\\"'<>|]+(?:\\[^\s\\\"'<>|]*)+", 0),
        ("<path>", r"(?:~|\.{1,2})?/[^\s\"'<>]*", 0),
        ("<path>", r"\b[\w.-]+/[\w./-]+", 0),
        ("<path>", r"\b[\w-]+\.(?:ya?ml|json|toml|txt|js|ts|py|sh|env|ini|cfg|conf|xml|csv|log|key|pem)\b", re.I),
        ("<secret>", r"\b[A-Fa-f0-9]{24,}\b", 0),
        ("<secret>", r"\b[A-Za-z0-9+/_-]{24,}={0,2}", 0),
    )
)


def local_names() -> list[str]:
    """This machine's user and host names, which must never leave it."""
    names = []
    for get in (getpass.getuser, socket.gethostname):
        try:
            names.append(get())
        except Exception:  # getuser raises when no user name can be found
            continue
    home = os.path.expanduser("~")
    names.append(home)
    names.extend(
        os.environ.get(var, "") for var in ("USER", "USERNAME", "LOGNAME", "HOSTNAME")
    )
    # Replaced as whole words only, so a host called "vm" leaves "vmware" alone.
    return sorted({name for name in names if len(name) >= 2}, key=len, reverse=True)


def usage_error_message(exc: object, typed: object = (), own_words: object = ()) -> str:
    """Placeholder until the allow-list scrubber lands."""
    return "usage error"


def scrub(text: Optional[str], typed: Iterable[str] = (), own_words: object = (),
          limit: int = MAX_MESSAGE_CHARS) -> str:
    """`text` with personal values replaced by placeholders, at most `limit` chars."""
    if not text:
        return ""
    for value in sorted(typed, key=len, reverse=True):
        text = text.replace(value, "<arg>")
    # Bound the work first: a 1 MB message must not cost a second of regex time.
    if len(text) > limit * 20:
        # Cut at a space, so no secret is left half-cut (and so unrecognisable).
        text = text[: limit * 20].rsplit(None, 1)[0] if " " in text[: limit * 20] else ""
    for name in local_names():
        if os.sep in name or "/" in name:
            text = re.sub(re.escape(name), "<path>", text, flags=re.I)
        else:
            text = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", "<user>", text, flags=re.I)
    for placeholder, pattern in _PATTERNS:
        text = pattern.sub(placeholder, text)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text
