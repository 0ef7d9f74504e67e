"""The legal deadlines for annual reports: one small table, so a change in law is one line.

A report for year Y is due on (month, day) of year Y+1, by the first rule whose year range
contains Y and whose agency kind matches (None matches every kind). An agency's own
`deadline: "MM-DD"` in the registry overrides the table (local rules for townships vary).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass


@dataclass(frozen=True)
class DeadlineRule:
    first_year: int  # first report year the rule applies to
    last_year: int | None  # last report year (None: still in force)
    agency_kind: str | None  # 'department', 'government', or None for every agency
    month: int  # the deadline falls on this month and day of year Y+1
    day: int
    basis: str  # the legal source, for people reading the coverage


DEADLINE_RULES: tuple[DeadlineRule, ...] = (
    # 政府信息公开条例 (2008), art. 31: every agency by 31 March.
    DeadlineRule(2008, 2018, None, 3, 31, "政府信息公开条例(2008) 第三十一条"),
    # 2019 revision, art. 49: departments of governments at county level and above by 31 January.
    DeadlineRule(2019, None, "department", 1, 31, "政府信息公开条例(2019修订) 第四十九条"),
    # 2019 revision, art. 49-50: governments at county level and above by 31 March.
    DeadlineRule(2019, None, "government", 3, 31, "政府信息公开条例(2019修订) 第四十九、五十条"),
)

# The 2008 Regulations took effect on 1 May 2008: no report is expected for an earlier year.
FIRST_REPORT_YEAR = min(rule.first_year for rule in DEADLINE_RULES)


class NoDeadline(LookupError):
    """No rule covers this year and kind (a year before the Regulations)."""


def rule_for(agency_kind: str, year: int) -> DeadlineRule:
    for rule in DEADLINE_RULES:
        in_range = rule.first_year <= year and (rule.last_year is None or year <= rule.last_year)
        if in_range and rule.agency_kind in (None, agency_kind):
            return rule
    raise NoDeadline(f"no legal deadline for a {agency_kind}'s report for {year}")


def deadline_for(agency_kind: str, year: int, override: str | None = None) -> datetime.date:
    """The date by which the report for `year` must be published.

    override: the agency's `deadline: "MM-DD"` (a day of year+1), which wins over the table.
    """
    if override:
        month, day = (int(part) for part in override.split("-"))
        return datetime.date(year + 1, month, day)
    rule = rule_for(agency_kind, year)
    return datetime.date(year + 1, rule.month, rule.day)


def parse_month_day(value: str) -> str:
    """Validate "MM-DD" (a real day in every year, so not 02-29); return it normalised."""
    try:
        month, day = (int(part) for part in value.split("-"))
        datetime.date(2001, month, day)
    except (ValueError, TypeError):
        raise ValueError(f"{value!r} is not a day of the year as MM-DD (e.g. 01-31)") from None
    return f"{month:02d}-{day:02d}"
