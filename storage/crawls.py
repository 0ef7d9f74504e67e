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
# A fetch_log row that says a page of the site could not be read. Not failures: requests the
# crawler chose not to make (robots.txt, off-site: IgnoreRequest) and pages that do not exist
# (404/410, and 'gone:' pages such as a soft 404: a listed link to a dead page hides no report).
REPORT_FAILURE = ("(coalesce(status, 0) NOT IN (404, 410) AND ((error IS NOT NULL "
                  "AND error NOT LIKE 'IgnoreRequest%' AND error NOT LIKE 'gone:%') OR status >= 400))")
# A crawl that saw everything of an agency: its listings read as listings and every report
# page it did not have yet read. Only such a crawl after a deadline makes `missing` a fact.
COMPLETE = "(outcome = 'ok' AND report_errors = 0)"
# A listing fetch_log row that failed and is the last attempt at its URL in the crawl: a
# listing whose retry read it is no failed listing (a 503, then the page).
LAST_LISTING_FAILURE = ("(purpose = 'listing' AND (error IS NOT NULL OR status >= 400) "
                        "AND NOT EXISTS (SELECT 1 FROM fetch_log later WHERE later.crawl_id = f.crawl_id "
                        "AND later.agency_id = f.agency_id AND later.url = f.url "
                        "AND later.purpose = 'listing' AND later.id > f.id))")
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
        self, crawl_id: int, *, finish_reason: str, stats: Mapping, at: str | None = None,
        listing_pages_skipped: Mapping[str, int] | None = None,
    ) -> None:
        """Record the end of a crawl.

        crawl_id: from `start`. finish_reason: e.g. Scrapy's 'finished', 'shutdown'.
        stats: the crawl's statistics (JSON-encoded; datetimes and other values become
        strings). at: end time, ISO-8601 UTC; now if None. listing_pages_skipped: agency id ->
        listing pages the crawl did not follow because a page held nothing new (absent: 0, a
        full pass).
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
            self._record_crawl_agencies(crawl_id, finish_reason, at, listing_pages_skipped or {})

    def _record_crawl_agencies(self, crawl_id: int, finish_reason: str, at: str,
                               skipped: Mapping[str, int]) -> None:
        """One crawl_agencies row per agency of the crawl: its fetches and outcome.

        'errors' when a listing page of the agency failed (including a 200 answer that was not
        a listing; a page whose retry was read did not fail) or when many known reports
        answered as gone at once (a site problem, set by `mark_site_problem`); 'failed' when the crawl process did not complete (timeout,
        crash) before fetching any of the agency's listings; 'ok' when a completed crawl
        fetched its listings without error; otherwise 'unknown' (no listing fetched, or a
        crawl that died after fetching them). report_errors counts the report pages the store
        does not have yet that could not be read: a crawl is complete (it may show a report
        `missing`) only with outcome 'ok' and no report_errors (see COMPLETE).
        """
        crawl = self._one("SELECT started_at, agency_ids FROM crawls WHERE id = ?", (crawl_id,))
        counts = {
            row["agency_id"]: row
            for row in self._all(
                f"""SELECT agency_id,
                       sum(purpose = 'listing') AS fetches,
                       sum({LAST_LISTING_FAILURE}) AS errors,
                       count(DISTINCT CASE WHEN purpose IN ('report', 'extract') AND {REPORT_FAILURE}
                             AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.agency_id = f.agency_id
                                             AND r.url = f.url)
                             THEN url END) AS report_errors,
                       max(CASE WHEN purpose = 'listing' AND error IS NOT NULL
                           THEN url || ': ' || error END) AS listing_error
                   FROM fetch_log f
                   WHERE crawl_id = ? AND agency_id IS NOT NULL
                   GROUP BY agency_id""",
                (crawl_id,),
            )
        }
        for agency_id in json.loads(crawl["agency_ids"] or "[]"):
            row = counts.get(agency_id)
            fetches, errors, report_errors = (
                (row["fetches"] or 0, row["errors"] or 0, row["report_errors"] or 0) if row else (0, 0, 0))
            note = None
            if errors:
                outcome, note = "errors", f"{errors} listing fetch(es) failed" + (
                    f", e.g. {row['listing_error'][:300]}" if row["listing_error"] else "")
            elif finish_reason in CRAWL_FAILED_REASONS:
                # The crawl process died: an agency it never reached could not be seen at all;
                # one whose listings it fetched may still have reports it did not get to.
                outcome = "unknown" if fetches else "failed"
            else:
                outcome = "ok" if fetches else "unknown"
            if report_errors:
                note = (f"{report_errors} report page(s) not yet stored could not be read: "
                        "not a complete crawl for 'missing'")
            self.db.execute(
                "INSERT OR REPLACE INTO crawl_agencies (crawl_id, agency_id, started_at, "
                "finished_at, finish_reason, listing_fetches, listing_errors, outcome, "
                "report_errors, note, listing_pages_skipped) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (crawl_id, agency_id, crawl["started_at"], at, finish_reason, fetches, errors,
                 outcome, report_errors, note, skipped.get(agency_id, 0)),
            )

    def mark_site_problem(self, crawl_id: int, agency_id: str, *, gone_reports: int, note: str) -> None:
        """An agency whose known reports answered as gone all at once in this crawl: the crawl
        is not a good one for it ('errors'), and no report is removed (see `held.settle`)."""
        with self._write():
            self.db.execute(
                "UPDATE crawl_agencies SET outcome = 'errors', gone_reports = ?, note = ? "
                "WHERE crawl_id = ? AND agency_id = ?",
                (gone_reports, note, crawl_id, agency_id),
            )

    def outcomes(self, crawl_id: int) -> dict[str, str]:
        """agency id -> its crawl_agencies outcome in this (finished) crawl."""
        return {row["agency_id"]: row["outcome"] for row in self._all(
            "SELECT agency_id, outcome FROM crawl_agencies WHERE crawl_id = ?", (crawl_id,))}

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
    ) -> int:
        """Append one request to fetch_log (committed at once: one small WAL commit); return
        the row's id (`fail_fetch` can then say why an answer turned out useless).

        crawl_id: the crawl, or None outside one. agency_id: the agency the request was
        for, None when it is for no agency (robots.txt). url: the requested URL.
        method: HTTP method. status: HTTP status, None when no response came. error: a
        readable reason for a failure (timeout, DNS, 404...), None on success.
        duration_ms: time to the response. size_bytes: body size. purpose: why it was
        fetched, one of FETCH_PURPOSES or another word. fetched_at: ISO-8601 UTC, now if None.
        Raises StorageError if crawl_id or agency_id does not exist.
        """
        try:
            cursor = self.db.execute(
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
        return int(cursor.lastrowid)

    def fail_fetch(self, fetch_id: int, error: str) -> bool:
        """Record that a logged answer was useless after all (a 200 that is a block page, a
        body discarded after download...): set its error unless it already has one. Returns
        True if the row changed."""
        return self.db.execute(
            "UPDATE fetch_log SET error = ? WHERE id = ? AND error IS NULL", (error[:1000], fetch_id),
        ).rowcount == 1

    def listing_shape(self, agency_id: str, url: str) -> dict[str, Any] | None:
        """The last good fetch of a listing page: entries, pages, signature (a list), etag,
        last_modified and replay (decoded: {"entries": [[url, title, date, is_report]],
        "pages": [url]}, or None), or None."""
        row = self._one("SELECT entries, pages, signature, last_good_at, etag, last_modified, replay "
                        "FROM listing_pages WHERE agency_id = ? AND url = ?", (agency_id, url))
        if row is None:
            return None
        return {**dict(row), "signature": json.loads(row["signature"]),
                "replay": json.loads(row["replay"]) if row["replay"] else None}

    def listing_validators(self, agency_id: str) -> dict[str, tuple[str | None, str | None]]:
        """url -> (etag, last_modified) of the agency's listing pages that can be replayed."""
        return {row["url"]: (row["etag"], row["last_modified"]) for row in self._all(
            "SELECT url, etag, last_modified FROM listing_pages WHERE agency_id = ? "
            "AND replay IS NOT NULL AND (etag IS NOT NULL OR last_modified IS NOT NULL)",
            (agency_id,))}

    def record_listing(self, agency_id: str, url: str, *, crawl_id: int | None, entries: int,
                       pages: int, signature: Sequence[str], at: str | None = None,
                       etag: str | None = None, last_modified: str | None = None,
                       replay: Mapping | None = None) -> None:
        """Remember a good fetch of a listing page (its shape; its validators and what it
        listed when a 304 may stand for it), replacing the previous one."""
        if replay is None:
            etag = last_modified = None
        self.db.execute(
            """INSERT INTO listing_pages (agency_id, url, last_good_at, last_crawl_id, entries,
                                          pages, signature, etag, last_modified, replay)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (agency_id, url) DO UPDATE SET last_good_at = excluded.last_good_at,
                   last_crawl_id = excluded.last_crawl_id, entries = excluded.entries,
                   pages = excluded.pages, signature = excluded.signature, etag = excluded.etag,
                   last_modified = excluded.last_modified, replay = excluded.replay""",
            (agency_id, url, at or utc_now(), crawl_id, entries, pages,
             json.dumps(sorted(signature), ensure_ascii=False), etag, last_modified,
             json.dumps(replay, ensure_ascii=False) if replay is not None else None),
        )

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
            # 'held:' and 'gone:' rows say what a page that arrived was: not errors of the site
            "SELECT agency_id, count(*) AS n FROM fetch_log WHERE crawl_id = ? "
            "AND (error IS NOT NULL OR status >= 400) AND coalesce(error, '') NOT LIKE 'held:%' "
            "AND coalesce(error, '') NOT LIKE 'gone:%' GROUP BY agency_id", (crawl_id,)
        ):
            bump(row["agency_id"], "fetch_errors", row["n"])

        for row in self._all(
            "SELECT agency_id, count(*) AS n FROM pending_findings WHERE last_crawl_id = ? "
            "AND resolved_at IS NULL GROUP BY agency_id", (crawl_id,)
        ):
            bump(row["agency_id"], "held", row["n"])
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
                held=c.get("held", 0),
            ))
        return summaries

    def of_agency(
        self, agency_id: str, *, before_id: int | None = None, limit: int = 50
    ) -> list[dict]:
        """The finished crawls that covered `agency_id`, newest first (from crawl_agencies).

        before_id: only crawls with a smaller id (to page back in time). limit: at most this
        many. Each dict: id, started_at, finished_at, finish_reason, listing_fetches,
        listing_errors, outcome ('ok' | 'errors' | 'failed' | 'unknown'), report_errors,
        gone_reports, note (why it is not 'ok') and errors (up to
        ERROR_SAMPLES failed listing requests: url, status, error).
        """
        rows = [dict(row) for row in self._all(
            """SELECT crawl_id AS id, started_at, finished_at, finish_reason, listing_fetches,
                      listing_errors, outcome, report_errors, gone_reports, note
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
        """agency id -> start of its latest complete crawl (its listing pages all read as
        listings, every new report page read: COMPLETE); agencies never crawled so are absent."""
        where, params = ids_filter("agency_id", agency_ids)
        return {row[0]: row[1] for row in self._all(
            f"SELECT agency_id, max(started_at) FROM crawl_agencies "
            f"WHERE {COMPLETE} AND {where} GROUP BY agency_id",
            params,
        )}

    def good_between(self, agency_id: str, after: str, before: str) -> bool:
        """Did a complete crawl of the agency (COMPLETE) start in (after, before)?"""
        return self._one(
            f"SELECT 1 FROM crawl_agencies WHERE agency_id = ? AND {COMPLETE} "
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
