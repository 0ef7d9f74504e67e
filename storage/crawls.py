"""Crawls and the fetch log: when each crawl ran, what it covered, every request it made.

`crawl_agencies` keeps one row per crawl and agency: did the crawl fetch all the agency's
listing pages? The monitor raises `missing` only after such a complete crawl.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import StorageError, UnknownCrawl
from .models import (
    FINDING_CHANGED,
    FINDING_NEW,
    FINDING_REMOVED,
    FINDING_RESTORED,
    AgencySummary,
    utc_now,
)
from .part import StorePart, ids_filter, to_json

# finish_reason values of a crawl process that did not complete (set by the daemon).
CRAWL_FAILED_REASONS = ("timeout", "crashed", "failed")
# How many failing listing fetches of one crawl `of_agency` keeps as examples.
ERROR_SAMPLES = 3


class Crawls(StorePart):
    """`store.crawls`: start and finish crawls, log fetches, and the reads about them."""

    def start(self, agency_ids: Sequence[str], *, at: str | None = None) -> int:
        """Record the start of a crawl and return its id.

        agency_ids: the agencies this crawl covers (`summary` reports on each).
        at: start time, ISO-8601 UTC; now if None.
        """
        cursor = self.db.execute(
            "INSERT INTO crawls (started_at, agency_ids) VALUES (?, ?)",
            (at or utc_now(), json.dumps(list(agency_ids), ensure_ascii=False)),
        )
        return int(cursor.lastrowid)

    def finish(
        self, crawl_id: int, *, finish_reason: str, stats: Mapping, at: str | None = None
    ) -> None:
        """Record the end of a crawl.

        crawl_id: from `start`. finish_reason: e.g. Scrapy's 'finished', 'shutdown'.
        stats: the crawl's statistics (JSON-encoded; datetimes and other values become
        strings). at: end time, ISO-8601 UTC; now if None.
        Raises UnknownCrawl for an id `start` did not return.
        """
        at = at or utc_now()
        with self._write():
            cursor = self.db.execute(
                "UPDATE crawls SET finished_at = ?, finish_reason = ?, stats = ? WHERE id = ?",
                (at, finish_reason, to_json(dict(stats)), crawl_id),
            )
            if cursor.rowcount == 0:
                raise UnknownCrawl(f"no crawl with id {crawl_id}")
            self._record_crawl_agencies(crawl_id, finish_reason, at)

    def _record_crawl_agencies(self, crawl_id: int, finish_reason: str, at: str) -> None:
        """One crawl_agencies row per agency of the crawl: its listing fetches and outcome.

        'errors' when a listing page of the agency failed; 'failed' when the crawl process
        did not complete (timeout, crash) before fetching any of the agency's listings; 'ok'
        when a completed crawl fetched its listings without error; otherwise 'unknown' (no
        listing fetched, or a crawl that died after fetching them): unknown says nothing.
        """
        crawl = self._one("SELECT started_at, agency_ids FROM crawls WHERE id = ?", (crawl_id,))
        counts = {
            row["agency_id"]: (row["fetches"], row["errors"])
            for row in self._all(
                "SELECT agency_id, count(*) AS fetches, "
                "sum(error IS NOT NULL OR status >= 400) AS errors FROM fetch_log "
                "WHERE crawl_id = ? AND purpose = 'listing' AND agency_id IS NOT NULL "
                "GROUP BY agency_id",
                (crawl_id,),
            )
        }
        for agency_id in json.loads(crawl["agency_ids"] or "[]"):
            fetches, errors = counts.get(agency_id, (0, 0))
            if errors:
                outcome = "errors"
            elif finish_reason in CRAWL_FAILED_REASONS:
                # The crawl process died: an agency it never reached could not be seen at all;
                # one whose listings it fetched may still have reports it did not get to.
                outcome = "unknown" if fetches else "failed"
            else:
                outcome = "ok" if fetches else "unknown"
            self.db.execute(
                "INSERT OR REPLACE INTO crawl_agencies (crawl_id, agency_id, started_at, "
                "finished_at, finish_reason, listing_fetches, listing_errors, outcome) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (crawl_id, agency_id, crawl["started_at"], at, finish_reason, fetches, errors, outcome),
            )

    def log_fetch(
        self,
        *,
        crawl_id: int | None,
        agency_id: str | None,
        url: str,
        method: str = "GET",
        status: int | None,
        error: str | None,
        duration_ms: int | None = None,
        size_bytes: int | None = None,
        purpose: str | None = None,
        fetched_at: str | None = None,
    ) -> None:
        """Append one request to fetch_log (committed at once: one small WAL commit).

        crawl_id: the crawl, or None outside one. agency_id: the agency the request was
        for, None when it is for no agency (robots.txt). url: the requested URL.
        method: HTTP method. status: HTTP status, None when no response came. error: a
        readable reason for a failure (timeout, DNS, 404...), None on success.
        duration_ms: time to the response. size_bytes: body size. purpose: why it was
        fetched, one of FETCH_PURPOSES or another word. fetched_at: ISO-8601 UTC, now if None.
        Raises StorageError if crawl_id or agency_id does not exist.
        """
        try:
            self.db.execute(
                "INSERT INTO fetch_log (crawl_id, agency_id, url, method, status, error, "
                "fetched_at, duration_ms, size_bytes, purpose) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (crawl_id, agency_id, url, method, status, error, fetched_at or utc_now(),
                 duration_ms, size_bytes, purpose),
            )
        except sqlite3.IntegrityError as exc:
            raise StorageError(
                f"cannot log fetch of {url}: crawl {crawl_id!r} or agency {agency_id!r} "
                f"does not exist ({exc})"
            ) from exc

    def summary(self, crawl_id: int) -> list[AgencySummary]:
        """One AgencySummary per agency of the crawl, in the order given to `start`,
        then any other agency the crawl touched; agencies with nothing to report included.

        crawl_id: from `start`. Raises UnknownCrawl.
        """
        crawl = self._one("SELECT agency_ids FROM crawls WHERE id = ?", (crawl_id,))
        if crawl is None:
            raise UnknownCrawl(f"no crawl with id {crawl_id}")
        order: list[str] = list(dict.fromkeys(json.loads(crawl["agency_ids"] or "[]")))
        counts: dict[str, dict[str, int]] = {}

        def bump(agency_id: str | None, key: str, n: int) -> None:
            if agency_id is None:
                return
            if agency_id not in counts:
                counts[agency_id] = {}
                if agency_id not in order:
                    order.append(agency_id)
            counts[agency_id][key] = counts[agency_id].get(key, 0) + n

        for row in self._all(
            "SELECT agency_id, count(DISTINCT report_id) AS n FROM sightings "
            "WHERE crawl_id = ? GROUP BY agency_id", (crawl_id,)
        ):
            bump(row["agency_id"], "reports_found", row["n"])
        for row in self._all(
            "SELECT agency_id, kind, count(*) AS n FROM findings WHERE crawl_id = ? "
            "GROUP BY agency_id, kind", (crawl_id,)
        ):
            bump(row["agency_id"], row["kind"], row["n"])
        for row in self._all(
            "SELECT agency_id, count(*) AS n FROM fetch_log WHERE crawl_id = ? "
            "AND (error IS NOT NULL OR status >= 400) GROUP BY agency_id", (crawl_id,)
        ):
            bump(row["agency_id"], "fetch_errors", row["n"])

        names = {row["id"]: row["name"] for row in self._all(
            "SELECT id, name FROM agencies WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(order),))}
        summaries = []
        for agency_id in order:
            c = counts.get(agency_id, {})
            summaries.append(AgencySummary(
                agency_id=agency_id,
                name=names.get(agency_id, agency_id),
                reports_found=c.get("reports_found", 0),
                new=c.get(FINDING_NEW, 0),
                changed=c.get(FINDING_CHANGED, 0),
                removed=c.get(FINDING_REMOVED, 0),
                restored=c.get(FINDING_RESTORED, 0),
                fetch_errors=c.get("fetch_errors", 0),
            ))
        return summaries

    def of_agency(
        self, agency_id: str, *, before_id: int | None = None, limit: int = 50
    ) -> list[dict]:
        """The finished crawls that covered `agency_id`, newest first (from crawl_agencies).

        before_id: only crawls with a smaller id (to page back in time). limit: at most this
        many. Each dict: id, started_at, finished_at, finish_reason, listing_fetches,
        listing_errors, outcome ('ok' | 'errors' | 'failed' | 'unknown') and errors (up to
        ERROR_SAMPLES failed listing requests: url, status, error).
        """
        rows = [dict(row) for row in self._all(
            """SELECT crawl_id AS id, started_at, finished_at, finish_reason, listing_fetches,
                      listing_errors, outcome
               FROM crawl_agencies
               WHERE agency_id = :agency AND (:before IS NULL OR crawl_id < :before)
               ORDER BY crawl_id DESC LIMIT :limit""",
            {"agency": agency_id, "before": before_id, "limit": limit},
        )]
        for row in rows:
            row["errors"] = [dict(error) for error in self._all(
                "SELECT url, status, error FROM fetch_log WHERE crawl_id = ? AND agency_id = ? "
                "AND purpose = 'listing' AND (error IS NOT NULL OR status >= 400) "
                "ORDER BY id LIMIT ?",
                (row["id"], agency_id, ERROR_SAMPLES),
            )] if row["listing_errors"] else []
        return rows

    def last_good(self, agency_ids: Sequence[str] | None = None) -> dict[str, str]:
        """agency id -> start of its latest crawl whose listing pages were all fetched
        (outcome 'ok'); agencies never crawled so are absent."""
        where, params = ids_filter("agency_id", agency_ids)
        return {row[0]: row[1] for row in self._all(
            f"SELECT agency_id, max(started_at) FROM crawl_agencies "
            f"WHERE outcome = 'ok' AND {where} GROUP BY agency_id",
            params,
        )}

    def good_between(self, agency_id: str, after: str, before: str) -> bool:
        """Did a crawl that fetched all the agency's listing pages start in (after, before)?"""
        return self._one(
            "SELECT 1 FROM crawl_agencies WHERE agency_id = ? AND outcome = 'ok' "
            "AND started_at > ? AND started_at < ? LIMIT 1",
            (agency_id, after, before),
        ) is not None

    def find(self, agency_ids: Sequence[str], *, started_since: str) -> dict[str, Any] | None:
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

    def errors(self, crawl_id: int) -> dict[str, tuple[int, str]]:
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
