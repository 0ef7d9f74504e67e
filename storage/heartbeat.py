"""The daemon's heartbeat: one row saying which daemon runs, since when, and its last beat."""

from __future__ import annotations

from typing import Any

from .models import utc_now
from .part import StorePart

# daemon_heartbeat.state
DAEMON_RUNNING = "running"
DAEMON_STOPPING = "stopping"
DAEMON_STOPPED = "stopped"
DAEMON_STATES = (DAEMON_RUNNING, DAEMON_STOPPING, DAEMON_STOPPED)


class Heartbeat(StorePart):
    """`store.heartbeat`: write and read the daemon_heartbeat row."""

    def beat(self, *, pid: int, hostname: str, started_at: str, state: str,
             at: str | None = None) -> None:
        """Write the daemon's heartbeat (the one row of daemon_heartbeat)."""
        if state not in DAEMON_STATES:
            raise ValueError(f"state is {state!r}; expected one of {', '.join(DAEMON_STATES)}")
        with self._write():
            self.db.execute(
                """INSERT INTO daemon_heartbeat (id, pid, hostname, started_at, beat_at, state)
                   VALUES (1, ?, ?, ?, ?, ?)
                   ON CONFLICT (id) DO UPDATE SET pid = excluded.pid,
                       hostname = excluded.hostname, started_at = excluded.started_at,
                       beat_at = excluded.beat_at, state = excluded.state""",
                (pid, hostname, started_at, at or utc_now(), state),
            )

    def read(self) -> dict[str, Any] | None:
        """The daemon_heartbeat row (pid, hostname, started_at, beat_at, state), or None."""
        row = self._one("SELECT pid, hostname, started_at, beat_at, state FROM daemon_heartbeat "
                        "WHERE id = 1")
        return dict(row) if row else None
