"""`check`: coverage as of a day, and the findings it raises, each exactly once.

What the monitor tells people beyond the crawl's new/changed/removed:
- missing:   a deadline passed and no annual report for that agency and year was found;
- late:      the report that counts was published after its deadline;
- turned_up: a report appeared for an agency and year that had a `missing` finding
             (with `late` too when it came after the deadline);
- site_failing: the agency's listing pages failed in SITE_FAILING_AFTER crawls in a row, so
             the monitor is blind there and a later `missing` may be its own fault.
- inconsistent: the current version of an annual report has statistical tables that fail
             one of their own arithmetic checks (report_checks); one per report version.

Each finding has a dedup_key (see FINDING_KEYS below) and the store inserts a key once, so
re-runs of `nianbao check`, the daemon's daily run and two of them at once raise nothing new.
Findings are written before `check` returns, so before anything is printed or notified; a
crash after the write loses nothing, and the next run finds them already raised.

Findings are recorded only for a day that has come: a what-if date in the future shows
coverage and writes nothing. "Today" is the date in China (UTC+8), as in the `coverage` view.
A `missing` finding also needs a complete crawl of the agency after the deadline: a report
nobody has looked for yet is not missing (the matrix shows such rows with "?").
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from nianbao.config.deadlines import DEADLINE_RULES
from nianbao.config.registry import Registry
from nianbao.monitor.coverage import LATE, MISSING, ON_TIME, CoverageRow, compute_coverage
from nianbao.storage import AgencyRecord, Store
from nianbao.storage.coverage_sql import ROW_COLUMNS
from nianbao.storage.models import utc_iso, utc_now
from nianbao.storage.models import (
    FINDING_INCONSISTENT,
    FINDING_LATE,
    FINDING_MISSING,
    FINDING_SITE_FAILING,
    FINDING_TURNED_UP,
)

# An agency is reported as failing after this many crawls in a row in which one of its
# listing pages answered with an error (timeout, DNS, refused, HTTP >= 400). One flaky night
# is not an alert; three crawls (three days in the reporting season) are.
SITE_FAILING_AFTER = 3
# A long streak keeps only its most recent crawls in the finding's details.
STREAK_CRAWLS_IN_DETAILS = 10

# dedup_key of each kind: one `missing`/`late`/`turned_up` per agency and year ever; one
# `site_failing` per streak, named by its first crawl, so a site that recovers and fails
# again later is reported again.
FINDING_KEYS = {
    FINDING_MISSING: "missing:{agency_id}:{year}",
    FINDING_LATE: "late:{agency_id}:{year}",
    FINDING_TURNED_UP: "turned_up:{agency_id}:{year}",
    FINDING_SITE_FAILING: "site_failing:{agency_id}:{first_crawl_id}",
    FINDING_INCONSISTENT: "inconsistent:{report_id}:{version}",
}


@dataclass(frozen=True)
class CheckResult:
    rows: list[CoverageRow]
    # Findings this run wrote (kind, id, agency_id, year, details), in the order written.
    new_findings: list[dict] = field(default_factory=list)
    # Agencies whose listings are failing now: agency id -> the streak's crawls, newest first.
    failing: dict[str, list[dict]] = field(default_factory=dict)
    # Agencies with annual reports whose year could not be read: agency id -> how many.
    yearless: dict[str, int] = field(default_factory=dict)
    # Agencies whose sites list annual reports of issuers outside the registry: agency id ->
    # the issuers as named (they count for nobody; a name the matching missed shows here).
    uncounted: dict[str, list[str]] = field(default_factory=dict)


# Deadlines are Chinese dates: "today", and the day a report was first seen, are taken in
# China's time (UTC+8, no daylight saving), here and in the `coverage` view alike.
CHINA = datetime.timezone(datetime.timedelta(hours=8), "CST")


def today() -> datetime.date:
    """Today's date in China."""
    return datetime.datetime.now(CHINA).date()


def has_come(day: datetime.date) -> bool:
    """Is `day` today or past (in China)?"""
    return day <= today()


def end_of_day_utc(day: datetime.date) -> str:
    """The moment `day` ends in China, as an ISO-8601 UTC string like the store's times."""
    end = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(), CHINA)
    return utc_iso(end)


def run_check(
    store: Store,
    registry: Registry,
    as_of: datetime.date,
    *,
    agency_ids: Sequence[str] | None = None,
    record: bool = True,
) -> list[CoverageRow]:
    """Coverage of the registry's agencies (or those named) as of a day; raise its findings.

    Syncs the agencies and the legal deadline table into the store, computes one row per
    agency and expected year, and, when `record` and as_of has come, writes the missing,
    late, turned_up and site_failing findings not raised before. Raises ConfigError for an
    agency id the registry does not have.
    """
    return check(store, registry, as_of, agency_ids=agency_ids, record=record).rows


def check(
    store: Store,
    registry: Registry,
    as_of: datetime.date,
    *,
    agency_ids: Sequence[str] | None = None,
    record: bool = True,
) -> CheckResult:
    """`run_check` with what the command prints besides the rows (new findings, failing sites)."""
    run = start_check(store, registry, as_of, agency_ids=agency_ids, record=record)
    return CheckResult(list(run.rows()), run.new_findings, run.failing, run.yearless,
                       run.uncounted)


@dataclass
class CheckRun:
    """A check whose findings are written; its rows are read from the store on demand, as a
    stream (2.7 M of them at national scale), by SQL that applies the coverage rules
    (storage/coverage_sql.py) to the agencies in `ids`, in that order."""

    store: Store
    ids: list[str]
    as_of: datetime.date
    new_findings: list[dict]
    failing: dict[str, list[dict]]
    yearless: dict[str, int]
    uncounted: dict[str, list[str]]
    matrix: list[tuple] | None = None  # store.coverage.matrix, once read

    def rows(self) -> Iterator[CoverageRow]:
        for values in self.store.coverage.cells(self.ids, self.as_of.isoformat()):
            yield CoverageRow(**_row_fields(values))

    def json_rows(self) -> Iterator[str]:
        """Each row as a JSON object's text (CoverageRow.to_json's keys and values)."""
        return (values[0] for values in self.store.coverage.cells_json(self.ids,
                                                                       self.as_of.isoformat()))

    def mark_codes(self) -> list[tuple[str, int, str | None]]:
        """Per agency: (id, first year, a 3-character code per cell); see
        storage/coverage_sql.MARK_CODES."""
        return [row[:3] for row in self._matrix()]

    def _matrix(self) -> list[tuple]:
        if self.matrix is None:
            self.matrix = self.store.coverage.matrix(self.ids, self.as_of.isoformat())
        return self.matrix

    def hosted_cells(self, agency_ids: Sequence[str]) -> list[tuple[str, int, str]]:
        """(agency, year, host) of these agencies' cells counted from another's site."""
        wanted = set(agency_ids)
        return [(row[0], year, host) for row in self._matrix() if row[0] in wanted and row[3]
                for year, host in json.loads(row[3])]


def _row_fields(values: tuple) -> dict:
    fields = dict(zip(ROW_COLUMNS, values))
    fields["deadline"] = datetime.date.fromisoformat(fields["deadline"])
    if fields["published_date"] is not None:
        fields["published_date"] = datetime.date.fromisoformat(fields["published_date"])
    if fields["verified"] is not None:
        fields["verified"] = bool(fields["verified"])
    return fields


def start_check(
    store: Store,
    registry: Registry,
    as_of: datetime.date,
    *,
    agency_ids: Sequence[str] | None = None,
    record: bool = True,
) -> CheckRun:
    """Sync the registry and the legal table into the store, raise the findings of the
    agencies' coverage as of a day (when `record` and the day has come), and return the run,
    whose rows stream from the store. Raises ConfigError for an id the registry lacks.

    Works in sets: the coverage cells, the findings (INSERT ... SELECT, one transaction) and
    the failing sites are each one SQL statement over the whole selection, so its cost grows
    with the store's rows, not with Python objects per row."""
    agencies = registry.select(agency_ids)
    sync_registry(store, registry)
    ids = [agency.id for agency in agencies]
    failing = {agency_id: failing_streak(store, agency_id)
               for agency_id in store.coverage.failing_agencies(ids, SITE_FAILING_AFTER)}
    new: list[dict] = []
    matrix = None
    if record and has_come(as_of):
        # The codes say which agencies have a finding to raise (none, on most days); they are
        # the matrix, printed after the findings are written. Kept between checks
        # (matrix_codes): only agencies whose reports, crawls, findings or deadlines changed
        # are computed again.
        matrix = store.coverage.matrix(ids, as_of.isoformat())
        codes = [row[:3] for row in matrix]
        # In the rows' order (agency, year; a late before its turned_up), as the Python
        # rules raise them one row at a time.
        position = {agency_id: at for at, agency_id in enumerate(ids)}
        new += sorted(store.coverage.record_findings(codes, as_of.isoformat(), utc_now()),
                      key=lambda f: (position[f["agency_id"]], f["year"],
                                     f["kind"] == FINDING_TURNED_UP, f["id"]))
        names = {agency_id: registry.get(agency_id).name for agency_id in failing}
        new += _raise_site_failing(store, failing, names, SITE_FAILING_AFTER)
        new += raise_inconsistent(store, ids)
        if new:
            # A finding written changes its agency's codes (a capital letter: "no finding
            # yet"), and its trigger dropped them: computed again now, with the findings,
            # so that the next check reads them kept instead of computing them.
            store.coverage.matrix(sorted({f["agency_id"] for f in new if f["agency_id"]}),
                                  as_of.isoformat())
    return CheckRun(store, ids, as_of, new, failing, store.coverage.yearless_annual_reports(ids),
                    store.coverage.uncounted_annual_reports(ids), matrix)


def sync_registry(store: Store, registry: Registry) -> None:
    """The registry's agencies and the legal deadline table into the store, and whose report
    each one is against this registry: an agency added since the crawl takes over the
    reports that name it. The whole registry: agencies it no longer lists leave the coverage
    view too. Set-based, and skipped when the store last synced this very registry file."""
    store.agencies.sync_registry(
        (AgencyRecord.from_agency(a) for a in registry.agencies),
        path=registry.path, sha256=registry.sha256)
    store.agencies.sync_deadline_rules(DEADLINE_RULES)
    store.history.reassign(lambda host, issuer: registry.issuer_index.counts_for(host, issuer),
                           registry.sha256)


def check_in_python(
    store: Store,
    registry: Registry,
    as_of: datetime.date,
    *,
    agency_ids: Sequence[str] | None = None,
    record: bool = True,
) -> CheckResult:
    """The same check computed row by row in Python by monitor/coverage.py's rules: the
    reference that the SQL of `check` is held to (tests/test_check_sql.py). Fine for a few
    thousand agencies; `check` is what runs."""
    agencies = registry.select(agency_ids)
    sync_registry(store, registry)
    ids = [agency.id for agency in agencies]
    first_reports = store.coverage.first_annual_reports(ids)
    rows = verify_missing(compute_coverage(agencies, first_reports, as_of), store.crawls.last_good(ids))
    names = {agency.id: agency.name for agency in agencies}
    streaks = failing_streaks(store, ids)
    new: list[dict] = []
    if record and has_come(as_of):
        first_seen = {r["report_id"]: r["first_seen"] for r in first_reports}
        new += record_coverage_findings(store, rows, as_of=as_of, names=names,
                                        first_seen=first_seen)
        new += _raise_site_failing(store, streaks, names, SITE_FAILING_AFTER)
        new += raise_inconsistent(store, ids)
    return CheckResult(rows, new, streaks, store.coverage.yearless_annual_reports(ids),
                       store.coverage.uncounted_annual_reports(ids))


def verify_missing(rows: Sequence[CoverageRow], last_good: dict[str, str]) -> list[CoverageRow]:
    """Mark each missing row verified when a complete crawl of the agency ran after the
    deadline day; otherwise the report may simply not have been looked for yet (a new
    agency, a site that has been failing, a deadline that passed since the last crawl)."""
    return [
        replace(row, verified=last_good.get(row.agency_id, "") > end_of_day_utc(row.deadline))
        if row.status == MISSING else row
        for row in rows
    ]


def record_coverage_findings(
    store: Store, rows: Sequence[CoverageRow], *, as_of: datetime.date,
    names: dict[str, str] | None = None, first_seen: dict[int, str] | None = None,
) -> list[dict]:
    """Write the missing/late/turned_up findings of `rows` not raised before; return them.

    Only facts become findings: `missing` needs a complete crawl after the deadline
    (row.verified); `late` for a page without its own date (published = first seen) needs a
    complete crawl after the deadline that did not see it yet, or the first crawl of an old
    report would call every undated report late.
    """
    names = names or {}
    first_seen = first_seen or {}
    was_missing = store.findings.dedup_keys(FINDING_MISSING)
    new = []
    for row in rows:
        name = names.get(row.agency_id, row.agency_id)
        facts = {"agency_name": name, "deadline": row.deadline.isoformat(),
                 "as_of": as_of.isoformat()}
        if row.status == MISSING:
            if not row.verified:
                continue
            facts["summary"] = (f"{name}: no annual report for {row.year} found; it was due "
                                f"{row.deadline.isoformat()}")
            new += _record(store, FINDING_MISSING, row, facts)
            continue
        if row.report_id is None:
            continue
        json_row = row.to_json()
        facts.update({k: json_row[k] for k in (
            "report_id", "title", "url", "published_date", "published_basis", "report_status")})
        if row.hosted_by:
            facts["hosted_by"] = row.hosted_by
        # nobody looked for it in time: on the site where it was found (the host's, for a
        # report hosted by another agency)
        if row.status == LATE and row.published_basis == "first_seen" and not store.crawls.good_between(
            row.hosted_by or row.agency_id, end_of_day_utc(row.deadline),
            first_seen.get(row.report_id, "")
        ):
            continue  # first seen late, but nobody looked for it in time: not known to be late
        if row.status == LATE:
            facts["days_late"] = row.days_late
            facts["summary"] = (f"{name}: the {row.year} report was published "
                                f"{row.published_date} ({row.days_late} days after the "
                                f"deadline {row.deadline})")
            new += _record(store, FINDING_LATE, row, facts)
        key = FINDING_KEYS[FINDING_MISSING].format(agency_id=row.agency_id, year=row.year)
        if key in was_missing:
            when = "on time" if row.status == ON_TIME else "late"
            facts = {**facts, "status": row.status, "summary": (
                f"{name}: the {row.year} report reported missing has turned up "
                f"(published {row.published_date}, {when})")}
            new += _record(store, FINDING_TURNED_UP, row, facts)
    return new


def _record(store: Store, kind: str, row: CoverageRow, details: dict) -> list[dict]:
    key = FINDING_KEYS[kind].format(agency_id=row.agency_id, year=row.year)
    finding_id = store.findings.record(kind, agency_id=row.agency_id, year=row.year,
                                      report_id=row.report_id, details=details, dedup_key=key)
    if finding_id is None:
        return []
    return [{"id": finding_id, "kind": kind, "agency_id": row.agency_id, "year": row.year,
             "dedup_key": key, "details": details}]


# -- sites that keep failing --------------------------------------------------------------------


def failing_streak(store: Store, agency_id: str, *, page: int = 50) -> list[dict]:
    """The agency's current run of failing crawls (a listing page failed, or the crawl
    process timed out or crashed), newest first; empty when its last conclusive crawl
    fetched every listing page. Only finished crawls are in crawl_agencies."""
    streak: list[dict] = []
    before = None
    while True:
        crawls = store.crawls.of_agency(agency_id, before_id=before, limit=page)
        for crawl in crawls:
            if crawl["outcome"] == "ok":
                return streak
            if crawl["outcome"] in ("errors", "failed"):
                streak.append(crawl)
            # 'unknown' (no listing page fetched, e.g. a crawl stopped before reaching the
            # agency) says nothing either way: skipped
        if len(crawls) < page:
            return streak
        before = crawls[-1]["id"]


def failing_streaks(
    store: Store, agency_ids: Sequence[str], threshold: int = SITE_FAILING_AFTER
) -> dict[str, list[dict]]:
    """Agencies whose current streak is at least `threshold` crawls -> that streak."""
    streaks = {agency_id: failing_streak(store, agency_id) for agency_id in agency_ids}
    return {agency_id: s for agency_id, s in streaks.items() if len(s) >= threshold}


def raise_site_failing(
    store: Store, agency_ids: Sequence[str], threshold: int = SITE_FAILING_AFTER
) -> list[dict]:
    """Record a `site_failing` finding for each agency whose listings failed in `threshold`
    crawls in a row, once per streak; return the findings written (the daemon calls this
    after each crawl)."""
    names = {row["id"]: row["name"] for row in store.agencies.rows(list(agency_ids))}
    streaks = failing_streaks(store, agency_ids, threshold)
    return _raise_site_failing(store, streaks, names, threshold)


def _raise_site_failing(
    store: Store, streaks: dict[str, list[dict]], names: dict[str, str], threshold: int
) -> list[dict]:
    new = []
    for agency_id, streak in streaks.items():
        first, last = streak[-1], streak[0]
        name = names.get(agency_id, agency_id)
        example = next((e for c in streak for e in c["errors"]), None)
        note = next((c["note"] for c in streak if c.get("note")), None)
        why = (f"; e.g. {example['url']}: {example['error'] or 'HTTP ' + str(example['status'])}"
               if example else f"; {note}" if note else "")
        details = {
            "agency_name": name,
            "crawls_in_a_row": len(streak),
            "threshold": threshold,
            "since": first["started_at"],
            "crawls": list(reversed(streak[:STREAK_CRAWLS_IN_DETAILS])),
            "summary": (f"{name}: listing pages failed in {len(streak)} crawls in a row since "
                        f"{first['started_at']}{why}. The monitor cannot see new reports "
                        f"there; missing reports may not really be missing."),
        }
        key = FINDING_KEYS[FINDING_SITE_FAILING].format(agency_id=agency_id,
                                                        first_crawl_id=first["id"])
        finding_id = store.findings.record(FINDING_SITE_FAILING, agency_id=agency_id, year=None,
                                          report_id=None, details=details, dedup_key=key,
                                          crawl_id=last["id"])
        if finding_id is not None:
            new.append({"id": finding_id, "kind": FINDING_SITE_FAILING, "agency_id": agency_id,
                        "year": None, "dedup_key": key, "details": details})
    return new


# -- statistics that do not add up --------------------------------------------------------------


def raise_inconsistent(store: Store, agency_ids: Sequence[str] | None = None) -> list[dict]:
    """Record an `inconsistent` finding for the current version of each annual report (found
    on these agencies' sites, all when None) whose tables failed an arithmetic check, once
    per report version; return the findings written. The details give each failed rule and
    its numbers."""
    raised = store.findings.dedup_keys(FINDING_INCONSISTENT)
    failed = store.stats.failed_current(agency_ids)
    names = {row["id"]: row["name"] for row in store.agencies.rows(
        sorted({r["counts_for"] or r["agency_id"] for r in failed}))}
    new = []
    for report in failed:
        key = FINDING_KEYS[FINDING_INCONSISTENT].format(report_id=report["report_id"],
                                                        version=report["version"])
        if key in raised:
            continue
        agency_id = report["counts_for"] or report["agency_id"]
        name = names.get(agency_id, agency_id)
        rules = "; ".join(f["details"].get("rule", f["check_key"]) for f in report["failed"])
        details = {
            "agency_name": name, "title": report["title"], "url": report["url"],
            "version": report["version"],
            "checks": [{"check": f["check_key"], "rule": f["details"].get("rule"),
                        "failures": f["details"].get("failures", [])} for f in report["failed"]],
            "summary": (f"{name}: the figures of the {report['year']} report (version "
                        f"{report['version']}) do not add up: {rules}"),
        }
        finding_id = store.findings.record(FINDING_INCONSISTENT, agency_id=report["agency_id"],
                                          year=report["year"], report_id=report["report_id"],
                                          details=details, dedup_key=key)
        if finding_id is not None:
            new.append({"id": finding_id, "kind": FINDING_INCONSISTENT,
                        "agency_id": report["agency_id"], "year": report["year"],
                        "dedup_key": key, "details": details})
    return new
