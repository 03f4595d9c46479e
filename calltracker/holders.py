"""Who holds a lock or runs a scrape: "host:pid:random", and whether that process is gone.

A holder on this host whose process no longer exists is gone for sure (killed, crashed, OOM); one on
another host is only gone when its lease expires. A PID reused by an unrelated process keeps the holder
"alive" until its lease runs out: safe, never two live holders.
"""

from __future__ import annotations

import os
import socket
import uuid


def make_holder() -> str:
    """Who holds a lock: host, process and a random part (two schedulers in one process differ)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it is just not ours
    except OSError:
        return True
    return True


def holder_is_gone(holder: str | None) -> bool:
    """True when `holder` ran on this host and its process no longer exists."""
    if not holder:
        return False
    host, sep, rest = holder.rpartition(":")  # host:pid:random -> ("host:pid", ":", "random")
    host, sep2, pid = host.rpartition(":")
    if not sep or not sep2 or not pid.isdigit() or host != socket.gethostname():
        return False
    return not pid_alive(int(pid))
