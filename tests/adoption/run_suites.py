"""Run real CLIs' own test suites, unchanged, with the CLI adopted through this project's pytest plugin.

``python tests/adoption/run_suites.py [NAME ...]`` (tox's `adoption` env):
each suite's source distribution, pinned, is fetched from the package index
with pip, unpacked into a temporary folder and run as its project runs it,
plus ``--adopt module:attr=NAME``.  The plugin adopts the CLI in place before
the suite imports it, checks every run (pre and post match, one post per run,
no Testkube event) and fails the session on a violation.  Exits non-zero if a
suite fails or no adopted run was seen.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

# name: (distribution==version, CLI to adopt, pytest arguments, extra environment)
SUITES = {
    "sqlite-utils": ("sqlite-utils==4.2.1", "sqlite_utils.cli:cli", ["tests"], {}),
    "cookiecutter": ("cookiecutter==2.7.1", "cookiecutter.cli:main", ["-o", "addopts=", "tests"], {}),
}


def fetch(requirement: str, into: Path) -> Path:
    """The unpacked source distribution (tests included)."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:", "--no-deps",
                    "-d", str(into), requirement], check=True)
    (archive,) = into.glob("*.tar.gz")
    with tarfile.open(archive) as tar:
        if sys.version_info >= (3, 12):
            tar.extractall(into, filter="data")
        else:
            tar.extractall(into)  # noqa: S202 - a pinned sdist from the index
    (folder,) = [path for path in into.iterdir() if path.is_dir()]
    return folder


def run(name: str, scratch: Path) -> bool:
    requirement, target, arguments, extra = SUITES[name]
    started = time.monotonic()
    source = fetch(requirement, scratch / "sdist")
    home = scratch / "home"
    home.mkdir()
    env = {**os.environ, **extra, "HOME": str(home)}
    env = {key: value for key, value in env.items() if not key.startswith("XDG_") and key != "DO_NOT_TRACK"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
               "--adopt", f"{target}={name}", *arguments]
    done = subprocess.run(command, cwd=source, env=env, capture_output=True, text=True)
    lines = done.stdout.splitlines()
    summary = [line for line in lines if re.search(r"\d+ (passed|failed)", line)]
    adopted = [line for line in lines if line.startswith(("adopted ", "  problem: "))]
    print(f"== {name} ({requirement}, {time.monotonic() - started:.0f} s with the download): exit {done.returncode}")
    for line in summary[-1:] + adopted:
        print("   " + line)
    pairs = re.search(r": (\d+) pre/post pairs", adopted[0]) if adopted else None
    if done.returncode != 0 or not pairs or int(pairs.group(1)) == 0:
        print("\n".join(lines[-60:]), done.stderr[-3000:], sep="\n")
        return False
    return True


def main() -> int:
    names = sys.argv[1:] or list(SUITES)
    ok = True
    for name in names:
        with tempfile.TemporaryDirectory(prefix=f"suite-{name}-") as scratch:
            ok = run(name, Path(scratch)) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
