"""The daemon's heartbeat (`daemon_heartbeat`), and how `nianbao status` reads it.

A plain thread of its own writes it, started before anything slow (loading and syncing a
registry of 150,000 agencies), so a busy daemon never looks dead.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from dataclasses import dataclass, field

from nianbao.monitor.schedule import from_iso, local_now, to_iso
from nianbao.monitor.shutdown import STOPPING
from nianbao.storage import Store
from nianbao.storage.heartbeat import DAEMON_RUNNING, DAEMON_STOPPED, DAEMON_STOPPING

logger = logging.getLogger("nianbao.daemon")  # one logger name for the whole daemon's log

# `nianbao status` calls a daemon dead when its last beat is older than this many heartbeat
# intervals of DEFAULT_HEARTBEAT_SECONDS (status --stale-after for another interval).
STALE_BEATS = 3
DEFAULT_HEARTBEAT_SECONDS = 30.0


@dataclass(frozen=True)
class DaemonIdentity:
    """Which daemon beats: its pid and host, and when it started."""

    pid: int = field(default_factory=os.getpid)
    hostname: str = field(default_factory=socket.gethostname)
    started_at: str = field(default_factory=lambda: to_iso(local_now()))


class Heartbeat(threading.Thread):
    """Writes daemon_heartbeat every `every` seconds ('running', or 'stopping' once STOPPING
    is set) until stop(). A plain thread: nothing the daemon does (a registry sync, a long
    crawl, a check) can hold it up. A failed write is logged and tried again next beat.

    The daemon's identity (started_at included) is fixed when the Heartbeat is made."""

    def __init__(self, db_path: str, every: float):
        super().__init__(name="nianbao-heartbeat", daemon=True)
        self.db_path, self.every = db_path, every
        self.identity = DaemonIdentity()
        self.done = threading.Event()

    def write(self, state: str) -> None:
        with Store(self.db_path) as store:
            store.heartbeat.beat(pid=self.identity.pid, hostname=self.identity.hostname,
                       started_at=self.identity.started_at, state=state)

    def beat(self) -> None:
        self.write(DAEMON_STOPPING if STOPPING.is_set() else DAEMON_RUNNING)

    def run(self) -> None:
        while not self.done.wait(self.every):
            try:
                self.beat()
            except Exception:
                logger.exception("heartbeat not written")

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=30)


def beat_age(heartbeat: dict, now: dt.datetime | None = None) -> float:
    now = now or dt.datetime.now(dt.UTC)
    return (now - from_iso(heartbeat["beat_at"])).total_seconds()


def daemon_alive(heartbeat: dict | None, stale_after: float) -> bool:
    """A daemon is running if its heartbeat is fresh and it did not say it stopped."""
    return bool(heartbeat and heartbeat["state"] != DAEMON_STOPPED
                and beat_age(heartbeat) <= stale_after)
