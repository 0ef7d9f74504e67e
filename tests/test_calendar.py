"""The legal deadline table and its application to agencies (config/deadlines.py, monitor/calendar.py)."""

from __future__ import annotations

import datetime
import itertools

import pytest

from nianbao.config.deadlines import DEADLINE_RULES, NoDeadline, deadline_for, rule_for
from nianbao.monitor.calendar import StoredAgency, due_date, expected_years

D = datetime.date

LEGAL = [
    # id, kind, report year, override, due
    ("2008-first-year-department", "department", 2008, None, D(2009, 3, 31)),
    ("2008-first-year-government", "government", 2008, None, D(2009, 3, 31)),
    ("2018-last-old-regime-department", "department", 2018, None, D(2019, 3, 31)),
    ("2018-last-old-regime-government", "government", 2018, None, D(2019, 3, 31)),
    ("2019-new-regime-department", "department", 2019, None, D(2020, 1, 31)),
    ("2019-new-regime-government", "government", 2019, None, D(2020, 3, 31)),
    ("2025-department", "department", 2025, None, D(2026, 1, 31)),
    ("2025-government", "government", 2025, None, D(2026, 3, 31)),
    ("2030-still-in-force", "department", 2030, None, D(2031, 1, 31)),
    ("override-earlier-than-law", "government", 2019, "01-15", D(2020, 1, 15)),
    ("override-later-than-law", "department", 2019, "02-28", D(2020, 2, 28)),
    ("override-in-old-regime", "department", 2012, "04-30", D(2013, 4, 30)),
]


@pytest.mark.parametrize("kind, year, override, due", [c[1:] for c in LEGAL], ids=[c[0] for c in LEGAL])
def test_legal_deadline(kind, year, override, due):
    assert deadline_for(kind, year, override) == due
    agency = StoredAgency("a", kind, 2008, override)
    assert due_date(agency, year) == due


def test_no_deadline_before_the_regulations():
    with pytest.raises(NoDeadline):
        rule_for("department", 2007)


def test_rules_never_overlap():
    # The coverage view prefers a kind-specific rule, config.deadlines the first match: with
    # no overlap the two cannot disagree.
    for year, kind in itertools.product(range(2008, 2040), ("department", "government")):
        matching = [r for r in DEADLINE_RULES
                    if r.first_year <= year and (r.last_year is None or year <= r.last_year)
                    and r.agency_kind in (None, kind)]
        assert len(matching) == 1, (year, kind, matching)


YEARS = [
    # id, start_year, as_of, years with a report, expected years
    ("through-last-year", 2019, D(2022, 6, 1), set(), [2019, 2020, 2021]),
    ("this-year-once-reported", 2019, D(2022, 6, 1), {2022}, [2019, 2020, 2021, 2022]),
    ("started-this-year-nothing-yet", 2022, D(2022, 6, 1), set(), []),
    ("started-this-year-early-report", 2022, D(2022, 6, 1), {2022}, [2022]),
    ("starts-after-as-of", 2023, D(2022, 6, 1), {2023}, []),
    ("first-of-january", 2020, D(2022, 1, 1), set(), [2020, 2021]),
]


@pytest.mark.parametrize("start, as_of, reported, expected", [c[1:] for c in YEARS],
                         ids=[c[0] for c in YEARS])
def test_expected_years(start, as_of, reported, expected):
    assert expected_years(StoredAgency("a", "department", start), as_of, reported) == expected
