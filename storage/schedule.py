"""The daemon's crawl schedule: when each agency is due, who is crawling it, how it went.

Times are ISO-8601 UTC strings ('2026-01-05T06:00:00Z', as `utc_now()` writes them), so they
compare as text. The crawl child writes to the same file at the same time, so a transaction
here starts with its write (or is a single statement): in WAL mode a transaction that reads
first and writes later can fail with SQLITE_BUSY when another process committed in between,
and busy_timeout does not help with that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .models import utc_now
from .part import StorePart, ids_json

# agency_schedule.last_outcome
CRAWL_OK = "ok"  # the crawl finished and no request of the agency failed
CRAWL_ERRORS = "errors"  # the crawl finished; some requests failed (see fetch_log)
CRAWL_FAILED = "failed"  # the crawl child crashed or never started a crawl
CRAWL_TIMEOUT = "timeout"  # the crawl child ran past its time limit and was stopped
CRAWL_OUTCOMES = (CRAWL_OK, CRAWL_ERRORS, CRAWL_FAILED, CRAWL_TIMEOUT)

LAST_ERROR_MAX_CHARS = 4000


@dataclass(frozen=True)
class CrawlResult:
    """What one scheduled crawl did for one agency (`Schedule.finish`).

    agency_id: the agency. outcome: one of CRAWL_OUTCOMES. finished_at: ISO-8601 UTC.
    next_crawl_at: when it is next due, ISO-8601 UTC. crawl_id: the crawls row of the crawl,
    None when none was found (the child crashed before starting one). error: a readable
    reason, None when the outcome is 'ok'.
    """

    agency_id: str
    outcome: str
    finished_at: str
    next_crawl_at: str
    crawl_id: int | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        if self.outcome not in CRAWL_OUTCOMES:
            raise ValueError(f"CrawlResult.outcome is {self.outcome!r}; expected one of "
                             f"{', '.join(CRAWL_OUTCOMES)}")


class Schedule(StorePart):
    """`store.schedule`: the agency_schedule table."""

    def agency_ids(self) -> set[str]:
        """Ids of the agencies that have an agency_schedule row."""
        return {row["agency_id"] for row in self._all("SELECT agency_id FROM agency_schedule")}

    def add(self, first_due: Mapping[str, str]) -> int:
        """Give agencies that have no schedule row their first due time; return rows added.

        first_due: agency id -> ISO-8601 UTC time of its first crawl. The agencies must be in
        the agencies table (store.agencies.sync first). Agencies already scheduled are left alone.
        """
        with self._write():
            added = 0
            for agency_id, due in first_due.items():
                added += self.db.execute(
                    "INSERT OR IGNORE INTO agency_schedule (agency_id, next_crawl_at) "
                    "VALUES (?, ?)", (agency_id, due),
                ).rowcount
            return added

    def drop(self, agency_ids: Iterable[str]) -> int:
        """Delete the schedule rows of agencies that left the registry (not while they run);
        return the rows deleted."""
        ids = list(agency_ids)
        if not ids:
            return 0
        with self._write():
            return self.db.execute(
                "DELETE FROM agency_schedule WHERE running_since IS NULL "
                "AND agency_id IN (SELECT value FROM json_each(?))", (ids_json(ids),),
            ).rowcount

    def claim_due(self, *, due_by: str, limit: int, pid: int, at: str | None = None) -> list[str]:
        """Claim up to `limit` agencies due by `due_by` that no crawl is running for.

        One UPDATE statement: two daemons (or a daemon and a `nianbao crawl` started by hand
        through this method) cannot claim the same agency. The most overdue come first.
        due_by: ISO-8601 UTC; agencies with next_crawl_at <= due_by are due. limit: the batch
        size. pid: the process that holds the claim (the daemon; `set_running_pid` moves it
        to the crawl child once it is started). at: the claim time, now if None.
        Returns the claimed agency ids, most overdue first.
        """
        at = at or utc_now()
        with self._write():
            rows = self._all(
                """UPDATE agency_schedule SET running_since = :at, running_pid = :pid
                   WHERE agency_id IN (
                       SELECT agency_id FROM agency_schedule
                       WHERE next_crawl_at <= :due_by AND running_since IS NULL
                       ORDER BY next_crawl_at, agency_id LIMIT :limit)
                   RETURNING agency_id, next_crawl_at""",
                {"at": at, "pid": pid, "due_by": due_by, "limit": limit},
            )
        return [row["agency_id"] for row in sorted(rows, key=lambda r: (r[1], r[0]))]

    def set_running_pid(self, agency_ids: Sequence[str], pid: int) -> None:
        """Record the pid of the crawl child that now runs the claimed agencies."""
        with self._write():
            self.db.execute(
                "UPDATE agency_schedule SET running_pid = ? WHERE running_since IS NOT NULL "
                "AND agency_id IN (SELECT value FROM json_each(?))", (pid, ids_json(agency_ids)),
            )

    def finish(self, results: Iterable[CrawlResult]) -> None:
        """Record the outcome of a batch's crawl for each agency and release its claim.

        last_crawl_at/_id, last_outcome, last_error and next_crawl_at are set;
        failures_in_a_row is reset by an 'ok' and grows by one otherwise.
        """
        with self._write():
            for result in results:
                error = result.error[-LAST_ERROR_MAX_CHARS:] if result.error else None
                self.db.execute(
                    """UPDATE agency_schedule SET
                           last_crawl_at = :finished_at,
                           last_crawl_id = coalesce(:crawl_id, last_crawl_id),
                           last_outcome = :outcome,
                           last_error = :error,
                           next_crawl_at = :next_crawl_at,
                           failures_in_a_row = CASE WHEN :outcome = 'ok' THEN 0
                                                    ELSE failures_in_a_row + 1 END,
                           running_since = NULL,
                           running_pid = NULL
                       WHERE agency_id = :agency_id""",
                    {"finished_at": result.finished_at, "crawl_id": result.crawl_id,
                     "outcome": result.outcome, "error": error,
                     "next_crawl_at": result.next_crawl_at, "agency_id": result.agency_id},
                )

    def release_claims(self, agency_ids: Sequence[str] | None = None) -> int:
        """Clear running_since/running_pid (of the given agencies, or of all); the agencies
        keep their next_crawl_at, so an interrupted crawl is due again at once. Returns the
        rows released."""
        with self._write():
            if agency_ids is None:
                return self.db.execute(
                    "UPDATE agency_schedule SET running_since = NULL, running_pid = NULL "
                    "WHERE running_since IS NOT NULL").rowcount
            return self.db.execute(
                "UPDATE agency_schedule SET running_since = NULL, running_pid = NULL "
                "WHERE running_since IS NOT NULL AND agency_id IN (SELECT value FROM json_each(?))",
                (ids_json(agency_ids),),
            ).rowcount

    def claims(self) -> list[dict[str, Any]]:
        """Agencies with a crawl running (or a claim left by a daemon that died):
        agency_id, running_since, running_pid."""
        return [dict(row) for row in self._all(
            "SELECT agency_id, running_since, running_pid FROM agency_schedule "
            "WHERE running_since IS NOT NULL ORDER BY agency_id")]

    def rows(self, agency_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """agency_schedule rows with the agency's name, running first, then by next crawl."""
        where, params = "", ()
        if agency_ids is not None:
            where, params = "WHERE s.agency_id IN (SELECT value FROM json_each(?))", (
                ids_json(agency_ids),)
        return [dict(row) for row in self._all(
            f"""SELECT s.*, a.name FROM agency_schedule s LEFT JOIN agencies a ON a.id = s.agency_id
                {where}
                ORDER BY s.running_since IS NULL, s.next_crawl_at, s.agency_id""", params)]
