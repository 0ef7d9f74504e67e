"""One daemon per database: an exclusive flock on `<db>.lock`, held for the daemon's life.

The kernel releases a flock when its process ends, however it ends (even SIGKILL), so a lock
is never left behind by a daemon that died; the file itself may stay, which is harmless.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class DaemonError(Exception):
    """The daemon cannot start (e.g. another one is running); the message is for people."""


def lock_path(db_path: str | os.PathLike) -> Path:
    """The file whose flock says a daemon runs on the database: `<db>.lock`."""
    return Path(f"{db_path}.lock")


def acquire_daemon_lock(db_path: str | os.PathLike) -> int:
    """Take the exclusive flock on `<db>.lock` (without waiting) and write our pid into it;
    return its file descriptor, to keep open for the daemon's life (the kernel releases the
    lock when the process ends, however it ends). Raises DaemonError when another process
    holds it. The descriptor is not inherited by crawl children (close-on-exec)."""
    path = lock_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        try:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "?"
        finally:
            os.close(fd)
        raise DaemonError(f"another daemon is running on {db_path} (pid {holder}, holds "
                          f"{path}); stop it first") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    return fd


def release_daemon_lock(fd: int) -> None:
    try:
        os.ftruncate(fd, 0)
    except OSError:
        pass
    os.close(fd)  # closing the last descriptor releases the flock
