"""One law: `check`'s SQL (storage/coverage_sql.py) against the Python rules it replaces.

The Python rules (monitor/coverage.py, monitor/calendar.py, monitor/findings.py's
`check_in_python`: row by row, finding by finding) are the reference. Random stores, each
copied twice: one copy is checked by SQL, the other by Python, and every row, finding and
failing site must be the same. Stores are built with what a real one holds in the corners:
undated reports (published = first seen, in China), reports counted for another agency
(hosted) or for nobody, ties on the date, work plans, yearless reports, removed reports,
deadline overrides, agencies starting late, this year's early reports, complete and
incomplete crawls before and after deadlines, failing streaks broken by 'unknown' crawls,
and `missing` findings raised earlier whose reports have turned up since.

Small stores run in the normal tests; a national-sized one (`soak`) runs with NIANBAO_SOAK=1.
"""

from __future__ import annotations

import datetime
import json
import random
import shutil
from pathlib import Path

import pytest

from nianbao.config.registry import Agency, Registry
from nianbao.monitor.findings import check, check_in_python, start_check, today
from nianbao.storage import Store

FIRST_SEEN_HOURS = (0, 15, 16, 23)  # around China's midnight (16:00 UTC)


def utc(day: datetime.date, hour: int) -> str:
    return f"{day.isoformat()}T{hour:02d}:00:00Z"


def make_registry(rng: random.Random, agencies: int, first_year: int) -> Registry:
    this_year = today().year
    entries = []
    for n in range(agencies):
        entries.append(Agency(
            id=f"ag-{n:05d}-{rng.choice('xyz')}", name=f"第{n}号机关", region="某省某市",
            kind=rng.choice(("department", "government")),
            start_year=rng.choice((first_year, first_year, first_year + 2, this_year - 1,
                                   this_year)),
            sources=(f"https://h{n % 7}.example.gov.cn/list{n}.html",),
            deadline=rng.choice((None, None, None, "06-30", "01-31", "12-31")),
        ))
    return Registry(path="<test>", agencies=tuple(entries))


def build(db: Path, registry: Registry, rng: random.Random, first_year: int) -> None:
    """A store whose agencies, reports, crawls and findings are random but plausible."""
    with Store(db) as store:
        from nianbao.monitor.findings import sync_registry

        sync_registry(store, registry)
        ids = [a.id for a in registry.agencies]
        # some agencies of an older registry, with history: no longer counted
        store.db.execute("INSERT INTO agencies (id, name, kind, start_year, sources, updated_at, "
                         "in_registry) VALUES ('gone', '旧机关', 'department', 2010, '[]', "
                         "'2020-01-01T00:00:00Z', 0)")
        this_year = today().year
        report_id = 0
        for agency in registry.agencies:
            for year in range(first_year, this_year + 1):
                for _ in range(rng.choice((0, 1, 1, 1, 2, 3))):
                    report_id += 1
                    day = datetime.date(year + 1 if year < this_year else year,
                                        rng.randint(1, 12), rng.randint(1, 28))
                    day = min(day, today())
                    published = rng.choice((day.isoformat(), day.isoformat(), None))
                    seen_day = day + datetime.timedelta(days=rng.choice((0, 0, 1, 40)))
                    seen_day = min(seen_day, today())
                    counts_for = rng.choice((agency.id,) * 8 + (rng.choice(ids), None, "gone"))
                    host = agency.id if counts_for in (agency.id, None, "gone") or \
                        rng.random() < 0.5 else rng.choice(ids)
                    store.db.execute(
                        "INSERT INTO reports (id, agency_id, year, kind, title, url, "
                        "published_date, published_basis, status, first_seen, last_seen, text, "
                        "current_version, content_hash, counts_for, year_basis, title_year) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '正文', 1, 'h', ?, ?, ?)",
                        (report_id, host, rng.choice((year,) * 9 + (None,)),
                         rng.choice(("annual_report",) * 6 + ("other",)),
                         f"{year}年报告{report_id}", f"https://x/{report_id}", published,
                         rng.choice(("printed", "meta", "listing", "written", None))
                         if published else None,
                         rng.choice(("live", "live", "removed")),
                         utc(seen_day, rng.choice(FIRST_SEEN_HOURS)), utc(today(), 1),
                         counts_for, rng.choice(("title", "title", "text")),
                         rng.choice((year, None))))
                if rng.random() < 0.1:  # raised missing before; its report may have turned up
                    store.db.execute(
                        "INSERT INTO findings (kind, agency_id, year, detected_at, details, "
                        "dedup_key) VALUES ('missing', ?, ?, '2020-01-01T00:00:00Z', '{}', ?)",
                        (agency.id, year, f"missing:{agency.id}:{year}"))
        crawl_id = 0
        for n in range(rng.randint(4, 9)):
            crawl_id += 1
            day = datetime.date(rng.randint(first_year + 1, this_year), rng.randint(1, 12),
                                rng.randint(1, 28))
            day = min(day, today())
            store.db.execute("INSERT INTO crawls (id, started_at, finished_at, agency_ids) "
                             "VALUES (?, ?, ?, '[]')", (crawl_id, utc(day, 3), utc(day, 5)))
            for agency_id in rng.sample(ids, k=max(1, len(ids) * 2 // 3)):
                outcome = rng.choice(("ok", "ok", "errors", "errors", "failed", "unknown"))
                store.db.execute(
                    "INSERT INTO crawl_agencies (crawl_id, agency_id, started_at, finished_at, "
                    "finish_reason, listing_fetches, listing_errors, outcome, report_errors) "
                    "VALUES (?, ?, ?, ?, 'finished', 1, ?, ?, ?)",
                    (crawl_id, agency_id, utc(day, rng.choice((3, 16, 17))), utc(day, 5),
                     int(outcome != "ok"), outcome, rng.choice((0, 0, 0, 1))))
        store.db.conn.commit()


CODE = {("on_time", None): "o", ("late", None): "l", ("missing", True): "m",
        ("missing", False): "u", ("not_due", None): "n"}


def cells_of(codes: list[tuple]) -> list[tuple]:
    """The matrix's codes (storage/coverage_sql.MARK_CODES) as (agency, year, status letter,
    year from the text, hosted) per cell."""
    cells = []
    for agency_id, first, code in codes:
        for at in range(0, len(code or ""), 3):
            cells.append((agency_id, first + at // 3, code[at].lower(), code[at + 1] == "t",
                          code[at + 2] == "h"))
    return cells


def compared(findings: list[dict]) -> list[tuple]:
    return sorted((f["kind"], f["agency_id"], f["year"], f["dedup_key"],
                   json.dumps(f["details"], sort_keys=True, ensure_ascii=False))
                  for f in findings)


def stored_findings(db: Path) -> list[tuple]:
    with Store(db) as store:
        return compared(store.findings.rows())


def assert_one_law(tmp_path: Path, seed: int, agencies: int, years: int) -> int:
    rng = random.Random(seed)
    first_year = today().year - years
    registry = make_registry(rng, agencies, first_year)
    sql_db, python_db = tmp_path / f"sql-{seed}.db", tmp_path / f"python-{seed}.db"
    build(sql_db, registry, rng, first_year)
    shutil.copy(sql_db, python_db)
    days = [today(), today() - datetime.timedelta(days=rng.randint(1, 800)),
            today() + datetime.timedelta(days=30)]
    some = [a.id for a in rng.sample(registry.agencies, k=max(1, agencies // 4))]
    rows = 0
    # Twice: the second time after the same changes to both stores, so that the matrix codes
    # the SQL side kept between checks (matrix_codes) are held to the Python rules too.
    for as_of, chosen in [(day, chosen) for day in days for chosen in (None, some)] * 2:
        if (as_of, chosen) == (days[0], None) and rows:
            with Store(sql_db) as store:  # codes of today kept, as a daily check leaves them
                start_check(store, registry, as_of, record=False).mark_codes()
                assert store.db.execute("SELECT count(*) FROM matrix_codes").fetchone()[0]
            change(sql_db, registry, seed)
            change(python_db, registry, seed)
        with Store(sql_db) as store:
            by_sql = check(store, registry, as_of, agency_ids=chosen)
            codes = start_check(store, registry, as_of, agency_ids=chosen,
                                record=False).mark_codes()
        with Store(python_db) as store:
            by_python = check_in_python(store, registry, as_of, agency_ids=chosen)
        assert by_sql.rows == by_python.rows, (seed, as_of)
        assert cells_of(codes) == [(r.agency_id, r.year, CODE[r.status, r.verified],
                                    r.year_basis == "text", r.hosted_by is not None)
                                   for r in by_python.rows], (seed, as_of)
        assert compared(by_sql.new_findings) == compared(by_python.new_findings), (seed, as_of)
        assert {k: [c["id"] for c in v] for k, v in by_sql.failing.items()} == {
            k: [c["id"] for c in v] for k, v in by_python.failing.items()}
        assert by_sql.yearless == by_python.yearless
        assert by_sql.uncounted == by_python.uncounted
        rows += len(by_sql.rows)
    assert stored_findings(sql_db) == stored_findings(python_db)
    return rows


def change(db: Path, registry: Registry, seed: int) -> None:
    """What happens between two checks: new reports (own, hosted, undated), a complete crawl
    of some agencies, a crawl that failed, a missing finding deleted, a report moved to
    another agency."""
    rng = random.Random(seed * 7919)
    ids = [a.id for a in registry.agencies]
    this_year = today().year
    with Store(db) as store:
        next_id = store.db.execute("SELECT coalesce(max(id), 0) + 1 FROM reports").fetchone()[0]
        # reports of agencies not crawled below, so that only the reports' own triggers can
        # tell their kept codes; published early, so that they are the ones that count
        quiet = ids[1::2]
        for n in range(len(ids) // 3):
            counts_for = rng.choice(quiet)
            host = counts_for if rng.random() < 0.8 else rng.choice(quiet)
            year = rng.randint(this_year - 4, this_year - 1)
            day = datetime.date(year + 1, 1, rng.randint(1, 28))
            published = rng.choice((day.isoformat(), None))
            store.db.execute(
                "INSERT INTO reports (id, agency_id, year, kind, title, url, published_date, "
                "published_basis, status, first_seen, last_seen, text, current_version, "
                "content_hash, counts_for, year_basis, title_year) VALUES (?, ?, ?, "
                "'annual_report', ?, ?, ?, ?, 'live', ?, ?, '正文', 1, 'h', ?, 'title', ?)",
                (next_id + n, host, year, f"{year}年报告", f"https://x/new-{next_id + n}",
                 published, published and "printed", utc(day, 3),
                 utc(today(), 1), counts_for, year))
        crawl_id = store.db.execute("SELECT coalesce(max(id), 0) + 1 FROM crawls").fetchone()[0]
        store.db.execute("INSERT INTO crawls (id, started_at, finished_at, agency_ids) "
                         "VALUES (?, ?, ?, '[]')", (crawl_id, utc(today(), 2), utc(today(), 3)))
        for agency_id in ids[::2]:
            outcome = rng.choice(("ok", "ok", "errors"))
            store.db.execute(
                "INSERT INTO crawl_agencies (crawl_id, agency_id, started_at, finished_at, "
                "finish_reason, listing_fetches, listing_errors, outcome, report_errors) "
                "VALUES (?, ?, ?, ?, 'finished', 1, ?, ?, 0)",
                (crawl_id, agency_id, utc(today(), 2), utc(today(), 3), int(outcome != "ok"),
                 outcome))
        store.db.execute("DELETE FROM findings WHERE id IN (SELECT id FROM findings "
                         "WHERE kind = 'missing' ORDER BY id LIMIT 2)")
        store.db.execute("UPDATE reports SET counts_for = ? WHERE id = (SELECT min(id) FROM "
                         "reports WHERE kind = 'annual_report')", (rng.choice(ids),))
        store.db.conn.commit()


@pytest.mark.parametrize("seed", range(6))
def test_sql_check_is_the_python_rules(tmp_path, seed):
    rows = assert_one_law(tmp_path, seed, agencies=30, years=8)
    assert rows > 100  # the stores are not trivially empty


def test_every_status_and_finding_kind_is_exercised(tmp_path):
    """The random stores reach every status, every finding kind and a failing site, so the
    comparison above compares something in each."""
    rng = random.Random(3)
    first_year = today().year - 8
    registry = make_registry(rng, 30, first_year)
    build(tmp_path / "s.db", registry, rng, first_year)
    with Store(tmp_path / "s.db") as store:
        result = check(store, registry, today())
    assert {r.status for r in result.rows} >= {"on_time", "late", "missing"}
    assert {r.verified for r in result.rows if r.status == "missing"} == {True, False}
    assert {f["kind"] for f in result.new_findings} >= {"missing", "late", "turned_up"}
    assert any(r.hosted_by for r in result.rows)
    assert any(r.published_basis == "first_seen" for r in result.rows)


@pytest.mark.soak
def test_sql_check_is_the_python_rules_at_scale(tmp_path):
    """A store of 3,000 agencies x 18 years (about 100,000 reports), every seed's corners."""
    assert_one_law(tmp_path, seed=100, agencies=3000, years=18)


def test_two_halves_on_two_connections_are_the_one_pass(tmp_path, monkeypatch):
    """A large selection's matrix codes are computed in two halves at once; the halves
    joined are the single pass, agency for agency."""
    from nianbao.storage import coverage_reads

    rng = random.Random(7)
    first_year = today().year - 6
    registry = make_registry(rng, 40, first_year)
    build(tmp_path / "s.db", registry, rng, first_year)
    ids = [a.id for a in registry.agencies]
    with Store(tmp_path / "s.db") as store:
        single = store.coverage.mark_codes(ids, today().isoformat())
        monkeypatch.setattr(coverage_reads, "PARALLEL_FROM", 2)
        store.db.execute("DELETE FROM matrix_codes")  # computed again, not read back
        store.db.conn.commit()
        halves = store.coverage.mark_codes(ids, today().isoformat())
    assert [row[0] for row in single] == ids
    assert halves == single


def test_each_issuer_is_resolved_once_per_registry_file(tmp_path):
    """reassign remembers (host, issuer) -> counts_for per registry file: an unchanged
    registry resolves nothing again, a counts_for written otherwise is still corrected, and
    another registry file resolves afresh."""
    with Store(tmp_path / "s.db") as store:
        for agency_id in ("host", "city"):
            store.db.execute("INSERT INTO agencies (id, name, kind, start_year, sources, "
                             "updated_at) VALUES (?, ?, 'government', 2010, '[]', 'x')",
                             (agency_id, agency_id))
        for n, issuer in enumerate(("某市人民政府", "某市人民政府", "外单位")):
            store.db.execute(
                "INSERT INTO reports (agency_id, year, kind, title, url, status, first_seen, "
                "last_seen, text, current_version, content_hash, counts_for, issuer) "
                "VALUES ('host', 2020, 'annual_report', 't', ?, 'live', 'x', 'x', 't', 1, 'h', "
                "'host', ?)", (f"u{n}", issuer))
        store.db.conn.commit()
        asked = []

        def resolve(host, issuer):
            asked.append((host, issuer))
            return {"某市人民政府": "city"}.get(issuer)

        assert store.history.reassign(resolve, "sha-a") == 3
        assert sorted(asked) == [("host", "外单位"), ("host", "某市人民政府")]
        asked.clear()
        assert store.history.reassign(resolve, "sha-a") == 0
        assert asked == []
        # a crawl wrote the host again: corrected from memory, nothing resolved
        store.db.execute("UPDATE reports SET counts_for = 'host' WHERE url = 'u0'")
        store.db.conn.commit()
        assert store.history.reassign(resolve, "sha-a") == 1
        assert asked == []
        assert store.history.reassign(lambda host, issuer: "host", "sha-b") == 3
        counts = [row[0] for row in store.db.execute("SELECT counts_for FROM reports ORDER BY url")]
        assert counts == ["host", "host", "host"]
