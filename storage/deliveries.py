"""Deliveries: which finding went to which notification target, claimed before sending.

A (finding, target) pair is claimed ('sending') in one transaction before it is sent, then
recorded as delivered or failed, so concurrent senders never send the same finding twice;
only a sender killed between its send and its record leads to a resend (at-least-once there).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Sequence
from typing import Any

from .findings import ANNOUNCED  # which findings are told to people at all
from .models import utc_iso, utc_now
from .part import StorePart, ids_json

# deliveries.status
DELIVERY_SENDING = "sending"  # claimed by a sender (claimed_by, claimed_at) that is sending now
DELIVERED = "delivered"
DELIVERY_FAILED = "failed"
# A 'sending' claim older than this is left by a sender that died (or hung) between its
# send and its record: another sender takes it over, and the finding is sent again.
CLAIM_STALE_SECONDS = 600.0


def pid_alive(pid: int) -> bool:
    """Is there a running process with this id on this host? (The store is a local file: the
    senders that share it run on this host.) A zombie is not: it has exited, and only waits
    for its parent to collect its status (a supervisor or a shell busy elsewhere may take
    long), yet kill(pid, 0) still finds it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        pass
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Is the process a zombie (state Z in /proc/<pid>/stat)? False where there is no /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rpartition(b")")[2].split()  # the name, in (), may hold spaces
    except (OSError, ValueError):
        return False
    return bool(fields) and fields[0] == b"Z"


def _seconds_before(iso: str, seconds: float) -> str:
    moment = dt.datetime.fromisoformat(iso.replace("Z", "+00:00")) - dt.timedelta(seconds=seconds)
    return utc_iso(moment)


class Deliveries(StorePart):
    """`store.deliveries`: the deliveries table."""

    def pending(
        self, target_key: str, agency_ids: Sequence[str] | None = None, *,
        kinds: Sequence[str] | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Findings not yet delivered to a target, oldest first, with the agency's name.

        target_key: sha256 of the target URL. agency_ids: the agencies whose findings go to
        this target; None for a global target (every finding). kinds: only findings of these
        kinds (None: every kind). limit: at most this many. Only announced findings
        (ANNOUNCED: a `new` finding only for an annual report). Each dict has the findings
        columns, `details` decoded, plus agency_name, agency_region, report_url,
        report_title, report_kind (of the finding's report, if any), attempts and last_error
        (of earlier failed tries, 0/None when never tried). Findings another sender is
        sending right now ('sending') are included: `claim` decides.
        """
        where = ""
        params: dict[str, Any] = {"key": target_key, "limit": -1 if limit is None else limit}
        if agency_ids is not None:
            where = "AND f.agency_id IN (SELECT value FROM json_each(:agencies))"
            params["agencies"] = ids_json(agency_ids)
        if kinds is not None:
            where += " AND f.kind IN (SELECT value FROM json_each(:kinds))"
            params["kinds"] = json.dumps(list(kinds))
        rows = self._all(
            f"""SELECT f.*, a.name AS agency_name, a.region AS agency_region,
                       r.url AS report_url, r.title AS report_title, r.kind AS report_kind,
                       coalesce(d.attempts, 0) AS attempts, d.error AS last_error
                FROM findings f
                LEFT JOIN agencies a ON a.id = f.agency_id
                LEFT JOIN reports r ON r.id = f.report_id
                LEFT JOIN deliveries d ON d.finding_id = f.id AND d.target_key = :key
                WHERE (d.status IS NULL OR d.status != 'delivered') AND {ANNOUNCED} {where}
                ORDER BY f.id LIMIT :limit""",
            params,
        )
        return [{**dict(row), "details": json.loads(row["details"] or "{}")} for row in rows]

    def claim(
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
        `record` with the same pid.
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

    def record(
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
        (`claim`): a failure does not overwrite a claim another sender took over
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
        self, targets: Sequence[tuple], *, latest: int = 5
    ) -> tuple[int, list[dict[str, Any]]]:
        """Announced findings (ANNOUNCED) that at least one of their targets has not
        received yet.

        targets: (target_key, agency ids or None for every agency[, kinds or None for every
        kind]) per configured target.
        Returns the count and the `latest` newest such findings (with agency_name and
        `targets_pending`, the number of their targets still waiting).
        """
        if not targets:
            return 0, []
        spec = json.dumps([{"key": key, "agencies": None if ids is None else list(ids),
                            "kinds": None if not rest or rest[0] is None else list(rest[0])}
                           for key, ids, *rest in targets], ensure_ascii=False)
        pending = f"""
            WITH t AS (
                SELECT json_extract(value, '$.key') AS key,
                       json_extract(value, '$.agencies') AS agencies,
                       json_extract(value, '$.kinds') AS kinds
                FROM json_each(:spec)
            )
            SELECT f.id, count(DISTINCT t.key) AS targets_pending FROM findings f
            LEFT JOIN reports r ON r.id = f.report_id
            JOIN t
              ON (t.agencies IS NULL OR f.agency_id IN (SELECT value FROM json_each(t.agencies)))
             AND (t.kinds IS NULL OR f.kind IN (SELECT value FROM json_each(t.kinds)))
            WHERE {ANNOUNCED} AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.finding_id = f.id
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
