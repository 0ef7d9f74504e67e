"""The `coverage` SQL view agrees with `nianbao check --json`, row by row and column by column.

An office browsing the store in Datasette must not raise alarms that `check` would not: a
missing report nobody could look for since its deadline (a failing site, an agency never
crawled, a crawl that died, a deadline that passed since the last crawl) is `verified` 0 in
the view as it is `"verified": false` in check. The view computes as of today (in China), so
check runs without --as-of and the stores are built relative to today.
"""

from __future__ import annotations

import datetime
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from nianbao.config.deadlines import deadline_for
from nianbao.monitor.findings import today
from nianbao.storage import AgencyRecord, Store
from nianbao.storage.models import utc_now
from nianbao.storage.part import fetch_all
from tests.conftest import crawl, run_nianbao
from tests.test_coverage import add_report, agency

CHINA = datetime.timezone(datetime.timedelta(hours=8))
SECOND = datetime.timedelta(seconds=1)
DAY = datetime.timedelta(days=1)


def utc(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_ends(day: datetime.date) -> datetime.datetime:
    """The first moment after `day` in China (the deadline day is still on time)."""
    return datetime.datetime.combine(day + DAY, datetime.time(), CHINA)


# -- comparing the view with check -------------------------------------------------------------


def view_rows(db: Path) -> list[dict]:
    connection = sqlite3.connect(db)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in connection.execute(
            "SELECT * FROM coverage ORDER BY agency_id, year")]
    finally:
        connection.close()


def check_rows(config: Path, db: Path) -> list[dict]:
    result = run_nianbao("check", "--config", str(config), "--db", str(db), "--json",
                         "--no-record")
    assert result.returncode == 0, result.stderr
    return sorted(json.loads(result.stdout), key=lambda r: (r["agency_id"], r["year"]))


def as_sql(value):
    """check's JSON value as the view holds it: booleans are 1/0."""
    return int(value) if isinstance(value, bool) else value


def assert_view_is_check(config: Path, db: Path) -> dict[tuple[str, int], dict]:
    """Run check (it also syncs the registry into the store), read the view, compare every
    column check has; return check's rows by (agency, year)."""
    for _ in range(2):  # both sides must see the same day: once more if China's midnight fell between
        day = today()
        checked = check_rows(config, db)
        viewed = view_rows(db)
        if today() == day:
            break
    assert [(r["agency_id"], r["year"]) for r in viewed] == [
        (r["agency_id"], r["year"]) for r in checked]
    for seen, row in zip(viewed, checked, strict=True):
        missing_columns = row.keys() - seen.keys()
        assert not missing_columns, f"the view lacks {sorted(missing_columns)}"
        assert {k: seen[k] for k in row} == {k: as_sql(v) for k, v in row.items()}, (
            row["agency_id"], row["year"])
        assert seen["verified"] in ((0, 1) if row["status"] == "missing" else (None,))
    return {(r["agency_id"], r["year"]): r for r in checked}


def unverified(rows: dict[tuple[str, int], dict]) -> set[tuple[str, int]]:
    """The rows the old view showed as plain `missing` although check holds back."""
    return {key for key, r in rows.items() if r["status"] == "missing" and r["verified"] is False}


# -- (a) the demo portal after a real crawl ---------------------------------------------------


def test_view_is_check_after_a_crawl_of_the_demo_portal(portal, demo_config, db_path):
    crawl(demo_config, db_path)
    rows = assert_view_is_check(demo_config, db_path)
    # the dead site never answered: its missing years are not facts; the others' are
    assert ("demo-dead", 2019) in unverified(rows)
    assert rows[("demo-trs", 2013)]["verified"] is True
    # the pages' printed dates, the listing's for the report that is only a PDF
    assert {r["published_basis"] for r in rows.values()} >= {"printed", "listing"}


def test_view_is_check_when_only_some_demo_agencies_were_crawled(portal, tmp_path):
    # Another registry of the same portal: only two agencies crawled, one of them with its
    # own deadline, which fell yesterday (so its last year's report is missing since today).
    config = tmp_path / "registry.yaml"
    document = yaml.safe_load(portal.write_registry(tmp_path / "all.yaml").read_text("utf-8"))
    yesterday = today() - DAY
    for entry in document["agencies"]:
        if entry["id"] == "demo-hanweb" and yesterday.strftime("%m-%d") != "02-29":
            entry["deadline"] = yesterday.strftime("%m-%d")
    config.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    db = tmp_path / "store" / "nianbao.db"
    crawl(config, db, "--agency", "demo-hanweb", "--agency", "demo-gbk")
    rows = assert_view_is_check(config, db)
    crawled = {"demo-hanweb", "demo-gbk"}
    never = {key for key in unverified(rows) if key[0] not in crawled}
    assert {agency_id for agency_id, _ in never} >= {"demo-trs", "demo-dead"}
    assert not any(key[0] in crawled for key in unverified(rows))


# -- (b) a store with every kind of blind spot ---------------------------------------------------


@dataclass(frozen=True)
class Faults:
    """One version of the faulted store; the two below differ in every surface detail."""

    prefix: str  # of the agency ids
    kind: str  # of every agency: picks the legal deadline
    years_back: int  # the report year looked at is this many years before this year
    listing_failure: tuple[int | None, str | None]  # (HTTP status, error) of a failed listing
    died_early: str  # finish_reason of a crawl that died before reaching the agency
    died_late: str  # ... and of one that died after fetching its listings
    before_end: datetime.timedelta  # a complete crawl this long before the deadline day ended


VARIANTS = [
    pytest.param(Faults("gov-", "government", 2, (500, None), "crashed", "timeout", SECOND),
                 id="governments"),
    pytest.param(Faults("bureau-", "department", 3, (None, "DNSLookupError: no such host"),
                        "timeout", "crashed", datetime.timedelta(hours=9)), id="departments"),
]


def write_config(path: Path, records) -> Path:
    path.write_text(yaml.safe_dump({"agencies": [
        {"id": a.id, "name": a.name, "kind": a.kind, "start_year": a.start_year,
         "sources": list(a.sources), **({"deadline": a.deadline} if a.deadline else {})}
        for a in records]}, allow_unicode=True), encoding="utf-8")
    return path


def listing_crawl(store: Store, at: str | None, outcomes: dict[str, list[tuple]], *,
                  finish_reason: str | None = "finished") -> int:
    """A crawl of the agencies in `outcomes`, each with its listing fetches (status, error);
    finish_reason None leaves it running."""
    crawl_id = store.crawls.start(list(outcomes), at=at)
    for agency_id, fetches in outcomes.items():
        for n, (status, error) in enumerate(fetches):
            store.crawls.log_fetch(crawl_id=crawl_id, agency_id=agency_id,
                                   url=f"https://{agency_id}.example.gov.cn/list_{n}.html",
                                   status=status, error=error, purpose="listing", fetched_at=at)
    if finish_reason:
        store.crawls.finish(crawl_id, finish_reason=finish_reason, stats={}, at=at)
    return crawl_id


def build_faulted_store(tmp_path: Path, f: Faults) -> tuple[Path, Path, dict[str, int]]:
    """Agencies named for their fault -> the report year that fault is about."""
    t = today()
    year = t.year - f.years_back  # its deadline passed last year at the latest
    deadline = deadline_for(f.kind, year)
    ok = [(200, None)]
    failed = [f.listing_failure]
    ids = {name: f.prefix + name for name in (
        "listing-failed", "never-crawled", "crawled-before-deadline", "crawled-after-deadline",
        "crawl-died", "due-yesterday", "due-yesterday-crawled", "due-today", "due-tomorrow")}
    records = [agency(ids[name], f.kind, year) for name in (
        "listing-failed", "never-crawled", "crawled-before-deadline", "crawled-after-deadline",
        "crawl-died")]
    about = {name: year for name in ("listing-failed", "never-crawled",
                                     "crawled-before-deadline", "crawled-after-deadline",
                                     "crawl-died")}
    for name, day in (("due-yesterday", t - DAY), ("due-yesterday-crawled", t - DAY),
                      ("due-today", t), ("due-tomorrow", t + DAY)):
        if day.strftime("%m-%d") == "02-29":
            continue  # not a deadline a registry may give
        about[name] = day.year - 1  # the report year due that day
        records.append(agency(ids[name], f.kind, min(day.year - 1, t.year - 1),
                              day.strftime("%m-%d")))
    config = write_config(tmp_path / "agencies.yaml", records)
    db = tmp_path / "nianbao.db"
    end = day_ends(deadline)
    with Store(db) as store:
        store.agencies.sync(records)
        # before the deadline, all was well
        listing_crawl(store, utc(end - 40 * DAY), {r.id: ok for r in records})
        # the last complete crawl started before the deadline day was over, or just as it ended
        listing_crawl(store, utc(end - f.before_end), {ids["crawled-before-deadline"]: ok})
        listing_crawl(store, utc(end), {ids["crawled-before-deadline"]: ok})
        # a second later: one agency's listing pages all answer, a neighbour's fail (and do
        # again today)
        listing_crawl(store, utc(end + SECOND), {ids["listing-failed"]: ok + failed,
                                                 ids["crawled-after-deadline"]: ok})
        listing_crawl(store, None, {ids["listing-failed"]: failed})
        # crawls that died: before reaching the agency ('failed'), after its listings
        # ('unknown'), a finished crawl that fetched none of them ('unknown'), one still running
        listing_crawl(store, utc(end + DAY), {ids["crawl-died"]: []}, finish_reason=f.died_early)
        listing_crawl(store, None, {ids["crawl-died"]: ok}, finish_reason=f.died_late)
        listing_crawl(store, None, {ids["crawl-died"]: []})
        listing_crawl(store, None, {ids["crawl-died"]: ok}, finish_reason=None)
        outcomes = {r["outcome"] for r in fetch_all(
            store.db, "SELECT outcome FROM crawl_agencies WHERE agency_id = ?",
            (ids["crawl-died"],))}
        assert outcomes == {"ok", "failed", "unknown"}  # the ok one is from before the deadline
        # the deadline day of yesterday: a complete crawl as today began, and one now
        if "due-yesterday" in about:
            listing_crawl(store, utc(day_ends(t - DAY)), {ids["due-yesterday"]: ok})
            listing_crawl(store, utc_now(), {ids["due-yesterday-crawled"]: ok})
        for name in ("due-today", "due-tomorrow"):
            if name in about:
                listing_crawl(store, utc_now(), {ids[name]: ok})
        # reports, so the report columns are compared too: undated and seen after the
        # deadline, dated by the page, counted by the year of its text, taken down
        add_report(store, ids["listing-failed"], year + 1, None, seen=utc_now())
        add_report(store, ids["crawled-after-deadline"], year + 1, f"{year + 2}-01-0{f.years_back}",
                   title_year=year + 2, text_year=year + 1, year_basis="text")
        gone = add_report(store, ids["never-crawled"], year + 1, f"{year + 2}-02-1{f.years_back}")
        url = fetch_all(store.db, "SELECT url FROM reports WHERE id = ?", (gone,))[0]["url"]
        store.history.mark_removed(agency_id=ids["never-crawled"], url=url, http_status=410)
        add_report(store, ids["crawl-died"], t.year, t.isoformat())  # this year's, already out
    return config, db, {ids[name]: y for name, y in about.items()}


@pytest.mark.parametrize("faults", VARIANTS)
def test_view_is_check_on_a_faulted_store(tmp_path, faults):
    config, db, about = build_faulted_store(tmp_path, faults)
    rows = assert_view_is_check(config, db)
    status = {agency_id: (rows[(agency_id, year)]["status"], rows[(agency_id, year)]["verified"])
              for agency_id, year in about.items() if (agency_id, year) in rows}
    p = faults.prefix
    # the old view called all of these plain `missing`
    for name in ("listing-failed", "never-crawled", "crawled-before-deadline", "crawl-died",
                 "due-yesterday"):
        if p + name in about:
            assert status[p + name] == ("missing", False), name
    assert status[p + "crawled-after-deadline"] == ("missing", True)
    if p + "due-yesterday-crawled" in about:
        assert status[p + "due-yesterday-crawled"] == ("missing", True)
    if p + "due-today" in about:
        assert status[p + "due-today"] == ("not_due", None)
    assert status.get(p + "due-tomorrow", ("not_due", None)) == ("not_due", None)
    bases = {r["published_basis"] for r in rows.values()}
    assert bases == {"page", "first_seen", None}
    assert {r["report_status"] for r in rows.values()} == {"live", "removed", None}


def test_view_filters_by_year_and_agency_like_check(tmp_path):
    config, db, about = build_faulted_store(tmp_path, VARIANTS[0].values[0])
    rows = assert_view_is_check(config, db)
    connection = sqlite3.connect(db)
    connection.row_factory = sqlite3.Row
    try:
        for agency_id, year in about.items():
            got = [dict(r) for r in connection.execute(
                "SELECT * FROM coverage WHERE year = ? AND agency_id = ?", (year, agency_id))]
            want = rows.get((agency_id, year))
            assert got == ([{k: as_sql(v) for k, v in want.items()}] if want else [])
    finally:
        connection.close()


def test_a_store_with_the_old_view_is_upgraded(tmp_path):
    # A file made before m006: its coverage view had no verified column and called every
    # unseen report missing. Opening it with this version replaces the view in place.
    from nianbao.storage.db import connect
    from nianbao.storage.migrations import MIGRATIONS

    path = tmp_path / "old.db"
    old = connect(path)
    MIGRATIONS.apply(old, stop_before="m006_coverage_verified")
    old.close()
    records = [agency("zhen-gov", "government", today().year - 3)]
    config = write_config(tmp_path / "agencies.yaml", records)
    with Store(path) as store:
        assert "m006_coverage_verified" in store.applied_migrations
        store.agencies.sync(records)
    rows = assert_view_is_check(config, path)
    missing = {key for key, r in rows.items() if r["status"] == "missing"}
    assert unverified(rows) == missing >= {("zhen-gov", today().year - 3),
                                           ("zhen-gov", today().year - 2)}


# -- (c) reports counted for another agency than the site's, with every date basis -------------


@dataclass(frozen=True)
class Hosting:
    """A host whose column lists others' reports; the two differ in every surface detail.
    Agencies are (id, name, kind, region); issuers are named as titles name them."""

    host: tuple[str, str, str, str]
    issuer_agency: tuple[str, str, str, str]  # in the registry: its reports count for it
    issuer: str  # how the host's column names it
    outsider: str  # an issuer outside the registry
    years_back: int
    bases: tuple[str, str, str]  # of the host's own report, the hosted one, the issuer's own


HOSTINGS = [
    pytest.param(Hosting(("nn-zone", "南宁经济技术开发区管理委员会", "government", "广西壮族自治区南宁市"),
                         ("nn-gov", "南宁市人民政府", "government", "广西壮族自治区南宁市"),
                         "南宁市", "广西壮族自治区人民政府", 2, ("printed", "written", "meta")),
                 id="zone-hosts-city"),
    pytest.param(Hosting(("rd-housing", "如东县住房和城乡建设局", "department", "江苏省南通市如东县"),
                         ("rd-gov", "如东县人民政府", "government", "江苏省南通市如东县"),
                         "县本级", "江苏省人民政府", 3, ("listing", "meta", "printed")),
                 id="department-hosts-county"),
]


@pytest.mark.parametrize("h", HOSTINGS)
def test_view_is_check_with_hosted_reports_and_every_basis(tmp_path, h):
    year = today().year - h.years_back
    records = [AgencyRecord(a_id, name, kind, region, year - 1, (f"https://{a_id}.example.gov.cn/",))
               for a_id, name, kind, region in (h.host, h.issuer_agency)]
    config = tmp_path / "agencies.yaml"
    config.write_text(yaml.safe_dump({"agencies": [
        {"id": r.id, "name": r.name, "kind": r.kind, "region": r.region, "start_year": r.start_year,
         "sources": list(r.sources)} for r in records]}, allow_unicode=True), encoding="utf-8")
    host, issuer = h.host[0], h.issuer_agency[0]
    db = tmp_path / "nianbao.db"
    with Store(db) as store:
        store.agencies.sync(records)
        own, hosted, theirs = h.bases
        add_report(store, host, year, f"{year + 1}-01-1{h.years_back}", published_basis=own)
        # the issuer's report on the host's site, published before its own copy: it counts
        add_report(store, host, year, f"{year + 1}-01-0{h.years_back}", issuer=h.issuer,
                   counts_for=issuer, published_basis=hosted,
                   url=f"https://{host}.example.gov.cn/hosted-{year}.html")
        add_report(store, issuer, year, f"{year + 1}-03-2{h.years_back}", published_basis=theirs)
        # the year before: only on the host's site; and one of an agency outside the registry,
        # recorded by a crawl that took it for the host's (check decides again)
        add_report(store, host, year - 1, None, issuer=h.issuer, counts_for=issuer,
                   url=f"https://{host}.example.gov.cn/hosted-{year - 1}.html")
        add_report(store, host, year - 1, f"{year}-01-05", issuer=h.outsider, counts_for=host,
                   published_basis="printed", url=f"https://{host}.example.gov.cn/outside.html")
    rows = assert_view_is_check(config, db)
    assert (rows[(host, year)]["published_basis"], rows[(host, year)]["hosted_by"]) == (own, None)
    assert (rows[(issuer, year)]["published_basis"], rows[(issuer, year)]["hosted_by"]) == (hosted, host)
    assert (rows[(issuer, year - 1)]["published_basis"], rows[(issuer, year - 1)]["hosted_by"]) == (
        "first_seen", host)
    # neither the hosted report nor the outsider's counts for the host
    assert rows[(host, year - 1)]["status"] == "missing"
