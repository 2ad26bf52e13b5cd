"""Who a process is (host, PID, start time) and whether the one behind a record is still alive."""

from __future__ import annotations

import os
import socket
import unicodedata
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class Holder:
    """A process as recorded with a crawl run or a lock."""

    host: str
    pid: int
    #: ``boot id:start ticks`` (Linux), so a PID reused after the holder died is told apart.
    start: str | None

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}"


def process_start(pid: int, proc: Path = PROC) -> str | None:
    """When process ``pid`` started, as ``boot id:clock ticks since boot``; None where /proc cannot say."""
    try:
        stat = (proc / str(pid) / "stat").read_text()
        boot = (proc / "sys" / "kernel" / "random" / "boot_id").read_text().strip()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count from the last ")".
    fields = stat.rsplit(")", 1)[-1].split()
    if len(fields) < 20 or fields[0] == "Z":  # a zombie has exited; only its exit status is left
        return None
    return f"{boot}:{fields[19]}"  # field 22, starttime


def current() -> Holder:
    """This process."""
    pid = os.getpid()
    return Holder(socket.gethostname(), pid, process_start(pid))


def is_gone(host: str | None, pid: int | None, start: str | None, proc: Path = PROC) -> bool:
    """True only when the process is certainly gone: recorded on this host, and its PID is free,
    a zombie, or now a process started at another moment (the PID was reused).
    A record from another host, or without a PID, is never declared gone."""
    if host != socket.gethostname() or pid is None or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, another user's
    now = process_start(pid, proc)
    if now is None:
        return (proc / str(pid)).exists()  # a zombie (exited) when /proc still lists it
    return start is not None and now != start


def printable(text: str, limit: int = 200) -> str:
    """``text`` safe for a terminal: control and format characters shown as ``\\xNN`` escapes."""
    out = []
    for char in text[:limit]:
        if unicodedata.category(char)[0] in "CZ" and char != " ":
            out.append(f"\\x{ord(char):02x}" if ord(char) < 256 else f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out) + ("…" if len(text) > limit else "")
