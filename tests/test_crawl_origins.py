"""The crawl follows only what the configuration allows: real crawls of small local servers.

Each refused link or redirect would have led to a page the crawler could fetch and store (a
second server on another port, on 127.0.0.2, or the same server under another name): the
tests check that it was never asked for, that fetch_log says why, and that a refused redirect
of a known report does not count as its removal.

Names such as www.example-gov.cn are mapped to loopback addresses by tests.fake_dns, a
resolver set through the crawl's settings whose answers still go through the real check.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import crawl, query
from tests.local_sites import LocalSite, write_registry

REPORT_2019 = "示例县2019年政府信息公开工作年度报告"
REPORT_2018 = "示例县2018年政府信息公开工作年度报告"
REPORT_2017 = "示例县2017年政府信息公开工作年度报告"
REPORT_2016 = "示例县2016年政府信息公开工作年度报告"


def stored_urls(db) -> set[str]:
    return {row["url"] for row in query(db, "SELECT url FROM reports")}


def refusals(db) -> dict[str, str]:
    """url -> error of the fetch_log rows of refused requests."""
    rows = query(db, "SELECT url, error FROM fetch_log WHERE error LIKE 'IgnoreRequest:%'")
    return {row["url"]: row["error"] for row in rows}


def stats(db) -> dict:
    return json.loads(query(db, "SELECT stats FROM crawls ORDER BY id DESC LIMIT 1")[0]["stats"])


def dns(mapping: dict[str, list[str]]) -> dict[str, str]:
    return {"TWISTED_DNS_RESOLVER": "tests.fake_dns.MappedResolver", "NIANBAO_TEST_DNS": json.dumps(mapping)}


@pytest.fixture
def site():
    with LocalSite() as running:
        yield running


@pytest.fixture
def other():
    """A second server on 127.0.0.1, another port: what refused links would have reached."""
    with LocalSite() as running:
        yield running


@pytest.fixture
def hidden():
    """A server on 127.0.0.2: what a name resolving to a private address would reach."""
    with LocalSite("127.0.0.2") as running:
        yield running


# --- links to the same host on another port ----------------------------------------------------

def test_report_links_to_another_port_are_refused_and_logged(site, other, tmp_path):
    other.report("/2018/t2.html", REPORT_2018, 2018)
    other.report("/2017/t3.html", REPORT_2017, 2017)
    site.report("/xxgk/2019/t1.html", REPORT_2019, 2019)
    site.listing("/xxgk/list.html", [
        ("2019/t1.html", REPORT_2019),  # relative, same origin: fetched
        (other.url("/2018/t2.html"), REPORT_2018),  # absolute, same host, other port
        (f"//127.0.0.1:{other.port}/2017/t3.html", REPORT_2017),  # scheme-relative
    ])
    config = write_registry(tmp_path / "agencies.yaml", {"id": "port-a", "sources": [site.url("/xxgk/list.html")]})
    db = tmp_path / "nianbao.db"
    crawl(config, db)

    assert stored_urls(db) == {site.url("/xxgk/2019/t1.html")}
    assert other.requests == []  # not even robots.txt
    reason = f"IgnoreRequest: offsite: port {other.port} not configured for 127.0.0.1"
    assert refusals(db) == {other.url("/2018/t2.html"): reason, other.url("/2017/t3.html"): reason}
    assert stats(db)["nianbao/refused/offsite"] == 2
    assert "nianbao/report_failures" not in stats(db)


def test_pages_on_another_port_or_scheme_are_refused_but_a_configured_port_is_followed(site, other, tmp_path):
    # Same class, other surface: a host name, a pager link, https on the source's own port,
    # and a `domains` entry that allows one more port explicitly.
    with LocalSite() as allowed:
        allowed.report("/ndbg/t20200120_1.shtml", REPORT_2019, 2019)
        other.listing("/col/list_2.html", [("/t2.html", REPORT_2018)])
        other.report("/t2.html", REPORT_2018, 2018)
        site.listing("/col/list.html", [
            (f"http://LOCALHOST:{allowed.port}/ndbg/t20200120_1.shtml", REPORT_2019),
            (f"https://localhost:{site.port}/ndbg/t3.html", REPORT_2017),
            (f"http://localhost:{other.port}/col/list_2.html", "下一页"),
        ])
        config = write_registry(tmp_path / "agencies.yaml", {
            "id": "port-b", "sources": [site.url("/col/list.html", host="localhost")],
            "domains": [f"localhost:{allowed.port}"],
        })
        db = tmp_path / "nianbao.db"
        crawl(config, db)
        assert allowed.served("/ndbg/t20200120_1.shtml")

    assert stored_urls(db) == {f"http://localhost:{allowed.port}/ndbg/t20200120_1.shtml"}
    assert other.requests == []
    assert refusals(db) == {
        f"https://localhost:{site.port}/ndbg/t3.html":
            f"IgnoreRequest: offsite: https on port {site.port} not configured for localhost",
        f"http://localhost:{other.port}/col/list_2.html":
            f"IgnoreRequest: offsite: port {other.port} not configured for localhost",
    }
    pager = query(db, "SELECT purpose FROM fetch_log WHERE url LIKE '%/col/list_2.html'")
    assert pager == [{"purpose": "listing"}]  # a listing page not seen: coverage must not trust it


# --- links with every scheme ------------------------------------------------------------------

def test_listing_links_with_other_schemes_are_never_followed(site, other, tmp_path):
    other.report("/pub/2018.html", REPORT_2018, 2018)
    site.report("/xxgk/2019/t1.html", REPORT_2019, 2019)
    site.listing("/xxgk/list.html", [
        ("2019/t1.html", REPORT_2019),
        ("javascript:openWin('2019/t1.html')", REPORT_2018),
        (" JAVASCRIPT:void(0)", REPORT_2017),
        ("mailto:xxgk@example.gov.cn?subject=2016年政府信息公开工作年度报告", REPORT_2016),
        ("file:///etc/passwd", "示例县2015年政府信息公开工作年度报告"),
        ("data:text/html,<h1>2014</h1>", "示例县2014年政府信息公开工作年度报告"),
        (f"ftp://127.0.0.1:{other.port}/pub/2018.html", "示例县2013年政府信息公开工作年度报告"),
        ("tel:0551-12345678", "示例县2012年政府信息公开工作年度报告"),
        ("vbscript:msgbox(1)", "示例县2011年政府信息公开工作年度报告"),
    ])
    config = write_registry(tmp_path / "agencies.yaml", {"id": "schemes-a", "sources": [site.url("/xxgk/list.html")]})
    db = tmp_path / "nianbao.db"
    crawl(config, db)

    assert stored_urls(db) == {site.url("/xxgk/2019/t1.html")}
    assert sorted(site.requests) == ["/robots.txt", "/xxgk/2019/t1.html", "/xxgk/list.html"]
    assert other.requests == []
    fetched = {row["url"] for row in query(db, "SELECT url FROM fetch_log")}
    assert all(url.startswith(site.url("/")) for url in fetched), fetched


def test_hanweb_records_with_other_schemes_are_never_followed(site, other, tmp_path):
    # Same class, other family: records hidden in a Hanweb <datastore>, PDF-style attachments.
    records = [
        ("/art/2020/1/20/art_1422_1.html", REPORT_2019),
        (f"ftp://localhost:{other.port}/P020190331.pdf", REPORT_2018),
        ("file://localhost/C:/reports/2017.pdf", REPORT_2017),
        ("data:application/pdf;base64,JVBERi0xLjQK", REPORT_2016),
        ("mailto:zwgk@example.gov.cn", "示例县2015年政府信息公开工作年度报告"),
    ]
    cdata = "\n".join(f'<record><![CDATA[<li><a href="{href}" title="{title}">{title}</a><span>2020-01-20</span></li>]]></record>'
                      for href, title in records)
    site.page("/col/col1422/index.html", f"""<html><head><meta charset="utf-8"></head><body>
<div id="4193"><script type="text/xml"><datastore><recordset>{cdata}</recordset></datastore></script></div></body></html>""")
    site.report("/art/2020/1/20/art_1422_1.html", REPORT_2019, 2019)
    config = write_registry(tmp_path / "agencies.yaml", {
        "id": "schemes-b", "sources": [site.url("/col/col1422/index.html", host="localhost")]})
    db = tmp_path / "nianbao.db"
    crawl(config, db)

    assert stored_urls(db) == {site.url("/art/2020/1/20/art_1422_1.html", host="localhost")}
    assert other.requests == []
    assert sorted(site.requests) == ["/art/2020/1/20/art_1422_1.html", "/col/col1422/index.html", "/robots.txt"]


# --- redirects to another port ------------------------------------------------------------------

def test_redirect_of_a_report_to_another_port_is_refused(site, other, tmp_path):
    other.report("/2019/t1.html", REPORT_2019, 2019)
    site.redirect("/xxgk/2019/t1.html", other.url("/2019/t1.html"), status=302)
    site.listing("/xxgk/list.html", [("2019/t1.html", REPORT_2019)])
    config = write_registry(tmp_path / "agencies.yaml", {"id": "redirect-a", "sources": [site.url("/xxgk/list.html")]})
    db = tmp_path / "nianbao.db"
    crawl(config, db)

    assert stored_urls(db) == set()
    assert other.requests == []
    assert refusals(db) == {other.url("/2019/t1.html"): (
        f"IgnoreRequest: offsite: port {other.port} not configured for 127.0.0.1 "
        f"(redirect from {site.url('/xxgk/2019/t1.html')})")}
    assert stats(db)["nianbao/refused/offsite"] == 1


def test_redirect_of_a_listing_page_to_another_port_is_refused(site, other, tmp_path):
    other.listing("/ndbg/index_1.html", [("/t2.html", REPORT_2018)])
    other.report("/t2.html", REPORT_2018, 2018)
    site.redirect("/ndbg/index_1.html", f"//localhost:{other.port}/ndbg/index_1.html", status=307)
    site.listing("/ndbg/index.html", [("index_1.html", "下一页")])
    config = write_registry(tmp_path / "agencies.yaml", {
        "id": "redirect-b", "sources": [site.url("/ndbg/index.html", host="localhost")]})
    db = tmp_path / "nianbao.db"
    crawl(config, db)

    assert site.served("/ndbg/index_1.html")
    assert other.requests == []
    assert refusals(db) == {f"http://localhost:{other.port}/ndbg/index_1.html": (
        f"IgnoreRequest: offsite: port {other.port} not configured for localhost "
        f"(redirect from http://localhost:{site.port}/ndbg/index_1.html)")}


# --- redirects to non-HTTP schemes -------------------------------------------------------------

SCHEME_REDIRECTS = [
    # (path on the site, Location, status)
    ("/r/js.html", "javascript:alert(document.cookie)", 302),
    ("/r/mail.html", "mailto:xxgk@example.gov.cn", 301),
    ("/r/file.html", "file:///etc/passwd", 303),
    ("/r/data.html", "data:text/html;base64,PGgxPjIwMTnlubTmiqXlkYo8L2gxPg==", 307),
    ("/r/ftp.html", "ftp://127.0.0.1/pub/2019.pdf", 308),
    ("/r/tel.html", "tel:+86-551-1234567", 302),
]


def test_redirects_of_reports_to_other_schemes_are_refused_and_logged(site, tmp_path):
    links = []
    for index, (path, location, status) in enumerate(SCHEME_REDIRECTS):
        site.redirect(path, location, status)
        links.append((path, f"示例县{2019 - index}年政府信息公开工作年度报告"))
    site.listing("/xxgk/list.html", links)
    config = write_registry(tmp_path / "agencies.yaml", {"id": "scheme-a", "sources": [site.url("/xxgk/list.html")]})
    db = tmp_path / "nianbao.db"
    crawl(config, db)

    assert stored_urls(db) == set()
    logged = refusals(db)
    for path, location, _ in SCHEME_REDIRECTS:
        scheme = location.split(":", 1)[0]
        assert logged[location] == f"IgnoreRequest: scheme: {scheme} (redirect from {site.url(path)})"
    assert len(logged) == len(SCHEME_REDIRECTS)
    assert stats(db)["nianbao/refused/scheme"] == len(SCHEME_REDIRECTS)
    assert "nianbao/report_failures" not in stats(db)


def test_redirects_of_listing_pages_to_other_schemes_are_refused(site, tmp_path):
    site.listing("/col/col1422/index.html", [("index_1.html", "下一页")])
    site.redirect("/col/col1422/index_1.html", "JavaScript:history.back()", 301)
    site.redirect("/col/col1422/index_2.html", "FILE://localhost/c:/windows/win.ini", 302)
    site.listing("/col/col1423/index.html", [("/col/col1422/index_2.html", "下一页")])
    config = write_registry(tmp_path / "agencies.yaml", {"id": "scheme-b", "sources": [
        site.url("/col/col1422/index.html", host="localhost"), site.url("/col/col1423/index.html", host="localhost")]})
    db = tmp_path / "nianbao.db"
    crawl(config, db)

    errors = set(refusals(db).values())
    assert {error.split(" (redirect")[0] for error in errors} == {
        "IgnoreRequest: scheme: javascript", "IgnoreRequest: scheme: file"}
    assert "nianbao/listing_failures" not in stats(db)


# --- a refused redirect of a known report is not its removal ----------------------------------

def test_known_report_redirected_to_another_port_is_not_removed(site, other, tmp_path):
    site.report("/xxgk/2019/t1.html", REPORT_2019, 2019)
    site.listing("/xxgk/list.html", [("2019/t1.html", REPORT_2019)])
    config = write_registry(tmp_path / "agencies.yaml", {"id": "known-a", "sources": [site.url("/xxgk/list.html")]})
    db = tmp_path / "nianbao.db"
    crawl(config, db)
    assert stored_urls(db) == {site.url("/xxgk/2019/t1.html")}

    # The report now redirects to a server that answers 410 Gone: followed, that would remove it.
    site.redirect("/xxgk/2019/t1.html", other.url("/xxgk/2019/t1.html"), status=301)
    crawl(config, db)

    assert query(db, "SELECT status FROM reports") == [{"status": "live"}]
    assert query(db, "SELECT kind FROM findings") == [{"kind": "new"}]
    assert other.requests == []
    assert other.url("/xxgk/2019/t1.html") in refusals(db)


def test_known_report_redirected_to_a_private_name_is_not_removed(site, hidden, tmp_path):
    names = dns({"www.example-gov.cn": ["127.0.0.1"], "intranet.example-gov.cn": ["127.0.0.2"]})
    site.report("/art/2020/1/20/art_1422_5003.html", REPORT_2019, 2019)
    site.listing("/col/col1422/index.html", [("/art/2020/1/20/art_1422_5003.html", REPORT_2019)])
    config = write_registry(tmp_path / "agencies.yaml", {
        "id": "known-b", "sources": [site.url("/col/col1422/index.html", host="www.example-gov.cn")],
        "domains": [f"example-gov.cn:{hidden.port}"]})
    db = tmp_path / "nianbao.db"
    crawl(config, db, settings=names)
    assert len(stored_urls(db)) == 1

    site.redirect("/art/2020/1/20/art_1422_5003.html",
                  f"http://intranet.example-gov.cn:{hidden.port}/gone.html", status=308)
    hidden.page("/gone.html", "<html>Gone</html>", status=404)
    crawl(config, db, settings=names)

    assert query(db, "SELECT status FROM reports") == [{"status": "live"}]
    assert query(db, "SELECT kind FROM findings") == [{"kind": "new"}]
    assert hidden.requests == []


# --- private addresses, literal or resolved -------------------------------------------------------

def test_links_from_a_public_host_to_private_addresses_are_refused(site, hidden, tmp_path):
    # www.example-gov.cn is a configured name on loopback (allowed as given); example-gov.cn
    # on the hidden server's port is configured too, but intranet.example-gov.cn, which it
    # covers, resolves to 127.0.0.2 and is not named: refused at resolution time.
    hidden.report("/2017/t3.html", REPORT_2017, 2017)
    site.report("/xxgk/2019/t1.html", REPORT_2019, 2019)
    site.report("/xxgk/2018/t2.html", REPORT_2018, 2018)
    site.listing("/xxgk/list.html", [
        ("2019/t1.html", REPORT_2019),
        (site.url("/xxgk/2018/t2.html"), REPORT_2018),  # http://127.0.0.1:<port>/...
        (f"http://intranet.example-gov.cn:{hidden.port}/2017/t3.html", REPORT_2017),
    ])
    config = write_registry(tmp_path / "agencies.yaml", {
        "id": "private-a", "sources": [site.url("/xxgk/list.html", host="www.example-gov.cn")],
        "domains": [f"example-gov.cn:{hidden.port}"]})
    db = tmp_path / "nianbao.db"
    crawl(config, db, settings=dns({"www.example-gov.cn": ["127.0.0.1"], "intranet.example-gov.cn": ["127.0.0.2"]}))

    assert stored_urls(db) == {site.url("/xxgk/2019/t1.html", host="www.example-gov.cn")}
    assert not site.served("/xxgk/2018/t2.html")
    assert hidden.requests == []
    assert refusals(db) == {
        site.url("/xxgk/2018/t2.html"): "IgnoreRequest: private address 127.0.0.1 (loopback) is not a configured origin",
        f"http://intranet.example-gov.cn:{hidden.port}/2017/t3.html": (
            "IgnoreRequest: private address 127.0.0.2 (loopback) for intranet.example-gov.cn, "
            "a host not named in the configuration"),
    }
    assert stats(db)["nianbao/refused/private_address"] == 2


def test_redirects_from_a_public_host_to_private_addresses_are_refused(site, hidden, tmp_path):
    # Same class, other surface: redirects instead of links, another name and port, a legacy
    # spelling of 127.0.0.1, an RFC 1918 address, a source written in capitals with a final dot.
    hidden.report("/a.html", REPORT_2019, 2019)
    site.report("/ok.html", REPORT_2016, 2016)
    site.redirect("/ndbg/1.html", f"http://files.example-gov.cn:{hidden.port}/a.html", 301)
    site.redirect("/ndbg/2.html", f"http://2130706433:{site.port}/ok.html", 302)
    site.redirect("/ndbg/3.html", "http://10.0.0.1/ndbg/3.html", 307)
    site.listing("/ndbg/index.html", [("1.html", REPORT_2019), ("2.html", REPORT_2018), ("3.html", REPORT_2017)])
    config = write_registry(tmp_path / "agencies.yaml", {
        "id": "private-b", "sources": [f"http://WWW.Example-Gov.CN.:{site.port}/ndbg/index.html"],
        "domains": [f"Example-Gov.CN:{hidden.port}"]})
    db = tmp_path / "nianbao.db"
    crawl(config, db, settings=dns({"www.example-gov.cn": ["127.0.0.1"], "files.example-gov.cn": ["127.0.0.2"]}))

    assert stored_urls(db) == set()
    assert hidden.requests == [] and not site.served("/ok.html")
    reasons = {url: error.split(" (redirect from")[0] for url, error in refusals(db).items()}
    assert reasons == {
        f"http://files.example-gov.cn:{hidden.port}/a.html": (
            "IgnoreRequest: private address 127.0.0.2 (loopback) for files.example-gov.cn, "
            "a host not named in the configuration"),
        f"http://2130706433:{site.port}/ok.html":
            "IgnoreRequest: private address 127.0.0.1 (loopback) is not a configured origin",
        "http://10.0.0.1/ndbg/3.html": "IgnoreRequest: private address 10.0.0.1 (private) is not a configured origin",
    }


def test_a_name_repointed_between_check_and_connection_is_still_refused(site, hidden, tmp_path):
    # DNS rebinding: the first answer is public, every later one private. The middleware's
    # check sees the public one; the connection's own lookup must be refused by the resolver.
    hidden.report("/t.html", REPORT_2019, 2019)
    site.listing("/list.html", [(f"http://rebind.example-gov.cn:{hidden.port}/t.html", REPORT_2019)])
    config = write_registry(tmp_path / "agencies.yaml", {
        "id": "rebind", "sources": [site.url("/list.html", host="www.example-gov.cn")],
        "domains": [f"example-gov.cn:{hidden.port}"]})
    db = tmp_path / "nianbao.db"
    names = dns({"www.example-gov.cn": ["127.0.0.1"], "rebind.example-gov.cn": ["1.1.1.1", "127.0.0.2"]})
    crawl(config, db, settings={**names, "ROBOTSTXT_OBEY": "False", "RETRY_TIMES": "0"})

    assert hidden.requests == []
    assert stored_urls(db) == set()
    # The connection's lookup failed (the resolver's refusal); nothing was received.
    rows = query(db, "SELECT status, error FROM fetch_log WHERE url LIKE '%rebind%'")
    assert rows and all(row["status"] is None and "DNS lookup failed" in row["error"] for row in rows)


def test_robots_txt_judges_every_request_that_waited_for_it(tmp_path):
    """A crawl's first requests to a host (its listing, and the re-checks of its known
    reports, all asked at once) wait together for the host's robots.txt; each is judged by it.
    Scrapy 2.13 handed the parser to the first waiter only and let the others through
    (crawler.middlewares.RobotsTxtMiddleware). Two surfaces: a report disallowed after it was
    stored, among several re-checked; and a whole folder disallowed by prefix."""
    from tests.conftest import crawl, query
    from tests.local_sites import LocalSite, write_registry

    title = "示例县人民政府{}年政府信息公开工作年度报告"
    for prefix, years, rule, forbidden in (
            ("/nb", (2019, 2020, 2021, 2022), "Disallow: /nb/2020/a.html\nDisallow: /nb/2022/a.html",
             {"/nb/2020/a.html", "/nb/2022/a.html"}),
            ("/gk/ndbg", (2016, 2017, 2018), "Disallow: /gk/ndbg/old/", {"/gk/ndbg/old/2016.shtml",
                                                                         "/gk/ndbg/old/2017.shtml"})):
        with LocalSite() as site:
            paths = ({y: f"{prefix}/{y}/a.html" for y in years} if prefix == "/nb" else
                     {y: f"{prefix}/{'old' if y < 2018 else 'new'}/{y}.shtml" for y in years})
            for year, path in paths.items():
                site.report(path, title.format(year), year)
            site.listing(f"{prefix}/", [(path, title.format(y)) for y, path in paths.items()])
            config = write_registry(tmp_path / f"{prefix.strip('/').replace('/', '-')}.yaml",
                                    {"id": "x", "sources": [site.url(f"{prefix}/")]})
            db = tmp_path / f"{prefix.strip('/').replace('/', '-')}.db"
            crawl(config, db)
            assert len(query(db, "SELECT * FROM reports")) == len(years)
            site.data("/robots.txt", f"User-agent: *\n{rule}\n", content_type="text/plain")
            before = len(site.requests)
            crawl(config, db)
            asked = set(site.requests[before:])
            assert not asked & forbidden, asked
            assert set(paths.values()) - forbidden <= asked
            # not fetched is not gone: nothing removed
            assert query(db, "SELECT count(*) AS n FROM reports WHERE status = 'live'")[0]["n"] == len(years)
