"""`nianbao serve` as a person uses it: a real server on 127.0.0.1, a real headless browser.

The store comes from real crawls of the demo portal: a first crawl, an edit of one figure in
a long paragraph of a report (315条 -> 351条), a second crawl (a version and a `changed`
finding), then `nianbao check` (missing and late findings). `nianbao serve` runs in a child
process; Debian's chromium is driven through Debian's chromedriver (paths given, so Selenium
downloads nothing), headless and without sandbox (we are root). Screenshots go to
test-artifacts/browser/ (NIANBAO_ARTIFACTS overrides); with NIANBAO_DOCS_SCREENSHOTS=1 the
three the README shows are also written to docs/screenshots/.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from nianbao.demo.portal import DemoPortal
from nianbao.demo.site import with_body
from tests.conftest import REPO, crawl, query, run_nianbao

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(os.environ.get("NIANBAO_ARTIFACTS", REPO / "test-artifacts")) / "browser"
DOCS_SHOTS = REPO / "docs" / "screenshots"
EDITED = "/trs/xxgk/ndbg/201603/t20160320_2001.html"  # demo-trs, 2015: 315条 in a long paragraph
OLD_FIGURE, NEW_FIGURE = "政府信息315条", "政府信息351条"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`nianbao serve` in a child process, on a free port of 127.0.0.1."""

    def __init__(self, db: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # The server's log goes to a file: an unread pipe would fill and stall the server.
        self.log = db.parent / f"serve-{self.port}.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "nianbao", "serve", "--db", str(db), "--port",
                 str(self.port)], cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited: {self.output()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/versions.json", timeout=5):
                    return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        self.stop()
        raise AssertionError("serve did not answer within 60 s")

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=30) as response:
                return response.status, response.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> str:
        """Stop the server (if running); its log."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.output()


@pytest.fixture(scope="module")
def portal():
    with DemoPortal() as running:
        yield running


@pytest.fixture(scope="module")
def store(portal, tmp_path_factory) -> Path:
    """A store after two crawls (one report edited between them) and a check."""
    folder = tmp_path_factory.mktemp("web")
    config = portal.write_registry(folder / "agencies.yaml")
    db = folder / "store.db"  # not nianbao.db: serve names the database itself
    crawl(config, db)
    portal.set_page(EDITED, with_body(portal.page(EDITED), OLD_FIGURE, NEW_FIGURE))
    crawl(config, db)
    checked = run_nianbao("check", "--config", str(config), "--db", str(db))
    assert checked.returncode == 0, checked.stderr[-2000:]
    return db


@pytest.fixture(scope="module")
def edited(store) -> dict:
    [row] = query(store, "SELECT id, title, current_version FROM reports WHERE url LIKE ?",
                  [f"%{EDITED}"])
    assert row["current_version"] == 2
    return row


@pytest.fixture(scope="module")
def server(store):
    running = Server(store)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser():
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        message = f"not installed: {missing} (make's set-up installs chromium and chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,900", "--lang=zh-CN"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def shoot(driver, name: str, *, docs: bool = False, max_height: int = 4000) -> Path:
    """Save a screenshot of the whole page as a test artefact (and for the README)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # The whole page, not the window: the viewport is made as tall as the page (up to max_height).
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 1280, "height": min(max(height, 600), max_height), "deviceScaleFactor": 1,
        "mobile": False})
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert path.stat().st_size > 10_000
    if docs and os.environ.get("NIANBAO_DOCS_SCREENSHOTS") == "1":
        DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS_SHOTS / path.name)
    return path


def page_text(driver) -> str:
    return driver.find_element("tag name", "body").text


# -- the browser ---------------------------------------------------------------------------


def test_coverage_picture_and_a_cell_to_its_report(server, browser, store):
    browser.get(f"{server.url}/-/coverage")
    assert "覆盖情况" in browser.title
    text = page_text(browser)
    assert "示例市人民政府办公室" in text and "按时 on time" in text
    expected = query(store, "SELECT a.region, c.agency_id, c.year, c.status, c.verified, c.report_id "
                            "FROM coverage c JOIN agencies a ON a.id = c.agency_id")
    cells = browser.find_elements("css selector", ".nb-picture [data-status]")
    assert len(cells) == len(expected)
    drawn = {}
    for cell in cells:
        row = cell.find_element("xpath", "ancestor::tr")
        drawn[(row.get_attribute("data-agency"), int(cell.get_attribute("data-year")))] = cell
    for row in expected:
        status = ("unverified" if row["status"] == "missing" and not row["verified"]
                  else row["status"])
        assert drawn[(row["agency_id"], row["year"])].get_attribute("data-status") == status, row
    # grouped by region: each region a heading, in the order of the page
    regions = [h.text for h in browser.find_elements("css selector", ".nb-picture th.region")]
    assert any("安徽省" in name for name in regions) or len(regions) >= 2
    assert {"on_time", "late", "missing"} <= {c.get_attribute("data-status") for c in cells}
    shoot(browser, "coverage", docs=True)

    on_time = next(r for r in expected if r["status"] == "on_time" and r["agency_id"] == "demo-trs")
    drawn[(on_time["agency_id"], on_time["year"])].click()
    assert browser.current_url.endswith(f"/-/report/{on_time['report_id']}")
    [report] = query(store, "SELECT title, text FROM reports WHERE id = ?", [on_time["report_id"]])
    assert browser.find_element("css selector", ".nb-document h2").text == report["title"]
    body = browser.find_element("css selector", ".nb-document").text
    first_line = next(line for line in report["text"].splitlines() if line.strip() and " | " not in line)
    assert first_line.strip()[:30] in body
    shoot(browser, "report")


def test_missing_cell_leads_to_its_finding(server, browser, store):
    [finding] = query(store, "SELECT id, agency_id, year FROM findings WHERE kind = 'missing' "
                             "ORDER BY id LIMIT 1")
    browser.get(f"{server.url}/-/coverage")
    cell = browser.find_element(
        "css selector", f"tr[data-agency='{finding['agency_id']}'] [data-year='{finding['year']}']")
    assert cell.get_attribute("data-status") == "missing"
    cell.click()
    assert browser.current_url.endswith(f"/nianbao/findings/{finding['id']}")
    assert "missing" in page_text(browser)


def test_report_page_reads_like_a_document(server, browser, store):
    [row] = query(store, "SELECT id, text FROM reports WHERE text LIKE '%行政规范性文件 | %' LIMIT 1")
    browser.get(f"{server.url}/-/report/{row['id']}")
    paragraphs = browser.find_elements("css selector", ".nb-document p")
    assert len(paragraphs) >= 3  # the line breaks are kept as paragraphs
    tables = browser.find_elements("css selector", ".nb-document table.doc-table")
    assert tables, "the statistics rows are a table again"
    cells = [td.text for td in tables[0].find_elements("css selector", "td")]
    assert "行政规范性文件" in " ".join(cells) + " ".join(
        td.text for t in tables for td in t.find_elements("css selector", "td"))
    headings = [h.text for h in browser.find_elements("css selector", ".nb-document h3")]
    assert any(h.startswith("一、") for h in headings)
    # a report that is only a PDF: no text yet, said so, with its source
    [pdf] = query(store, "SELECT id, url FROM reports WHERE url LIKE '%.pdf' AND text = '' LIMIT 1")
    browser.get(f"{server.url}/-/report/{pdf['id']}")
    assert "No text was extracted" in page_text(browser)
    assert browser.find_element("link text", pdf["url"]).get_attribute("href") == pdf["url"]


def test_search_three_and_two_characters(server, browser, store):
    # 3 characters and more: Datasette's own ?_search= on reports, through the trigram index
    word = "王堃"  # 2 characters: in the GBK reports only
    browser.get(f"{server.url}/nianbao/reports?_search=" + urllib.parse.quote("主动公开"))
    expected = query(store, "SELECT count(*) n FROM reports WHERE title LIKE '%主动公开%' "
                            "OR text LIKE '%主动公开%'")[0]["n"]
    assert expected > 0
    text = page_text(browser)
    assert f"{expected} row" in text, text[:500]
    # the canned query over the same index: best matches first, the passage marked
    phrase = "行政复议"
    browser.get(f"{server.url}/nianbao/search?q=" + urllib.parse.quote(phrase))
    rows = browser.find_elements("css selector", "table.rows-and-columns tbody tr")
    want = query(store, "SELECT count(*) n FROM reports WHERE instr(text, ?) OR instr(title, ?)",
                 [phrase, phrase])[0]["n"]
    assert want >= 1 and len(rows) == want
    marks = browser.find_elements("css selector", "table.rows-and-columns mark")
    assert marks and {m.text for m in marks} == {phrase}
    shoot(browser, "search", docs=True, max_height=1300)
    browser.get(f"{server.url}/nianbao/reports?_search=" + urllib.parse.quote("局长王堃"))
    found = browser.find_elements("css selector", "table.rows-and-columns tbody tr")
    assert 1 <= len(found) == query(store, "SELECT count(*) n FROM reports WHERE text LIKE '%局长王堃%'")[0]["n"]
    # 2 characters: the trigram index cannot; the canned LIKE query can
    browser.get(f"{server.url}/nianbao/reports?_search=" + urllib.parse.quote(word))
    assert not browser.find_elements("css selector", "table.rows-and-columns tbody tr")
    browser.get(f"{server.url}/nianbao/search_short?q=" + urllib.parse.quote(word))
    rows = browser.find_elements("css selector", "table.rows-and-columns tbody tr")
    want = query(store, "SELECT count(*) n FROM reports WHERE instr(text, ?) OR instr(title, ?)",
                 [word, word])[0]["n"]
    assert want >= 1 and len(rows) == want
    assert word in page_text(browser)
    shoot(browser, "search-short")
    # each result leads to its report page
    rows[0].find_element("link text", "阅读 read").click()
    assert "/-/report/" in browser.current_url and word in page_text(browser)


def test_canned_query_with_a_parameter(server, browser, store):
    browser.get(f"{server.url}/nianbao/coverage_of_year")
    field = browser.find_element("css selector", "input[name='year']")
    field.send_keys("2019")
    browser.find_element("css selector", "form.sql input[type='submit']").click()
    assert "year=2019" in browser.current_url
    rows = browser.find_elements("css selector", "table.rows-and-columns tbody tr")
    expected = query(store, "SELECT agency_id, status FROM coverage WHERE year = 2019")
    assert len(rows) == len(expected) > 0
    text = page_text(browser)
    for row in expected:
        assert row["agency_id"] in text
    shoot(browser, "canned-query")
    # a query's finding_id leads to the finding
    browser.get(f"{server.url}/nianbao/missing_or_late?year=&region=")
    [first] = query(store, "SELECT count(*) n FROM coverage WHERE status IN ('missing', 'late')")
    assert len(browser.find_elements("css selector", "table.rows-and-columns tbody tr")) == first["n"]
    link = browser.find_element("css selector", "td.col-finding_id a")
    finding_id = link.text
    link.click()
    assert browser.current_url.endswith(f"/nianbao/findings/{finding_id}")


def test_diff_highlights_the_changed_figure(server, browser, store, edited):
    browser.get(f"{server.url}/nianbao/report_history?report_id={edited['id']}")
    browser.find_element("link text", "差异 diff").click()
    assert browser.current_url.endswith(f"/-/diff/{edited['id']}/1/2")
    removed = [e.text for e in browser.find_elements("css selector", "table.nb-diff del.hl")]
    added = [e.text for e in browser.find_elements("css selector", "table.nb-diff ins.hl")]
    assert removed == ["315"] and added == ["351"]
    line = browser.find_element("css selector", "table.nb-diff tr.added.changed").text
    assert NEW_FIGURE in line and len(line) > 60  # the figure inside its long paragraph
    highlighted = browser.find_element("css selector", "table.nb-diff ins.hl")
    assert highlighted.value_of_css_property("background-color") != \
        browser.find_element("css selector", "table.nb-diff tr.added.changed td:last-child") \
        .value_of_css_property("background-color")
    shoot(browser, "diff", docs=True)


def test_changed_finding_links_its_diff(server, browser, edited):
    browser.get(f"{server.url}/nianbao/findings?kind=changed")
    browser.find_element("link text", "差异 diff v1→v2").click()
    assert browser.current_url.endswith(f"/-/diff/{edited['id']}/1/2")
    assert browser.find_element("css selector", "table.nb-diff ins.hl").text == "351"


def test_reports_table_shows_a_preview_and_links_the_document(server, browser, edited):
    browser.get(f"{server.url}/nianbao/reports/{edited['id']}")
    link = browser.find_element("link text", "全文 read")
    link.click()
    assert browser.current_url.endswith(f"/-/report/{edited['id']}")
    assert NEW_FIGURE in page_text(browser)


# -- read-only -------------------------------------------------------------------------------


def test_nothing_is_written_through_datasette(server, store, edited):
    """Hashes of the database and its WAL before and after every kind of page; writes refused."""
    def digest() -> str:
        h = hashlib.sha256()
        for suffix in ("", "-wal"):
            path = Path(f"{store}{suffix}")
            h.update(path.read_bytes() if path.exists() else b"-")
        return h.hexdigest()

    before = digest()
    for path in ("/", "/-/coverage", f"/-/report/{edited['id']}", f"/-/diff/{edited['id']}/1/2",
                 "/nianbao/reports?_search=" + urllib.parse.quote("年度报告"),
                 "/nianbao/findings", "/nianbao/coverage", "/nianbao/recent_findings?days=&kind="):
        status, _ = server.get(path)
        assert status == 200, path
    for sql in ("delete from reports", "update reports set title = 'x'",
                "insert into findings (kind) values ('x')", "pragma journal_mode=delete"):
        status, body = server.get("/nianbao.json?sql=" + urllib.parse.quote(sql))
        assert status >= 400, (sql, body[:200])
    status, body = server.get("/nianbao.json?sql=" + urllib.parse.quote(
        "select count(*) from reports where 1 = (select 1 from (select load_extension('x')))"))
    assert status >= 400
    assert digest() == before
    # no lock is held by the server: a writer takes the write lock at once
    connection = sqlite3.connect(store, timeout=0)
    connection.execute("BEGIN IMMEDIATE")
    connection.rollback()
    connection.close()


def test_crawl_writes_while_datasette_serves(portal, store, server, edited):
    """A real crawl (a changed report among its writes) while a browser-like client reads every
    page: the crawl finishes without lock errors, every page answers."""
    config = store.parent / "agencies.yaml"
    portal.set_page(EDITED, with_body(portal.page(EDITED), NEW_FIGURE, "政府信息353条"))
    statuses: list[tuple[str, int]] = []
    stop = threading.Event()
    paths = ["/-/coverage", f"/-/report/{edited['id']}", f"/-/diff/{edited['id']}/1/2",
             "/nianbao/reports?_search=" + urllib.parse.quote("政府信息"),
             "/nianbao/search_short?q=" + urllib.parse.quote("公开"), "/nianbao/findings"]

    def read() -> None:
        index = 0
        deadline = time.monotonic() + 300  # bounded however the crawl goes
        while not stop.is_set() and time.monotonic() < deadline:
            path = paths[index % len(paths)]
            statuses.append((path, server.get(path)[0]))
            index += 1

    reader = threading.Thread(target=read)
    reader.start()
    try:
        result = crawl(config, store)
    finally:
        stop.set()
        reader.join()
    assert "database is locked" not in result.stderr + result.stdout
    assert "OperationalError" not in result.stderr
    assert len(statuses) >= len(paths)
    assert [s for s in statuses if s[1] != 200] == []
    # the crawl's write is there and the server shows it
    assert query(store, "SELECT current_version FROM reports WHERE id = ?", [edited["id"]])[0][
        "current_version"] == 3
    status, body = server.get(f"/-/diff/{edited['id']}/2/3")
    assert status == 200 and "353" in body
    status, body = server.get("/nianbao/reports.json?_shape=array&_search=" + urllib.parse.quote("政府信息353条"))
    assert status == 200 and f'"id": {edited["id"]}' in body
    log = server.stop()
    assert "locked" not in log
    # the refused queries and the 404s of the tests are answers, not tracebacks in the log
    assert "Traceback" not in log, log[-2000:]


# -- the HTML report -------------------------------------------------------------------------


def test_html_report_is_one_self_contained_file(store, tmp_path):
    from nianbao.monitor.report_html import write_report_html
    from nianbao.storage import Store

    copy = tmp_path / "copy.db"
    source = sqlite3.connect(store)
    target = sqlite3.connect(copy)
    source.backup(target)
    source.close()
    target.close()
    with Store(copy) as opened:
        out = write_report_html(opened, tmp_path / "report.html")
        linked = write_report_html(opened, tmp_path / "linked.html",
                                   public_url="https://nianbao.example.org/")
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html and "<link" not in html and "src=" not in html
    findings = query(copy, "SELECT id, kind FROM findings")
    for finding in findings:
        assert f"id=\"finding-{finding['id']}\"" in html
    missing = [f for f in findings if f["kind"] == "missing"]
    assert missing and f"href=\"#finding-{missing[0]['id']}\"" in html
    cells = query(copy, "SELECT count(*) n FROM coverage")[0]["n"]
    assert html.count("data-status=") == cells
    report_url = query(copy, "SELECT url FROM coverage WHERE status = 'on_time' LIMIT 1")[0]["url"]
    assert f"href=\"{report_url}\"" in html
    linked_html = linked.read_text(encoding="utf-8")
    assert "href=\"https://nianbao.example.org/-/report/" in linked_html
    assert "https://nianbao.example.org/-/diff/" in linked_html  # the changed finding
    assert "https://nianbao.example.org/nianbao/findings/" in linked_html


def test_html_report_from_the_command(store, tmp_path, portal):
    """`nianbao report --html FILE`, with --xlsx in the same run (one store read, two files)."""
    copy = tmp_path / "copy.db"
    source, target = sqlite3.connect(store), sqlite3.connect(copy)
    source.backup(target)
    source.close()
    target.close()
    config = portal.write_registry(tmp_path / "agencies.yaml")
    out = run_nianbao("report", "--config", str(config), "--db", str(copy),
                      "--html", str(tmp_path / "r.html"), "--xlsx", str(tmp_path / "r.xlsx"),
                      "--public-url", "https://nianbao.example.org")
    assert out.returncode == 0, out.stderr[-2000:]
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "逾期未发布" in html and "北京时间" in html  # Chinese labels, China time
    assert html.count("data-status=") == query(copy, "SELECT count(*) n FROM coverage")[0]["n"]
    assert (tmp_path / "r.xlsx").stat().st_size > 0


# -- the Atom feed -------------------------------------------------------------------------


def test_atom_feed_of_findings_served(store, edited):
    import feedparser

    server = Server(store)  # its own: the module's server is stopped by the tests above
    try:
        _check_feeds(server, store, feedparser)
    finally:
        server.stop()


def _check_feeds(server, store, feedparser):
    status, body = server.get("/nianbao/findings.atom")
    assert status == 200, body[:500]
    feed = feedparser.parse(body)
    assert not feed.bozo, feed.bozo_exception
    announced = query(store, "SELECT f.id, f.kind FROM findings f LEFT JOIN reports r "
                             "ON r.id = f.report_id WHERE NOT (f.kind = 'new' AND r.kind = 'other') "
                             "ORDER BY f.id DESC")
    assert [e.id for e in feed.entries] == [f"tag:nianbao,2008:finding/{f['id']}"
                                             for f in announced[:100]]
    changed = [e for e in feed.entries if "被修改" in e.title]
    assert changed and changed[0].link.startswith(server.url)
    # one agency's feed holds only that agency's findings
    status, body = server.get("/nianbao/findings.atom?agency_id=demo-hanweb")
    assert status == 200
    one = feedparser.parse(body)
    ids = {f["id"] for f in query(store, "SELECT id FROM findings WHERE agency_id = 'demo-hanweb'")}
    assert one.entries and {int(e.id.rsplit("/", 1)[1]) for e in one.entries} <= ids
    assert server.get("/nianbao/findings.atom?agency_id=no-such-agency")[0] == 404
