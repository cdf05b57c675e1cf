"""Real processes for deployment tests: each in its own process group, logged to a file, stopped by group."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def wait_until(check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.5) -> T:
    """Call `check` until it answers something truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def http_ok(url: str) -> bool:
    """Whether `url` answers a 2xx status."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 300
    except OSError:
        return False


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class ProcessGroups:
    """Processes started in their own sessions (process groups); `stop` ends every group it started."""

    log_dir: Path
    processes: dict[str, Process] = field(default_factory=dict)

    def start(
        self, name: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path | None = None
    ) -> Process:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                list(argv),
                env=dict(env),
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = Process(name, popen, log)
        self.processes[name] = process
        return process

    def check_running(self) -> bool:
        """Fail naming the process (and its last log lines) that exited on its own; True otherwise."""
        for process in self.processes.values():
            if process.popen.poll() is not None:
                raise AssertionError(
                    f"{process.name} exited with {process.popen.returncode}:\n{process.tail()}"
                )
        return True

    def kill(self, name: str) -> None:
        """SIGKILL one process group, as a crashed machine would."""
        process = self.processes.pop(name)
        _signal_group(process.popen.pid, signal.SIGKILL)
        process.popen.wait(timeout=30)
        wait_until(lambda: not _group_alive(process.popen.pid), 30, f"{name}'s processes to end")

    def stop(self, grace: float = 20) -> list[str]:
        """SIGTERM every group, SIGKILL what is left after `grace` seconds; answer the groups that needed it."""
        for process in self.processes.values():
            _signal_group(process.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        forced = []
        for process in self.processes.values():
            while _group_alive(process.popen.pid) and time.monotonic() < deadline:
                process.popen.poll()
                time.sleep(0.2)
            if _group_alive(process.popen.pid):
                forced.append(process.name)
                _signal_group(process.popen.pid, signal.SIGKILL)
            process.popen.wait(timeout=30)
        for process in self.processes.values():
            pid = process.popen.pid
            wait_until(functools.partial(_group_gone, pid), 30, f"{process.name}'s group to end")
        self.processes.clear()
        return forced


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def _group_gone(pgid: int) -> bool:
    return not _group_alive(pgid)


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group is still running (zombies of our own children do not count)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return any(_state(pid) not in ("Z", "") for pid in _members(pgid))


def _members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:
                members.append(int(entry.name))
    return members


def _state(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""
