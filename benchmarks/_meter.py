"""A meter: a process that runs commands and counts everything they cost, left-behind processes included.

It makes itself a child subreaper (`prctl(PR_SET_CHILD_SUBREAPER)`), so a
process a command leaves behind (detached with `setsid`, double-forked, any
way at all) is re-parented to it when the command exits, and its CPU comes
back with `wait4` when it ends.  `_common.Meter` starts one per case and
talks to it in JSON lines on stdin/stdout; it imports nothing of the project
and has no side effects, so its own start costs nothing that is measured
(nobody reaps its CPU: only what it reaps counts).

Requests (one JSON object a line), each answered with one line:
  {"op": "run", "args", "env", "cwd", "capture"}   run one command and wait for it (not for what it leaves)
  {"op": "run_many", "args", "env", "cwd", "count", "parallel"}   the same command `count` times
  {"op": "alive"}                                  how many left-behind processes are running now
  {"op": "finish", "timeout"}                      wait until every one has exited; totals since the last finish
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, Optional

PR_SET_CHILD_SUBREAPER = 36
OPS = ("run", "run_many", "alive", "finish")


def _cpu_ms(usage: Any) -> float:
    return (usage.ru_utime + usage.ru_stime) * 1000


class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout


class Meter:
    def __init__(self) -> None:
        self.running: dict[int, tuple[float, Any]] = {}  # command pid -> (started, stderr file)
        self.done: dict[int, dict[str, Any]] = {}  # finished commands not yet answered for
        self._reset()

    def _reset(self) -> None:
        self.commands = 0
        self.commands_cpu = 0.0
        self.left_cpu = 0.0
        self.left_processes = 0
        self.last_exit: Optional[float] = None

    def _reaped(self, pid: int, status: int, usage: Any) -> None:
        cpu = _cpu_ms(usage)
        if pid in self.running:
            started, stderr = self.running.pop(pid)
            ended = time.perf_counter()
            stderr.seek(0)
            text = stderr.read()[-2000:].decode("utf-8", "replace")
            stderr.close()
            self.commands += 1
            self.commands_cpu += cpu
            self.done[pid] = {"exit": os.waitstatus_to_exitcode(status), "wall_ms": (ended - started) * 1000,
                              "cpu_ms": cpu, "ended_at": time.time(), "stderr": text}
        else:  # a process a command left behind, re-parented to us
            self.left_processes += 1
            self.left_cpu += cpu
            self.last_exit = time.time()

    def _start(self, request: dict[str, Any], stdout: Any = subprocess.DEVNULL) -> int:
        stderr = tempfile.TemporaryFile()
        started = time.perf_counter()
        process = subprocess.Popen(request["args"], env=request["env"], cwd=request.get("cwd"),
                                   stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)
        process.returncode = 0  # reaped here with wait4, never by the Popen object
        self.running[process.pid] = (started, stderr)
        return process.pid

    def _wait_for(self, pids: set[int]) -> list[dict[str, Any]]:
        """Reap (everything) until each of `pids` has exited; their results in the order they ended."""
        results = []
        while True:
            for pid in [p for p in pids if p in self.done]:
                pids.discard(pid)
                results.append(self.done.pop(pid))
            if not pids:
                return results
            self._reaped(*os.wait4(-1, 0))

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        capture = tempfile.TemporaryFile() if request.get("capture") else None
        pid = self._start(request, capture if capture is not None else subprocess.DEVNULL)
        result = self._wait_for({pid})[0]
        if capture is not None:
            capture.seek(0)
            result["stdout"] = capture.read()[-65536:].decode("utf-8", "replace")
            capture.close()
        return result

    def run_many(self, request: dict[str, Any]) -> dict[str, Any]:
        exits: dict[str, int] = {}
        stderr = ""
        left, active = int(request["count"]), set()
        while left or active:
            while left and len(active) < int(request.get("parallel", 1)):
                active.add(self._start(request))
                left -= 1
            pid, status, usage = os.wait4(-1, 0)
            self._reaped(pid, status, usage)
            if pid in active:
                active.discard(pid)
                result = self.done.pop(pid)
                exits[str(result["exit"])] = exits.get(str(result["exit"]), 0) + 1
                stderr = result["stderr"]
        return {"exits": exits, "stderr": stderr}

    def _reap_exited(self) -> None:
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self._reaped(pid, status, usage)

    @staticmethod
    def _children() -> list[int]:
        """Our children now (on Linux, from /proc: each process's parent)."""
        me, found = os.getpid(), []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as handle:
                    stat = handle.read()
            except OSError:
                continue
            fields = stat[stat.rfind(b")") + 2:].split()
            if len(fields) > 1 and int(fields[1]) == me:
                found.append(int(name))
        return found

    def alive(self, request: dict[str, Any]) -> dict[str, Any]:
        self._reap_exited()
        return {"alive": len(self._children())}

    def finish(self, request: dict[str, Any]) -> dict[str, Any]:
        timed_out = False
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, float(request.get("timeout", 120)))
        try:
            while True:
                try:
                    self._reaped(*os.wait4(-1, 0))
                except ChildProcessError:
                    break
        except _Timeout:
            timed_out = True
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if timed_out:  # still running past the deadline: ours (re-parented to us), ended by pid
            for pid in self._children():
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            while True:
                try:
                    self._reaped(*os.wait4(-1, 0))
                except ChildProcessError:
                    break
        totals = {"commands": self.commands, "commands_cpu_ms": self.commands_cpu, "left_cpu_ms": self.left_cpu,
                  "left_processes": self.left_processes, "last_exit_at": self.last_exit, "timed_out": timed_out}
        self._reset()
        return totals


def main() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print(json.dumps({"error": f"prctl(PR_SET_CHILD_SUBREAPER) failed: errno {ctypes.get_errno()}"}),
              flush=True)
        return
    meter = Meter()
    print(json.dumps({"ready": os.getpid()}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if request.get("op") not in OPS:
                raise ValueError(f"unknown op {request.get('op')!r}")
            answer = getattr(meter, request["op"])(request)
        except Exception as exc:  # said to the benchmark, which stops with it
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(answer), flush=True)
    meter.finish({"timeout": 60})  # the benchmark went away: leave nothing running


if __name__ == "__main__":
    main()
