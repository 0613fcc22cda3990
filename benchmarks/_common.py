"""Shared helpers: run a command many times, alternating, and take medians."""

from __future__ import annotations

import atexit
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

# Commands run in a folder nobody else writes to: `python -m` puts the working
# directory on sys.path, and a busy one (/tmp) would defeat the entry-point cache.
QUIET_DIR = tempfile.mkdtemp(prefix="testkube-bench-")


def timed(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, env=env, cwd=QUIET_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return (time.perf_counter() - started) * 1000


def compare(cases: dict[str, tuple[list[str], dict[str, str]]], runs: int) -> dict[str, float]:
    """Median wall time (ms) of each case, runs interleaved so drift hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for args, env in cases.values():
        timed(args, env)  # warm caches (bytecode, entry points, page cache)
    for _ in range(runs):
        for name, (args, env) in cases.items():
            samples[name].append(timed(args, env))
    return {name: statistics.median(values) for name, values in samples.items()}


def scratch_home() -> str:
    """A TESTKUBE_HOME under the quiet folder; a lingering flusher may still
    write there when the benchmark ends, so it is removed with the folder at exit."""
    return tempfile.mkdtemp(dir=QUIET_DIR)


atexit.register(shutil.rmtree, QUIET_DIR, True)


def base_env(home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESTKUBE_") and k != "DO_NOT_TRACK"}
    env["TESTKUBE_HOME"] = home
    return env


PYTHON = sys.executable
