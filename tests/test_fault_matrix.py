"""Never cry wolf under faults: every fault of tests/faults.py, at a listing and at reports.

A monitor that cries wolf is worse than none: one bad night of a portal must not become a
`removed`, a `changed`, a new version or a `missing`. Each scenario here is real crawls
(`nianbao crawl`, child processes) of the fault portal on 127.0.0.1 and `nianbao check --json`
on a real SQLite file; the portal is first crawled without faults, then faults are injected and
what the store holds is compared with what it held before:

- the crawl finishes (exit 0);
- fetch_log has a row with the outcome (status or error) and a readable reason for every
  request that did not yield a page;
- retries follow the policy (RETRY_TIMES more attempts for timeouts, broken bodies and
  500/502/503/429, none for anything else; a Retry-After is waited out);
- the reports, their versions, the findings and the `check --json` rows are what they were;
  evidence of a removal or a suspect text is held in pending_findings and cleared when a later
  crawl sees the page again.

"First" attempt: the fault hits the first request of the path in the crawl and its retry (if
any) gets the normal page. "Every" attempt: each request of the path in the crawl gets it.

The default run keeps one representative of each fault class; the full matrix (every fault x
listing/report x first/every attempt) runs with NIANBAO_SOAK=1 (marker `soak`).
"""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import yaml

from nianbao.demo.site import Page, hanweb_article, paragraphs
from tests.conftest import FAST_SETTINGS, REPO, crawl, run_nianbao
from tests.faults import (
    AGENCY, AGENCY_ID, FAULTS, HOME, LISTING, LISTING_2, PUBLISHED, REPORTS, SITE_NAME, Fault,
    report_title,
)

FIRST, EVERY = "first", "every"
REPORT_PATHS = tuple(REPORTS.values())
RETRY_TIMES = 1  # tests/conftest.py FAST_SETTINGS
REDIRECT_MAX_TIMES = 10  # crawler/settings.py

# What the whole module did, printed at its end (the counts the issue asks for).
COUNTS: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _print_counts(request):
    yield
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture is not None and COUNTS:
        with capture.global_and_fixture_disabled():
            print(f"\nfault matrix: {COUNTS['faults']} faults injected, {COUNTS['crawls']} crawls run")


# --- second fixtures: the same kinds of fault, other surface details --------------------------

def _answer(name: str, html: str, encoding: str = "utf-8", content_type: str | None = None) -> Fault:
    fault = Fault.status(200, body=html.encode(encoding),
                         content_type=content_type or f"text/html; charset={encoding}")
    return replace(fault, name=name)


FRAME_HEAD = f"""<div class="head"><a href="/">{SITE_NAME}</a> | <a href="/zwgk/">政务公开</a> | <a href="/hdjl/">互动交流</a></div>"""
FRAME_FOOT = f"""<div class="foot">主办：{SITE_NAME}办公室　网站标识码：3413000017</div>"""

# A rate limiter in GBK whose words are none of those page_kinds knows.
BLOCK_OTHER_WORDS = _answer("block page (other wording, GBK)", """<html><head>
<meta http-equiv="Content-Type" content="text/html; charset=gbk"><title>温馨提示</title></head>
<body><div class="tip"><p>您的IP（127.0.0.1）在短时间内请求次数过多，暂时无法浏览本站内容。</p>
<p>请30分钟后重新打开本页面。</p></div></body></html>""", "gbk")
# The same kind of page in traditional characters.
BLOCK_TRADITIONAL = _answer("block page (traditional)", """<!DOCTYPE html><html><head><meta charset="utf-8">
<title>系統提示</title></head><body><div class="msg"><h2>您的訪問過於頻繁</h2><p>為保障網站安全，請稍後再試。</p>
</div></body></html>""")
# Soft 404s: traditional characters in a GBK page; a removed article in the portal's own frame.
SOFT_404_TRADITIONAL_GBK = _answer("soft 404 (traditional, GBK)", """<html><head>
<meta http-equiv="Content-Type" content="text/html; charset=gbk"><title>錯誤提示</title></head><body>
<div class="main"><div class="crumb">當前位置：<a href="/">首頁</a></div>
<h3>對不起，您查找的信息已經刪除或不存在！</h3><p><a href="/">返回首頁</a></p></div></body></html>""", "gbk")
SOFT_404_FRAME = _answer("soft 404 (稿件已被移除, site frame)", f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>{SITE_NAME}</title></head><body>{FRAME_HEAD}
<div class="pos">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a></div>
<div class="article"><p class="tip">该稿件已被移除。</p><p>如有疑问，请联系网站管理员。</p></div>
{FRAME_FOOT}</body></html>""")
# Home pages under other paths than /.
HOME_PATHS = ("/index.jsp", "/portal/index.html")
REDIRECT_HOME_JSP = Fault.redirect("{base}/index.jsp", name="redirect home (/index.jsp)")
REDIRECT_HOME_PORTAL = Fault.redirect("{base}/portal/index.html", code=301,
                                      name="redirect home (/portal/index.html)")
# An API gateway's rate limit as a JSON answer with status 200.
JSON_200 = _answer("200 JSON rate limit", json.dumps(
    {"success": False, "errCode": "FREQUENT", "errMsg": "請求過於頻繁"}, ensure_ascii=False),
    content_type="application/json")

SECOND_FIXTURES = (BLOCK_OTHER_WORDS, BLOCK_TRADITIONAL, SOFT_404_TRADITIONAL_GBK, SOFT_404_FRAME,
                   REDIRECT_HOME_JSP, REDIRECT_HOME_PORTAL, JSON_200)


def home_page(path: str) -> Page:
    html = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{SITE_NAME}门户网站</title></head><body>
{FRAME_HEAD}<div class="banner"><h1>{SITE_NAME}</h1></div>
<ul class="news"><li><a href="/xwzx/1.html">县政府召开常务会议研究部署当前重点工作</a></li>
<li><a href="{LISTING}">政府信息公开年度报告</a></li></ul>{FRAME_FOOT}</body></html>"""
    return Page(html.encode("utf-8"))


# --- what each fault does to one request ---------------------------------------------------------

@dataclass(frozen=True)
class Expect:
    """What a fault at a path does to the crawl's requests of it.

    listing / report: a regex that the fetch_log row of the failed request matches (on
    "<status> <error>"); None when the request yields its page after all.
    """

    listing: str | None
    report: str | None
    retried: bool = False  # RETRY_TIMES more attempts
    wait: float = 0.0  # at least this long between an attempt and its retry (Retry-After)
    gone: str | None = None  # at a report: the removal evidence it is (pending reason regex)
    loop: bool = False  # a redirect to itself


DOWNLOAD_TIMEOUT = r"DownloadTimeoutError: Getting .* took longer than"
DATA_LOSS = r"ResponseDataLossError: the connection closed before the whole body arrived"
NOT_A_LISTING = r"not a listing: "


def expect(fault: Fault) -> Expect:
    name = fault.name
    if name.startswith("delay"):
        return Expect(None, None)
    if name in ("timeout",) or name.startswith("slow"):
        return Expect(DOWNLOAD_TIMEOUT, DOWNLOAD_TIMEOUT, retried=True)
    if name in ("reset mid-body", "truncated body"):
        return Expect(DATA_LOSS, DATA_LOSS, retried=True)
    if match := re.match(r"(\d{3})\b", name):
        code = int(match.group(1))
        if code == 200:  # a 200 that is an error message (octet-stream, PDF-typed, JSON)
            reason = r"not a document|JSON answer|block_page|not the report"
            return Expect(NOT_A_LISTING, reason)
        waits = code in (429, 503) and "Retry-After" in name
        return Expect(rf"^{code}\b", rf"^{code}\b", retried=code in (500, 502, 503, 429),
                      wait=(1.0 if "date" in name else 1.9) if waits else 0.0,
                      gone=rf"http_{code}" if code in (404, 410) else None)
    if name == "redirect loop":
        return Expect(r"redirect loop", r"max redirections", loop=True)
    if name in ("redirect off host", "redirect off port"):
        reason = r"IgnoreRequest: offsite: (host localhost|port \d+) not configured"
        return Expect(reason, reason)
    if name.startswith("redirect home"):
        return Expect(r"redirected to .*, not a listing", r"gone: redirect_home", gone="redirect_home")
    if name.startswith("oversized"):
        return Expect(NOT_A_LISTING, r"truncated: the page ends before </body></html>, the stored one did not")
    if name.startswith("gzip bomb"):
        reason = r"discarded after download: .*exceeded DOWNLOAD_MAXSIZE"
        return Expect(reason, reason)
    if name.startswith("invalid"):
        # the decoder recovers what it can (NULs dropped, other-charset runs read, the rest
        # dropped and counted): the report yields its page; a text the damage changed is held
        return Expect(NOT_A_LISTING, None)
    if name.startswith("binary garbage"):
        # the decoder drops what no charset reads: what is left is no listing, and no report
        return Expect(NOT_A_LISTING + "(undecodable|no list entries)", r"undecodable|truncated|extraction failed")
    if name.startswith("empty"):
        return Expect(NOT_A_LISTING + "empty page", r"empty page")
    if name.startswith("soft 404"):
        return Expect(NOT_A_LISTING + "(soft 404|redirected to)", r"gone: (soft_404|redirect_home)",
                      gone="soft_404|redirect_home")
    if name.startswith("block page"):
        return Expect(NOT_A_LISTING, r"block_page|not the report")
    raise AssertionError(f"no expectation for fault {name!r}: add it here")


def test_every_fault_of_the_catalogue_has_an_expectation():
    """A fault added to tests/faults.py joins the matrix only with what it should do."""
    for fault in (*FAULTS, *SECOND_FIXTURES):
        expect(fault)


# --- the portal under test -------------------------------------------------------------------------

class Portal:
    """The fault portal, its registry and store; crawls, checks and what they left."""

    def __init__(self, server, tmp_path: Path, domains: tuple[str, ...] = ()):
        self.server = server
        for path in HOME_PATHS:
            server.set_page(path, home_page(path))
        agency = {**server.agency(), "domains": list(domains)}
        self.config = tmp_path / "agencies.yaml"
        self.config.write_text(yaml.safe_dump({"agencies": [agency]}, allow_unicode=True), encoding="utf-8")
        self.db = tmp_path / "nianbao.db"

    # --- acting -------------------------------------------------------------------------
    def crawl(self) -> int:
        crawl(self.config, self.db)
        COUNTS["crawls"] += 1
        return self.query("SELECT max(id) AS id FROM crawls")[0]["id"]

    def check(self) -> list[dict]:
        result = run_nianbao("check", "--json", "--config", str(self.config), "--db", str(self.db))
        assert result.returncode == 0, result.stderr[-2000:]
        return json.loads(result.stdout)

    def inject(self, path: str, fault: Fault, mode: str = EVERY) -> None:
        COUNTS["faults"] += 1
        if mode == EVERY:
            self.server.always(path, fault)
        else:  # the next request of the path gets the fault, the ones after it the normal page
            self.server.script(path, *[None] * len(self.server.hits_for(path)), fault)

    def heal(self, *paths: str) -> None:
        for path in paths:
            self.server.script(path)

    # --- reading --------------------------------------------------------------------------
    def query(self, sql: str, params=()) -> list[dict]:
        connection = sqlite3.connect(self.db)
        connection.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in connection.execute(sql, params)]
        finally:
            connection.close()

    def state(self) -> dict:
        """What a false finding would change: reports, versions, findings."""
        return {
            "reports": {row["url"].removeprefix(self.server.base_url): (
                row["status"], row["current_version"], row["content_hash"])
                for row in self.query("SELECT url, status, current_version, content_hash FROM reports")},
            "versions": self.query("SELECT count(*) AS n FROM versions")[0]["n"],
            "findings": [(row["kind"], row["year"], row["url"] or row["dedup_key"]) for row in self.query(
                "SELECT kind, year, json_extract(details, '$.url') AS url, dedup_key FROM findings ORDER BY id")],
        }

    def outcome(self, crawl_id: int) -> dict:
        (row,) = self.query("SELECT * FROM crawl_agencies WHERE crawl_id = ?", (crawl_id,))
        return row

    def pending(self) -> list[dict]:
        return self.query("SELECT p.kind, p.reason, r.url FROM pending_findings p JOIN reports r "
                          "ON r.id = p.report_id WHERE p.resolved_at IS NULL ORDER BY p.id")

    def fetch_rows(self, crawl_id: int, path: str) -> list[str]:
        """'<status> <error>' of the crawl's fetch_log rows about a path: its own, and those of
        its redirects (which name it)."""
        url = self.server.url(path)
        return [f"{row['status']} {row['error'] or ''}".strip() for row in self.query(
            "SELECT status, error FROM fetch_log WHERE crawl_id = ? AND (url = ? OR instr(error, ?) > 0) "
            "ORDER BY id", (crawl_id, url, url))]

    def attempts(self, path: str) -> list:
        return self.server.hits_for(path)


def differences(before: dict, after: dict) -> str:
    lines = []
    for url in sorted(set(before["reports"]) | set(after["reports"])):
        if before["reports"].get(url) != after["reports"].get(url):
            lines.append(f"report {url}: {before['reports'].get(url)} -> {after['reports'].get(url)}")
    if before["versions"] != after["versions"]:
        lines.append(f"versions: {before['versions']} -> {after['versions']}")
    new = Counter(after["findings"]) - Counter(before["findings"])
    lines += [f"new finding: {finding}" for finding in new.elements()]
    return "\n".join(lines)


def assert_nothing_changed(portal: Portal, baseline: dict, baseline_rows: list[dict], when: str) -> None:
    rows = portal.check()
    state = portal.state()
    assert state == baseline, f"{when}: false findings\n{differences(baseline, state)}"
    assert rows == baseline_rows, f"{when}: `nianbao check --json` rows changed"


@pytest.fixture
def portal(fault_server, tmp_path) -> Portal:
    return Portal(fault_server, tmp_path)


@pytest.fixture
def good(portal):
    """The portal after a good first crawl and a check: (state, check rows)."""
    crawl_id = portal.crawl()
    assert portal.outcome(crawl_id)["outcome"] == "ok"
    rows = portal.check()
    state = portal.state()
    assert len(state["reports"]) == len(REPORTS) and state["versions"] == len(REPORTS)
    return state, rows


# --- the matrix -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    fault: Fault
    target: str  # "listing" or "report"
    mode: str  # FIRST or EVERY

    def __str__(self) -> str:
        return f"{self.fault.name} at the {self.target}, {self.mode} attempt"


def _yields_page(case: Case) -> bool:
    """Does the crawl read the page after all (a retry or a redirect gets the normal page)?"""
    spec = expect(case.fault)
    if spec.listing is None:
        return True
    if case.mode != FIRST:
        return False
    return spec.retried or (spec.loop and case.target == "report")


def expected_attempts(case: Case) -> int:
    spec = expect(case.fault)
    if spec.loop and case.target == "report":  # report requests skip the duplicate filter
        return 2 if case.mode == FIRST else REDIRECT_MAX_TIMES + 1
    if spec.retried:
        return 1 + RETRY_TIMES
    return 1


def assert_fault_handled(portal: Portal, crawl_id: int, case: Case, path: str, hits_before: int) -> None:
    spec = expect(case.fault)
    hits = portal.attempts(path)[hits_before:]
    assert len(hits) == expected_attempts(case), f"{case}: {len(hits)} requests of {path}"
    if len(hits) > 1 and spec.retried:
        gap = hits[1].at - hits[0].at
        assert gap >= max(spec.wait, 0.04), f"{case}: the retry came {gap:.2f}s after the first attempt"
    rows = portal.fetch_rows(crawl_id, path)
    reason = spec.listing if case.target == "listing" else spec.report
    if case.mode == FIRST and spec.loop and case.target == "report":
        reason = r"^302"  # one redirect, then the page
    if reason is not None:
        assert any(re.search(reason, row) for row in rows), f"{case}: fetch_log says {rows}"
    if case.target == "listing":
        outcome = portal.outcome(crawl_id)
        assert outcome["outcome"] == ("ok" if _yields_page(case) else "errors"), f"{case}: {outcome}"


def schedule(cases: list[Case]) -> list[list[Case]]:
    """Crawls of cases that do not interfere: one listing fault per crawl; up to one fault per
    report URL, at most two of them evidence of a removal (three make a wave: a site problem)."""
    batches = [[case] for case in cases if case.target == "listing"]
    reports: list[list[Case]] = []
    for case in sorted((c for c in cases if c.target == "report"),
                       key=lambda c: expected_attempts(c) > 1):  # the slow ones together
        for batch in reports:
            gone = sum(1 for c in batch if expect(c.fault).gone)
            if len(batch) < len(REPORT_PATHS) and not (expect(case.fault).gone and gone >= 2):
                batch.append(case)
                break
        else:
            reports.append([case])
    return batches + reports


def run_matrix(portal: Portal, baseline: tuple[dict, list[dict]], cases: list[Case]) -> None:
    """Crawl with each batch of faults, then (after report faults, or two failing listings in a
    row) without; check everything after each crawl. Problems are collected and reported
    together, each once: after a false finding, later crawls are compared with the new state."""
    state, rows = baseline
    problems: list[str] = []

    def verify(check, *args) -> None:
        try:
            check(*args)
        except AssertionError as problem:
            problems.append(str(problem).split("\nassert ")[0])

    def unchanged(when: str) -> None:
        nonlocal state, rows
        now_rows, now = portal.check(), portal.state()
        if now != state or now_rows != rows:
            problems.append(f"{when}: false findings\n{differences(state, now)}"
                            + ("" if now_rows == rows else "\n`nianbao check --json` rows changed"))
            state, rows = now, now_rows

    failing_listings = 0
    for batch in schedule(cases):
        paths = REPORT_PATHS if batch[0].target == "report" else (LISTING,)
        targets = dict(zip(paths, batch))
        for path, case in targets.items():
            portal.inject(path, case.fault, case.mode)
        hits_before = {path: len(portal.attempts(path)) for path in targets}
        crawl_id = portal.crawl()
        names = ", ".join(map(str, batch))
        for path, case in targets.items():
            verify(assert_fault_handled, portal, crawl_id, case, path, hits_before[path])
            spec = expect(case.fault)
            if case.target == "report" and spec.gone and not _yields_page(case):
                reasons = [p["reason"] for p in portal.pending() if p["url"] == portal.server.url(path)]
                if not (reasons and re.fullmatch(spec.gone, reasons[0])):
                    problems.append(f"{case}: held as {reasons}, not as evidence of a removal")
        unchanged(f"after {names}")
        portal.heal(*targets)
        failing_listings = failing_listings + 1 if portal.outcome(crawl_id)["outcome"] != "ok" else 0
        # Recover after each report batch, and after two failing listings (a third in a row
        # would rightly raise site_failing).
        if batch[0].target == "report" or failing_listings == 2:
            crawl_id = portal.crawl()
            failing_listings = 0
            if portal.outcome(crawl_id)["outcome"] != "ok":
                problems.append(f"the crawl after {names} was not complete: {portal.outcome(crawl_id)}")
            unchanged(f"after the crawl that followed {names}")
            if portal.pending():
                problems.append(f"evidence not cleared after {names}: {portal.pending()}")
    assert not problems, "\n".join(problems)


def _cases(faults, target: str, mode: str) -> list[Case]:
    return [Case(fault, target, mode) for fault in faults]


# One representative of each fault class (network, status, anti-bot, redirect, body, encoding).
SAMPLE_LISTING = [
    Case(Fault.reset_mid_body(), "listing", EVERY),
    Case(Fault.status(503, retry_after=2), "listing", FIRST),  # the retry reads it
    Case(Fault.ruishu(), "listing", EVERY),
    Case(Fault.redirect_loop(), "listing", EVERY),
    Case(Fault.redirect_off_host(), "listing", EVERY),
    Case(Fault.invalid_utf8(), "listing", EVERY),  # an article page where the listing was
    Case(Fault.octet_stream(), "listing", EVERY),
    Case(BLOCK_TRADITIONAL, "listing", EVERY),
]
SAMPLE_REPORT = [
    Case(Fault.timeout(), "report", FIRST),
    Case(Fault.truncated(), "report", EVERY),
    Case(Fault.too_many_requests(retry_after=2), "report", EVERY),
    Case(Fault.jiasule(), "report", EVERY),
    Case(Fault.not_found(), "report", EVERY),
    Case(Fault.redirect_loop(), "report", EVERY),
    Case(Fault.redirect_off_port(), "report", EVERY),
    Case(REDIRECT_HOME_PORTAL, "report", EVERY),
    Case(Fault.oversized(4 << 20), "report", EVERY),
    Case(Fault.gzip_bomb(), "report", EVERY),
    Case(Fault.invalid_gbk(), "report", EVERY),
    Case(Fault.binary_garbage(), "report", EVERY),
    Case(Fault.empty(), "report", EVERY),
    Case(Fault.block_page(1), "report", EVERY),
    Case(Fault.pdf_error(), "report", EVERY),
    Case(Fault.octet_stream(), "report", EVERY),
    Case(JSON_200, "report", EVERY),
]


def test_a_sample_of_listing_faults_after_a_good_crawl(portal, good):
    run_matrix(portal, good, SAMPLE_LISTING)


def test_a_sample_of_report_faults_after_a_good_crawl(portal, good):
    run_matrix(portal, good, SAMPLE_REPORT)


@pytest.mark.soak
@pytest.mark.parametrize("mode", [FIRST, EVERY])
@pytest.mark.parametrize("target", ["listing", "report"])
def test_the_whole_fault_matrix(portal, good, target, mode):
    run_matrix(portal, good, _cases((*FAULTS, *SECOND_FIXTURES), target, mode))


# --- 1. a useless listing is no complete crawl ---------------------------------------------------------

# The listing faults the issue names, then second fixtures of the same kinds.
USELESS_LISTINGS = [
    Fault.block_page(0), Fault.empty(), Fault.binary_garbage(), Fault.soft_404(0), Fault.redirect_home(),
    Fault.redirect_off_host(), Fault.gzip_bomb(), Fault.redirect_loop(),
    BLOCK_OTHER_WORDS, SOFT_404_TRADITIONAL_GBK, REDIRECT_HOME_JSP,
]


def _useless_listings_of_a_new_agency(portal: Portal, faults) -> None:
    """A new agency (no good crawl yet) whose listing answers uselessly in every crawl: its
    reports are not `missing` (nobody could look for them) and after SITE_FAILING_AFTER crawls
    the site is reported failing, once."""
    for number, fault in enumerate(faults, 1):
        portal.inject(LISTING, fault)
        crawl_id = portal.crawl()
        rows = portal.check()
        kinds = Counter(finding[0] for finding in portal.state()["findings"])
        assert kinds["missing"] == 0, f"{fault}: `missing` raised without a complete crawl"
        missing = [row for row in rows if row["status"] == "missing"]
        assert missing and all(row["verified"] is False for row in missing), fault
        outcome = portal.outcome(crawl_id)
        assert outcome["outcome"] == "errors", f"{fault}: {outcome}"
        assert kinds["site_failing"] == (1 if number >= 3 else 0), f"{fault}: {kinds}"
        log = portal.fetch_rows(crawl_id, LISTING)
        assert any(re.search(expect(fault).listing, row) for row in log), f"{fault}: fetch_log says {log}"
        portal.heal(LISTING)


def test_useless_listings_of_a_new_agency_raise_no_missing_then_site_failing(portal):
    _useless_listings_of_a_new_agency(portal, USELESS_LISTINGS)


@pytest.mark.soak
def test_every_useless_listing_of_a_new_agency(portal):
    faults = [f for f in (*FAULTS, *SECOND_FIXTURES) if expect(f).listing is not None]
    _useless_listings_of_a_new_agency(portal, faults)


# --- 2. one crawl of 404s removes nothing; a confirmed one removes one report ----------------------------

@pytest.mark.parametrize("faults", [
    pytest.param({LISTING: Fault.not_found(), LISTING_2: Fault.not_found(),
                  **{path: Fault.not_found() for path in REPORT_PATHS}}, id="redesign-every-old-url-404"),
    pytest.param({LISTING: Fault.status(500), **{path: Fault.not_found() for path in REPORT_PATHS}},
                 id="listing-500-reports-404"),
    pytest.param({path: Fault.gone() for path in REPORT_PATHS}, id="healthy-listing-every-report-410"),
])
def test_a_crawl_of_404s_removes_no_report(portal, good, faults):
    state, rows = good
    for path, fault in faults.items():
        portal.inject(path, fault)
    for _ in range(2):  # a later crawl that sees the same must not confirm a site problem either
        crawl_id = portal.crawl()
        assert_nothing_changed(portal, state, rows, f"after {faults[REPORT_PATHS[0]]} everywhere")
        outcome = portal.outcome(crawl_id)
        assert outcome["outcome"] == "errors", outcome
        if LISTING not in faults:  # the listings were fine: the wave of gone reports says why
            assert outcome["gone_reports"] == len(REPORTS) and "site problem" in outcome["note"]
    portal.heal(*faults)
    assert portal.outcome(portal.crawl())["outcome"] == "ok"
    assert_nothing_changed(portal, state, rows, "after the site came back")
    assert portal.pending() == []


@pytest.mark.parametrize("faults, reasons", [
    pytest.param((Fault.not_found(), Fault.gone()), ("http_404", "http_410"), id="404-410"),
    pytest.param((Fault.soft_404(2), SOFT_404_TRADITIONAL_GBK), ("soft_404", "soft_404"), id="soft-404"),
    pytest.param((Fault.redirect_home(), REDIRECT_HOME_PORTAL), ("redirect_home", "redirect_home"),
                 id="redirect-home"),
])
def test_a_report_gone_from_a_healthy_site_is_removed_when_a_later_crawl_confirms_it(portal, good, faults, reasons):
    state, rows = good
    paths = (REPORTS[2023], REPORTS[2019])
    for path, fault in zip(paths, faults):
        portal.inject(path, fault)
    portal.crawl()
    assert_nothing_changed(portal, state, rows, "after one crawl of gone answers")
    held = sorted((p["url"], p["reason"]) for p in portal.pending())
    crawl_id = portal.crawl()
    assert not [f for f in portal.state()["findings"] if f[0] == "changed"], "a gone page became a version"
    removed = portal.query("SELECT r.url, f.details FROM findings f JOIN reports r ON r.id = f.report_id "
                           "WHERE f.kind = 'removed' AND f.crawl_id = ?", (crawl_id,))
    expected = sorted((portal.server.url(path), reason) for path, reason in zip(paths, reasons))
    assert sorted((row["url"], json.loads(row["details"])["reason"]) for row in removed) == expected
    assert held == expected  # after one crawl: held as evidence, with its reason
    statuses = {url: status for url, (status, _, _) in portal.state()["reports"].items()}
    assert statuses == {path: "removed" if path in paths else "live" for path in REPORT_PATHS}
    after = portal.check()  # a removed report was published: nothing becomes missing
    assert [(r["year"], r["status"]) for r in after] == [(r["year"], r["status"]) for r in rows]
    assert not [f for f in portal.state()["findings"] if f[0] == "missing" and f not in state["findings"]]


# --- 3. an error answer is never a new version; a real correction is never lost ------------------------

SHORT = REPORTS[2019]  # a report whose page only points to its attachment
CORRECTED = REPORTS[2020]
CORRECTED_GBK = REPORTS[2018]


def short_report() -> Page:
    body = ('<p>根据《中华人民共和国政府信息公开条例》规定，现公布本局2019年政府信息公开工作年度报告，详见附件。</p>'
            '<p>附件：<a href="/zwgk/ndbg/202001/P020200121.pdf">示范县交通运输局2019年政府信息公开工作年度报告.pdf</a></p>')
    return Page(hanweb_article(report_title(2019), PUBLISHED[2019], body, site=AGENCY).encode("utf-8"))


def corrected(year: int, text: str, encoding: str = "utf-8") -> Page:
    """The report's page with the same title and a much shorter text: a real correction."""
    page = hanweb_article(report_title(year), PUBLISHED[year], paragraphs(text), site=AGENCY)
    if encoding != "utf-8":
        page = page.replace("charset=utf-8", f"charset={encoding}")
    return Page(page.encode(encoding), content_type=f"text/html; charset={encoding}")


@pytest.fixture
def with_short_report(portal):
    portal.server.set_page(SHORT, short_report())
    return portal


# An HTML error typed as a download, and a PDF-typed error in traditional characters.
DOWNLOAD_ERROR = replace(Fault.status(200, body=b"Error 500: File not found: /upload/2023/t20240126_61873.html",
                                      content_type="application/x-download"), name="200 x-download error")
PDF_ERROR_TRADITIONAL = replace(Fault.status(200, body="<html><body><p>檔案暫時無法下載，請稍後再試。</p></body></html>"
                                             .encode("utf-8"), content_type="application/pdf"),
                                name="200 PDF-typed error (traditional)")


@pytest.mark.parametrize("errors, correction", [
    pytest.param({REPORTS[2023]: Fault.octet_stream(), REPORTS[2022]: Fault.pdf_error(),
                  REPORTS[2021]: Fault.truncated(), SHORT: BLOCK_OTHER_WORDS},
                 (CORRECTED, corrected(2020, "本报告第二部分数据有误，已更正，更正后的报告详见附件。")), id="errors"),
    pytest.param({REPORTS[2023]: DOWNLOAD_ERROR, REPORTS[2022]: PDF_ERROR_TRADITIONAL,
                  REPORTS[2021]: Fault.reset_mid_body(), SHORT: Fault.too_many_requests(json_body=True),
                  REPORTS[2020]: JSON_200},
                 (CORRECTED_GBK, corrected(2018, "现将本局2018年度报告全文以附件形式公布，详见附件。", "gbk")),
                 id="second-fixtures"),
])
def test_error_answers_never_become_versions_and_a_correction_is_recorded_when_confirmed(
        with_short_report, errors, correction):
    portal = with_short_report
    portal.crawl()
    rows = portal.check()
    state = portal.state()
    path, page = correction
    for error_path, fault in errors.items():
        portal.inject(error_path, fault)
    portal.server.set_page(path, page)
    for number in (1, 2):  # the same error answers on two crawls: still not the report
        crawl_id = portal.crawl()
        now = portal.state()
        wrong = {url: value for url, value in now["reports"].items() if url != path and value != state["reports"][url]}
        assert wrong == {}, f"crawl {number}: error answers became versions\n{differences(state, now)}"
        changed = [f for f in now["findings"] if f[0] == "changed"]
        if number == 1:  # the correction is held, not lost
            assert now == state, differences(state, now)
            assert [(p["url"], p["kind"]) for p in portal.pending()] == [(portal.server.url(path), "change")], portal.fetch_rows(crawl_id, path)
            assert any(row.startswith("None held: shrank") for row in portal.fetch_rows(crawl_id, path))
        else:  # seen again: recorded, with what was held
            assert [f[2] for f in changed] == [portal.server.url(path)]
            assert now["reports"][path][1] == 2 and now["versions"] == state["versions"] + 1
        for error_path, fault in errors.items():
            log = portal.fetch_rows(crawl_id, error_path)
            assert any(re.search(expect(fault).report, row) for row in log), f"{fault}: {log}"
    (details,) = portal.query("SELECT details FROM findings WHERE kind = 'changed'")
    assert json.loads(details["details"])["held"]["reason"].startswith("shrank")
    (text,) = portal.query("SELECT text FROM reports WHERE url = ?", (portal.server.url(path),))
    assert "详见附件" in text["text"]
    portal.heal(*errors)
    portal.crawl()
    assert portal.pending() == []
    assert [(r["year"], r["status"]) for r in portal.check()] == [(r["year"], r["status"]) for r in rows]


# --- redirects within the agency's configured origins ----------------------------------------------------

@pytest.mark.parametrize("moved", [
    pytest.param(lambda path: (Fault.redirect_off_host(), None), id="same-path-on-a-configured-host"),
    pytest.param(lambda path: (Fault.redirect("{alias}/moved" + path, code=301, name="moved"), "/moved" + path),
                 id="new-path-on-a-configured-host"),
])
def test_a_report_redirected_to_a_configured_host_is_read_not_gone(fault_server, tmp_path, moved):
    """A site that moved its reports to another of the agency's hosts still has them."""
    portal = Portal(fault_server, tmp_path, domains=(f"localhost:{fault_server.port}",))
    portal.crawl()
    rows, state = portal.check(), portal.state()
    path = REPORTS[2022]
    fault, new_path = moved(path)
    if new_path:
        fault_server.set_page(new_path, fault_server.site.pages[path])
    for _ in range(2):
        portal.inject(path, fault, FIRST)  # the redirect; the page (on the other host) is normal
        portal.crawl()
    assert_nothing_changed(portal, state, rows, f"after two crawls of {fault}")
    assert portal.pending() == []
    assert fault_server.hits_for(new_path or path)[-1].host == f"localhost:{fault_server.port}"


# --- kills ----------------------------------------------------------------------------------------------

def test_a_crawl_killed_midway_counts_for_nothing(portal, good):
    """A crawl killed (SIGKILL) after it noted a report gone: no finding, and its evidence is
    not counted; the next two crawls that see the report gone remove it."""
    state, rows = good
    gone = REPORTS[2023]
    portal.inject(gone, Fault.not_found())
    for path in REPORT_PATHS[1:]:  # keep the crawl busy until it is killed
        portal.inject(path, Fault.delay(4))
    flags = [f"-s{name}={value}" for name, value in FAST_SETTINGS.items()]
    child = subprocess.Popen([sys.executable, "-m", "nianbao", "crawl", "--config", str(portal.config),
                              "--db", str(portal.db), *flags],
                             cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    COUNTS["crawls"] += 1
    try:
        deadline = time.monotonic() + 30
        while not portal.pending() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert portal.pending(), "the crawl never noted the 404"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    assert_nothing_changed(portal, state, rows, "after a killed crawl")
    portal.heal(*REPORT_PATHS[1:])
    portal.crawl()  # the first crawl that counts the 404
    assert_nothing_changed(portal, state, rows, "after the crawl that followed the killed one")
    portal.crawl()
    assert portal.state()["reports"][gone][0] == "removed"
