"""Coverage: for each agency and expected year, was the annual report on time, late, missing?

Expected (monitor.calendar) meets stored (the earliest-published annual report of each agency
and year, `store.coverage.first_annual_reports`) as of one day. Pure: no database, no clock. The
`coverage` SQL view (storage/migrations.py, m007_real_portals) applies the same rules as of
today, and tests/test_coverage.py and tests/test_coverage_view.py check that it agrees with
them and with `nianbao check --json` row for row.

Rules:
- the report that counts for an agency is one counted for it (`reports.counts_for`): its own,
  wherever it was found, and not another agency's report hosted in its column;
- published = the page's own date (the date it prints, else its meta date, else the listing's,
  else a date of writing: crawler/dates.py), else the day nianbao first saw the report;
- on_time: published on or before the deadline (on the deadline day is on time);
- late: published after it;
- missing: no report and as_of is after the deadline (on the deadline day it is not due yet);
- not_due: no report and the deadline has not passed.
A removed report still counts as published; its report_status says it was taken down.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

from nianbao.monitor.calendar import AgencyTerms, due_date, expected_years

ON_TIME = "on_time"
LATE = "late"
MISSING = "missing"
NOT_DUE = "not_due"
STATUSES = (ON_TIME, LATE, MISSING, NOT_DUE)


@dataclass(frozen=True)
class CoverageRow:
    """One agency and year. The report fields are None when no report was found."""

    agency_id: str
    year: int
    status: str  # one of STATUSES
    deadline: datetime.date
    report_id: int | None = None
    published_date: datetime.date | None = None
    # where published_date came from: 'printed', 'meta', 'listing', 'written' (crawler/dates.py),
    # 'page' (stored before these were told apart) or 'first_seen' (the page gave no date)
    published_basis: str | None = None
    report_status: str | None = None  # 'live' or 'removed'
    title: str | None = None
    url: str | None = None
    year_basis: str | None = None  # 'title' or 'text': where the report's year came from
    title_year: int | None = None
    # For a missing report: did a crawl that fetched all the agency's listing pages run
    # after the deadline? Only then is "missing" a fact rather than "not seen yet".
    verified: bool | None = None
    # The agency on whose site the counted report was found, when it is not this agency's own
    # (a city's report in its zone's column counts for the city, hosted by the zone).
    hosted_by: str | None = None

    @property
    def days_late(self) -> int | None:
        if self.published_date is None or self.published_date <= self.deadline:
            return None
        return (self.published_date - self.deadline).days

    def to_json(self) -> dict:
        """A JSON-ready dict; dates as 'YYYY-MM-DD'."""
        data = asdict(self)
        data["deadline"] = self.deadline.isoformat()
        if self.published_date is not None:
            data["published_date"] = self.published_date.isoformat()
        return data


def status_of(published: datetime.date | None, deadline: datetime.date,
              as_of: datetime.date) -> str:
    if published is not None:
        return ON_TIME if published <= deadline else LATE
    return MISSING if as_of > deadline else NOT_DUE


def compute_coverage(
    agencies: Iterable[AgencyTerms],
    first_reports: Iterable[Mapping],
    as_of: datetime.date,
) -> list[CoverageRow]:
    """One CoverageRow per agency (in the order given) and expected year (ascending).

    agencies: objects with id, kind, start_year, deadline (registry Agency, StoredAgency).
    first_reports: `store.coverage.first_annual_reports()` rows; reports of other agencies or of
    years not expected are ignored.
    """
    by_key = {(r["agency_id"], r["year"]): r for r in first_reports}
    reported: dict[str, set[int]] = {}
    for agency_id, year in by_key:
        reported.setdefault(agency_id, set()).add(year)
    rows = []
    for agency in agencies:
        for year in expected_years(agency, as_of, reported.get(agency.id, ())):
            deadline = due_date(agency, year)
            report = by_key.get((agency.id, year))
            if report is None:
                rows.append(CoverageRow(agency.id, year, status_of(None, deadline, as_of),
                                        deadline))
                continue
            published = datetime.date.fromisoformat(report["published_date"])
            rows.append(CoverageRow(
                agency.id, year, status_of(published, deadline, as_of), deadline,
                report_id=report["report_id"], published_date=published,
                published_basis=report["published_basis"],
                report_status=report["report_status"], title=report["title"],
                url=report["url"], year_basis=report["year_basis"],
                title_year=report["title_year"], hosted_by=report.get("hosted_by"),
            ))
    return rows
