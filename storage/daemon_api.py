"""Store methods for the daemon: crawl schedule, deliveries, heartbeat (mixed into Store).

Times are ISO-8601 UTC strings ('2026-01-05T06:00:00Z', as `utc_now()` writes them), so they
compare as text. Every write is one transaction. The crawl child writes to the same file at
the same time, so a transaction here starts with its write (or is a single statement): in WAL
mode a transaction that reads first and writes later can fail with SQLITE_BUSY when another
process committed in between, and busy_timeout does not help with that.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .models import utc_iso, utc_now

# agency_schedule.last_outcome
CRAWL_OK = "ok"  # the crawl finished and no request of the agency failed
CRAWL_ERRORS = "errors"  # the crawl finished; some requests failed (see fetch_log)
CRAWL_FAILED = "failed"  # the crawl child crashed or never started a crawl
CRAWL_TIMEOUT = "timeout"  # the crawl child ran past its time limit and was stopped
CRAWL_OUTCOMES = (CRAWL_OK, CRAWL_ERRORS, CRAWL_FAILED, CRAWL_TIMEOUT)

# deliveries.status
DELIVERY_SENDING = "sending"  # claimed by a sender (claimed_by, claimed_at) that is sending now
DELIVERED = "delivered"
DELIVERY_FAILED = "failed"
# A 'sending' claim older than this is left by a sender that died (or hung) between its
# send and its record: another sender takes it over, and the finding is sent again.
CLAIM_STALE_SECONDS = 600.0

# daemon_heartbeat.state
DAEMON_RUNNING = "running"
DAEMON_STOPPING = "stopping"
DAEMON_STOPPED = "stopped"
DAEMON_STATES = (DAEMON_RUNNING, DAEMON_STOPPING, DAEMON_STOPPED)

LAST_ERROR_MAX_CHARS = 4000


@dataclass(frozen=True)
class CrawlResult:
    """What one scheduled crawl did for one agency (`DaemonMixin.finish_scheduled`).

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


def _ids_json(ids: Iterable[str]) -> str:
    return json.dumps(list(ids), ensure_ascii=False)


def pid_alive(pid: int) -> bool:
    """Is there a process with this id on this host? (The store is a local file: the senders
    that share it run on this host.)"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def _seconds_before(iso: str, seconds: float) -> str:
    moment = dt.datetime.fromisoformat(iso.replace("Z", "+00:00")) - dt.timedelta(seconds=seconds)
    return utc_iso(moment)


class DaemonMixin:
    """The daemon's reads and writes; see the Store class for the shared connection."""

    # -- the crawl schedule ------------------------------------------------------------------

    def scheduled_agency_ids(self) -> set[str]:
        """Ids of the agencies that have an agency_schedule row."""
        return {row["agency_id"] for row in self._all("SELECT agency_id FROM agency_schedule")}

    def add_to_schedule(self, first_due: Mapping[str, str]) -> int:
        """Give agencies that have no schedule row their first due time; return rows added.

        first_due: agency id -> ISO-8601 UTC time of its first crawl. The agencies must be in
        the agencies table (sync_agencies first). Agencies already scheduled are left alone.
        """
        with self._write():
            added = 0
            for agency_id, due in first_due.items():
                added += self.db.execute(
                    "INSERT OR IGNORE INTO agency_schedule (agency_id, next_crawl_at) "
                    "VALUES (?, ?)", (agency_id, due),
                ).rowcount
            return added

    def drop_from_schedule(self, agency_ids: Iterable[str]) -> int:
        """Delete the schedule rows of agencies that left the registry (not while they run);
        return the rows deleted."""
        ids = list(agency_ids)
        if not ids:
            return 0
        with self._write():
            return self.db.execute(
                "DELETE FROM agency_schedule WHERE running_since IS NULL "
                "AND agency_id IN (SELECT value FROM json_each(?))", (_ids_json(ids),),
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
                "AND agency_id IN (SELECT value FROM json_each(?))", (pid, _ids_json(agency_ids)),
            )

    def finish_scheduled(self, results: Iterable[CrawlResult]) -> None:
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
                (_ids_json(agency_ids),),
            ).rowcount

    def claims(self) -> list[dict[str, Any]]:
        """Agencies with a crawl running (or a claim left by a daemon that died):
        agency_id, running_since, running_pid."""
        return [dict(row) for row in self._all(
            "SELECT agency_id, running_since, running_pid FROM agency_schedule "
            "WHERE running_since IS NOT NULL ORDER BY agency_id")]

    def schedule_rows(self, agency_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """agency_schedule rows with the agency's name, running first, then by next crawl."""
        where, params = "", ()
        if agency_ids is not None:
            where, params = "WHERE s.agency_id IN (SELECT value FROM json_each(?))", (
                _ids_json(agency_ids),)
        return [dict(row) for row in self._all(
            f"""SELECT s.*, a.name FROM agency_schedule s LEFT JOIN agencies a ON a.id = s.agency_id
                {where}
                ORDER BY s.running_since IS NULL, s.next_crawl_at, s.agency_id""", params)]

    def find_crawl(self, agency_ids: Sequence[str], *, started_since: str) -> dict[str, Any] | None:
        """The newest crawls row for exactly these agencies that started at or after
        `started_since` (ISO-8601 UTC): the crawl a child started for a batch. None if none.
        Keys: id, started_at, finished_at, finish_reason, agency_ids, stats (JSON text)."""
        wanted = set(agency_ids)
        for row in self._all(
            "SELECT id, started_at, finished_at, finish_reason, agency_ids, stats FROM crawls "
            "WHERE started_at >= ? ORDER BY id DESC", (started_since,),
        ):
            if set(json.loads(row["agency_ids"] or "[]")) == wanted:
                return dict(row)
        return None

    def crawl_errors(self, crawl_id: int) -> dict[str, tuple[int, str]]:
        """Per agency of a crawl: (number of failed requests, the first failure as text).

        Requests the crawler chose not to make (IgnoreRequest: robots.txt, off-site) and
        pages whose text could not be extracted (purpose 'extract') are not failures of the
        site and are not counted.
        """
        errors: dict[str, tuple[int, str]] = {}
        for row in self._all(
            "SELECT agency_id, url, status, error FROM fetch_log WHERE crawl_id = ? "
            "AND agency_id IS NOT NULL AND (error IS NOT NULL OR status >= 400) "
            "AND coalesce(error, '') NOT LIKE 'IgnoreRequest%' "
            "AND coalesce(purpose, '') != 'extract' ORDER BY id",
            (crawl_id,),
        ):
            count, first = errors.get(row["agency_id"], (0, ""))
            if not first:
                first = f"{row['url']}: {row['error'] or 'HTTP ' + str(row['status'])}"
            errors[row["agency_id"]] = (count + 1, first)
        return errors

    # -- deliveries ----------------------------------------------------------------------------

    def pending_deliveries(
        self, target_key: str, agency_ids: Sequence[str] | None = None, *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Findings not yet delivered to a target, oldest first, with the agency's name.

        target_key: sha256 of the target URL. agency_ids: the agencies whose findings go to
        this target; None for a global target (every finding). limit: at most this many.
        Each dict has the findings columns, `details` decoded, plus agency_name, attempts
        and last_error (of earlier failed tries, 0/None when never tried). Findings another
        sender is sending right now ('sending') are included: `claim_deliveries` decides.
        """
        where = ""
        params: dict[str, Any] = {"key": target_key, "limit": -1 if limit is None else limit}
        if agency_ids is not None:
            where = "AND f.agency_id IN (SELECT value FROM json_each(:agencies))"
            params["agencies"] = _ids_json(agency_ids)
        rows = self._all(
            f"""SELECT f.*, a.name AS agency_name, coalesce(d.attempts, 0) AS attempts,
                       d.error AS last_error
                FROM findings f
                LEFT JOIN agencies a ON a.id = f.agency_id
                LEFT JOIN deliveries d ON d.finding_id = f.id AND d.target_key = :key
                WHERE (d.status IS NULL OR d.status != 'delivered') {where}
                ORDER BY f.id LIMIT :limit""",
            params,
        )
        return [{**dict(row), "details": json.loads(row["details"] or "{}")} for row in rows]

    def claim_deliveries(
        self,
        finding_ids: Sequence[int],
        *,
        target_key: str,
        target: str,
        pid: int,
        at: str | None = None,
        stale_after: float = CLAIM_STALE_SECONDS,
        alive=pid_alive,
    ) -> list[int]:
        """Claim these findings for one message to one target, before sending it.

        One write transaction (BEGIN IMMEDIATE: claims by other processes wait for it): a
        finding is claimed (status 'sending', claimed_by = pid, claimed_at = at) unless it
        was delivered to the target already or another sender holds a fresh claim on it. A
        claim is taken over when it is older than `stale_after` seconds, or when its process
        is gone (`alive(pid)` is false; never for our own pid: threads of one process share
        it). Returns the ids claimed, in the order given; send only those, then
        `record_delivery` with the same pid.
        target_key: sha256 of the URL; target: a label without secrets.
        """
        at = at or utc_now()
        stale_before = _seconds_before(at, stale_after)
        ids = list(dict.fromkeys(finding_ids))
        claimed: list[int] = []
        with self._write():
            existing = {
                row["finding_id"]: row for row in self._all(
                    "SELECT finding_id, status, claimed_by, claimed_at FROM deliveries "
                    "WHERE target_key = ? AND finding_id IN (SELECT value FROM json_each(?))",
                    (target_key, json.dumps(ids)))
            }
            for finding_id in ids:
                row = existing.get(finding_id)
                if row is not None and row["status"] == DELIVERED:
                    continue
                if row is not None and row["status"] == DELIVERY_SENDING and not (
                    (row["claimed_at"] or "") < stale_before
                    or (row["claimed_by"] is not None and row["claimed_by"] != pid
                        and not alive(row["claimed_by"]))
                ):
                    continue
                self.db.execute(
                    """INSERT INTO deliveries (finding_id, target_key, target, status,
                                               claimed_by, claimed_at, attempts,
                                               first_attempt_at, last_attempt_at)
                       VALUES (:finding, :key, :target, 'sending', :pid, :at, 0, :at, :at)
                       ON CONFLICT (finding_id, target_key) DO UPDATE SET
                           target = excluded.target, status = 'sending',
                           claimed_by = excluded.claimed_by, claimed_at = excluded.claimed_at
                       WHERE deliveries.status != 'delivered'""",
                    {"finding": finding_id, "key": target_key, "target": target, "pid": pid,
                     "at": at},
                )
                claimed.append(finding_id)
        return claimed

    def record_delivery(
        self,
        finding_ids: Sequence[int],
        *,
        target_key: str,
        target: str,
        delivered: bool,
        error: str | None = None,
        at: str | None = None,
        pid: int | None = None,
    ) -> None:
        """Record one delivery attempt of these findings (one message) to one target.

        target_key: sha256 of the URL; target: a label without secrets. delivered: the
        outcome; error: why it failed (without secrets). attempts grows by one; a delivered
        row stays delivered; the claim is cleared. pid: the sender that claimed the findings
        (`claim_deliveries`): a failure does not overwrite a claim another sender took over
        in the meantime (a success is always recorded).
        """
        at = at or utc_now()
        status = DELIVERED if delivered else DELIVERY_FAILED
        with self._write():
            for finding_id in finding_ids:
                self.db.execute(
                    """INSERT INTO deliveries (finding_id, target_key, target, status, attempts,
                                               first_attempt_at, last_attempt_at, delivered_at,
                                               error)
                       VALUES (:finding, :key, :target, :status, 1, :at, :at, :delivered_at,
                               :error)
                       ON CONFLICT (finding_id, target_key) DO UPDATE SET
                           target = excluded.target,
                           status = excluded.status,
                           attempts = deliveries.attempts + 1,
                           last_attempt_at = excluded.last_attempt_at,
                           delivered_at = excluded.delivered_at,
                           error = excluded.error,
                           claimed_by = NULL,
                           claimed_at = NULL
                       WHERE deliveries.status != 'delivered'
                         AND (:delivered OR :pid IS NULL OR deliveries.status != 'sending'
                              OR deliveries.claimed_by = :pid)""",
                    {"finding": finding_id, "key": target_key, "target": target,
                     "status": status, "at": at, "delivered_at": at if delivered else None,
                     "error": None if delivered else (error or "delivery failed"),
                     "delivered": int(delivered), "pid": pid},
                )

    def undelivered_findings(
        self, targets: Sequence[tuple[str, Sequence[str] | None]], *, latest: int = 5
    ) -> tuple[int, list[dict[str, Any]]]:
        """Findings that at least one of their targets has not received yet.

        targets: (target_key, agency ids or None for every agency) per configured target.
        Returns the count and the `latest` newest such findings (with agency_name and
        `targets_pending`, the number of their targets still waiting).
        """
        if not targets:
            return 0, []
        spec = json.dumps([{"key": key, "agencies": None if ids is None else list(ids)}
                           for key, ids in targets], ensure_ascii=False)
        pending = """
            WITH t AS (
                SELECT json_extract(value, '$.key') AS key,
                       json_extract(value, '$.agencies') AS agencies
                FROM json_each(:spec)
            )
            SELECT f.id, count(*) AS targets_pending FROM findings f JOIN t
              ON t.agencies IS NULL OR f.agency_id IN (SELECT value FROM json_each(t.agencies))
            WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.finding_id = f.id
                              AND d.target_key = t.key AND d.status = 'delivered')
            GROUP BY f.id"""
        count = self._one(f"SELECT count(*) AS n FROM ({pending})", {"spec": spec})["n"]
        rows = self._all(
            f"""SELECT f.*, a.name AS agency_name, p.targets_pending
                FROM ({pending}) p JOIN findings f ON f.id = p.id
                LEFT JOIN agencies a ON a.id = f.agency_id
                ORDER BY f.id DESC LIMIT :latest""",
            {"spec": spec, "latest": latest},
        )
        return count, [{**dict(row), "details": json.loads(row["details"] or "{}")}
                       for row in rows]

    # -- heartbeat ------------------------------------------------------------------------------

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

    def heartbeat(self) -> dict[str, Any] | None:
        """The daemon_heartbeat row (pid, hostname, started_at, beat_at, state), or None."""
        row = self._one("SELECT pid, hostname, started_at, beat_at, state FROM daemon_heartbeat "
                        "WHERE id = 1")
        return dict(row) if row else None
