"""Which reports are expected of an agency, and by when: the registry meets the legal table.

The law lives in config/deadlines.py (one table); this module only applies it to an agency:
its kind picks the rule, its own `deadline: "MM-DD"` wins over the table, and its start_year
and the day we ask about bound the years. Pure functions, no I/O.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Protocol

from nianbao.config.deadlines import FIRST_REPORT_YEAR, deadline_for


class AgencyTerms(Protocol):
    """What the calendar needs of an agency (config.registry.Agency has it)."""

    id: str
    kind: str
    start_year: int
    deadline: str | None


@dataclass(frozen=True)
class StoredAgency:
    """An agency as read back from the store (`store.agencies.rows`)."""

    id: str
    kind: str
    start_year: int
    deadline: str | None = None
    name: str = ""

    @classmethod
    def from_row(cls, row: Mapping) -> StoredAgency:
        return cls(row["id"], row["kind"], row["start_year"], row["deadline"], row["name"])


def due_date(agency: AgencyTerms, year: int) -> datetime.date:
    """The day the agency's report for `year` is due (its override, else the law)."""
    return deadline_for(agency.kind, year, agency.deadline)


def expected_years(
    agency: AgencyTerms, as_of: datetime.date, reported: Collection[int] = ()
) -> list[int]:
    """The report years to account for as of a day.

    Every year from start_year to the year before `as_of` (its report is due during as_of's
    year or already was), plus as_of's own year when a report for it already appeared
    (reported: the years with a report). Nothing before the Regulations (2008).
    """
    first = max(agency.start_year, FIRST_REPORT_YEAR)
    years = list(range(first, as_of.year))
    if as_of.year >= first and as_of.year in reported:
        years.append(as_of.year)
    return years
