"""Each listing family in a real crawl of a small local server (tests/local_sites.py).

The offline tests (test_listings.py) read saved pages; these serve the same shapes over HTTP
and check that the crawl follows them to every report, and that it is a complete crawl (every
listing page read as a listing, so `missing` could be raised).
"""

from __future__ import annotations

import json
import math

from nianbao.demo.ground import gkmlpt_shell
from tests.conftest import crawl, query
from tests.local_sites import LocalSite, write_registry


def stored(db) -> dict[str, set[str]]:
    by_agency: dict[str, set[str]] = {}
    for row in query(db, "SELECT agency_id, url FROM reports"):
        by_agency.setdefault(row["agency_id"], set()).add(row["url"].split("/", 3)[3])
    return by_agency


def outcomes(db) -> dict[str, str]:
    return {r["agency_id"]: r["outcome"] for r in query(db, "SELECT agency_id, outcome FROM crawl_agencies")}


# --- gkmlpt: two sites on one platform host ------------------------------------------------------

def test_gkmlpt_sites_sharing_a_platform_host_keep_their_own_documents(tmp_path):
    """Two sites under one host (`/szlh/`, `/szft/`) share the API path and the category id;
    only the SID read from each site's own shell page tells their lists apart. A third agency
    names another column of the first site's shell page (another fragment, same download)."""
    columns = {  # (sid, category) -> [(path, title)]
        ("755031", "2843"): [(f"/szlh/gkmlpt/content/9/974/post_97412{i}.html", f"深圳市罗湖区人民政府{y}年政府信息公开工作年度报告")
                             for i, y in enumerate((2021, 2020, 2019))],
        ("755032", "2843"): [(f"/szft/gkmlpt/content/8/861/post_86110{i}.html", f"深圳市福田区人民政府{y}年政府信息公开工作年度报告")
                             for i, y in enumerate((2021, 2020))],
        ("755031", "2850"): [("/szlh/gkmlpt/content/9/975/post_975001.html", "深圳市罗湖区发展和改革局2021年政府信息公开工作年度报告")],
    }
    with LocalSite() as site:
        tree = [{"id": 2843, "name": "政府信息公开年报", "children": []}, {"id": 2850, "name": "部门年报", "children": []}]
        for slug, sid in (("szlh", "755031"), ("szft", "755032")):
            site.page(f"/{slug}/gkmlpt/index", gkmlpt_shell(sid, slug, "/gkmlpt/api", tree))

        def answer(method, query, form, category):
            params = dict(query)
            articles = columns.get((params.get("sid"), category))
            if articles is None:
                return 404, "application/json", '{"code": 404}'
            page, size = int(params.get("page", "1")), 2
            chosen = articles[(page - 1) * size : page * size]
            body = {"classify": {"id": int(category), "post_count": len(articles)}, "total": len(articles),
                    "articles": [{"id": i, "title": t, "url": site.url(p), "created_at": "2022-01-20 09:00:00"}
                                 for i, (p, t) in enumerate(chosen)]}
            return 200, "application/json; charset=utf-8", json.dumps(body, ensure_ascii=False)

        for category in ("2843", "2850"):
            site.handle(f"/gkmlpt/api/all/{category}", lambda m, q, f, c=category: answer(m, q, f, c))
        for articles in columns.values():
            for path, title in articles:
                site.report(path, title, int(title.split("年政府")[0][-4:]))
        config = write_registry(
            tmp_path / "agencies.yaml",
            {"id": "szlh", "sources": [site.url("/szlh/gkmlpt/index#2843")]},
            {"id": "szft", "sources": [site.url("/szft/gkmlpt/index#2843")]},
            {"id": "szlh-fgj", "sources": [site.url("/szlh/gkmlpt/index#2850")]},
        )
        crawl(config, tmp_path / "nianbao.db")
        api_calls = sorted(path for path in site.requests if path.startswith("/gkmlpt/api/"))
    db = tmp_path / "nianbao.db"
    assert stored(db) == {
        "szlh": {p.lstrip("/") for p, _ in columns[("755031", "2843")]},
        "szft": {p.lstrip("/") for p, _ in columns[("755032", "2843")]},
        "szlh-fgj": {p.lstrip("/") for p, _ in columns[("755031", "2850")]},
    }
    assert api_calls == ["/gkmlpt/api/all/2843?page=1&sid=755031", "/gkmlpt/api/all/2843?page=1&sid=755032",
                         "/gkmlpt/api/all/2843?page=2&sid=755031", "/gkmlpt/api/all/2850?page=1&sid=755031"]
    assert outcomes(db) == {"szlh": "ok", "szft": "ok", "szlh-fgj": "ok"}


# --- Hanweb: the data proxy's path and method ----------------------------------------------------

RECORD = ('<record><![CDATA[<li><a href="{0}" title="{1}" target="_blank">{1}</a>'
          '<span class="bt_time">{2}</span></li>]]></record>')


def hanweb_column(site: LocalSite, column: str, nextgroup_path: str, docs: list[tuple[str, str, str]], per_page: int) -> None:
    first = "".join(RECORD.format(*doc) for doc in docs[:per_page])
    site.page(f"/col/col{column}/index.html", f"""<html><head><meta charset="utf-8"><title>信息公开年报</title></head><body>
<div id="4193"><script type="text/xml"><datastore>
<nextgroup><![CDATA[<a href="{nextgroup_path}?page=1&appid=1&webid=2&path=/&columnid={column}&unitid=4193&permissiontype=0"></a>]]></nextgroup>
<recordset>{first}</recordset></datastore></script>
<script>$('#4193').jpage({{dataStore: dataStore, totalRecord: {len(docs)}, perPage: {per_page}, groupSize: 1}});</script>
</div></body></html>""")
    for href, title, date in docs:
        site.report(href, title, int(title.split("年政府")[0][-4:]))


def proxy(docs, methods: set[str], column: str):
    """A data proxy answering only `methods`; the column's parameters may come in the query
    (GET) or in the form (POST), as a servlet reads both."""
    def answer(method, query, form):
        if method not in methods:
            return 405, "text/html", "<html><body><h1>HTTP Status 405 - Method Not Allowed</h1></body></html>"
        params = {**dict(query), **dict(form)}
        if params.get("columnid") != column:
            return 200, "text/xml", "<datastore><totalrecord>0</totalrecord><recordset></recordset></datastore>"
        start, end = int(params["startrecord"]), int(params["endrecord"])
        records = "".join(RECORD.format(*doc) for doc in docs[start - 1:end])
        return 200, "text/xml; charset=utf-8", (f'<?xml version="1.0" encoding="utf-8"?><datastore><totalrecord>{len(docs)}'
                                                f"</totalrecord><recordset>{records}</recordset></datastore>")
    return answer


def docs_for(name: str, years: range) -> list[tuple[str, str, str]]:
    return [(f"/art/{y + 1}/1/20/art_9_{y}.html", f"{name}{y}年政府信息公开工作年度报告", f"{y + 1}-01-20") for y in years]


def test_hanweb_data_proxy_path_and_method_fall_back(tmp_path):
    """Site A names `/module/jpage/dataproxy.jsp`, which is a 404 there; its proxy lives at
    `/module/web/jpage/dataproxy.jsp` and answers GET only. Site B (another address) names its
    path right and answers POST. Both are read whole, and neither crawl counts the failed
    ways as failed listings."""
    a_docs, b_docs = docs_for("示例市民政局", range(2014, 2022)), docs_for("示例县财政局", range(2017, 2022))
    with LocalSite() as a, LocalSite("127.0.0.2") as b:
        hanweb_column(a, "1422", "/module/jpage/dataproxy.jsp", a_docs, per_page=3)
        a.handle("/module/web/jpage/dataproxy.jsp", proxy(a_docs, {"GET"}, "1422"))
        hanweb_column(b, "77", "/module/web/jpage/dataproxy.jsp", b_docs, per_page=2)
        b.handle("/module/web/jpage/dataproxy.jsp", proxy(b_docs, {"POST"}, "77"))
        config = write_registry(tmp_path / "agencies.yaml",
                                {"id": "site-a", "sources": [a.url("/col/col1422/index.html")]},
                                {"id": "site-b", "sources": [b.url("/col/col77/index.html")]})
        crawl(config, tmp_path / "nianbao.db")
        a_calls, b_calls = list(a.calls), list(b.calls)
    db = tmp_path / "nianbao.db"
    assert stored(db) == {"site-a": {h.lstrip("/") for h, _, _ in a_docs},
                          "site-b": {h.lstrip("/") for h, _, _ in b_docs}}
    a_proxy = [(m, p.split("?")[0]) for m, p in a_calls if "dataproxy" in p]
    # the declared path by POST, then GET (both 404), then the other path by POST (405), then
    # GET, which answers; the remaining groups are asked that way only
    assert a_proxy[:4] == [("POST", "/module/jpage/dataproxy.jsp"), ("GET", "/module/jpage/dataproxy.jsp"),
                           ("POST", "/module/web/jpage/dataproxy.jsp"), ("GET", "/module/web/jpage/dataproxy.jsp")]
    assert set(a_proxy[4:]) == {("GET", "/module/web/jpage/dataproxy.jsp")} and len(a_proxy) == 3 + math.ceil((8 - 3) / 3)
    assert {m for m, p in b_calls if "dataproxy" in p} == {"POST"}
    assert outcomes(db) == {"site-a": "ok", "site-b": "ok"}
    # every way tried is in the fetch log, as a probe: the three that failed, and the first
    # request of each site that answered
    probes = query(db, "SELECT agency_id, status FROM fetch_log WHERE purpose = 'listing_probe' ORDER BY id")
    assert [r["status"] for r in probes if r["agency_id"] == "site-a"] == [404, 404, 405, 200]
    assert [r["status"] for r in probes if r["agency_id"] == "site-b"] == [200]
    assert query(db, "SELECT count(*) n FROM fetch_log WHERE purpose = 'listing' AND status >= 400")[0]["n"] == 0


def test_hanweb_data_proxy_nowhere_is_a_failed_listing(tmp_path):
    """Every way fails: the last one is a failed listing, so the crawl is not complete."""
    docs = docs_for("示例市民政局", range(2016, 2022))
    with LocalSite() as site:
        hanweb_column(site, "1422", "/module/web/jpage/dataproxy.jsp", docs, per_page=3)
        config = write_registry(tmp_path / "agencies.yaml", {"id": "gone", "sources": [site.url("/col/col1422/index.html")]})
        crawl(config, tmp_path / "nianbao.db")
    db = tmp_path / "nianbao.db"
    assert outcomes(db) == {"gone": "errors"}
    assert len(query(db, "SELECT * FROM fetch_log WHERE purpose = 'listing_probe'")) == 5
    assert len(query(db, "SELECT * FROM fetch_log WHERE purpose = 'listing' AND status >= 400")) == 1


# --- query-string pagers and annual-report modules -----------------------------------------------

def rows(links: list[tuple[str, str]]) -> str:
    return "".join(f'<li><a href="{h}" title="{t}">{t}</a><span>2021-01-20</span></li>' for h, t in links)


def test_query_string_platforms_and_annual_report_modules(tmp_path):
    with LocalSite() as site:
        # info/iList.jsp: pages by cur_page from a script pager
        ilist = "/info/iList.jsp?isSd=false&node_id=GKfgw&cat_id=10376"
        for n, year in ((1, 2021), (2, 2020), (3, 2019)):
            page = (f"<html><body><ul>{rows([(f'/info/1375/{year}.htm', f'阿合奇县发改委{year}年政府信息公开工作年度报告')])}</ul>"
                    f'<div>共 3 页 当前第 {n} 页 <a href="javascript:void(0)" onclick="goPage({n % 3 + 1})">下一页</a></div>'
                    '<script>function goPage(n){ location.href = "iList.jsp?isSd=false&node_id=GKfgw&cat_id=10376&cur_page=" + n; }</script>'
                    "</body></html>")
            site.page(f"{ilist}&cur_page={n}", page)
            if n == 1:
                site.page(ilist, page)
            site.report(f"/info/1375/{year}.htm", f"阿合奇县发改委{year}年政府信息公开工作年度报告", year)
        # /module/xxgk/search.jsp: a hidden currpage field, 共2页
        search = "/module/xxgk/search.jsp?infotypeId=A0212&jdid=149&area=&divid=div1256283"
        for n, year in ((1, 2022), (2, 2018)):
            answer = (f'<table><tr class="tr_main_value_odd"><td><a href="/art/{year + 1}/1/31/art_1229_{year}.html" '
                      f'title="杭州市交通运输局{year}年度政府信息公开工作年度报告">杭州市交通运输局{year}年度政府信息公开工...</a></td>'
                      f'<td>{year + 1}-01-31</td></tr></table>&nbsp;&nbsp;共2页&nbsp;<input type="hidden" name="currpage" value="{n}">')
            site.page(f"{search}&currpage={n}", answer)
            if n == 1:
                site.page(search, answer)
            site.report(f"/art/{year + 1}/1/31/art_1229_{year}.html", f"杭州市交通运输局{year}年度政府信息公开工作年度报告", year)
        # an annual-report module: rows say only the year; show pages
        module = "/openness/OpennessAnnualReport/"
        site.page(module + "?branch_id=57a4", '<table>'
                  '<tr><td><a href="/openness/OpennessAnnualReport/show/5831.html">2022年度</a></td><td>示例区发改局</td><td>2023-01-19</td></tr>'
                  '<tr><td><a href="/openness/OpennessAnnualReport/show/5207.html">2021年度</a></td><td>示例区发改局</td><td>2022-01-24</td></tr>'
                  '<tr><td><a href="/openness/OpennessGuide/">政府信息公开指南</a></td></tr></table>')
        for number, year in ((5831, 2022), (5207, 2021)):
            site.report(f"/openness/OpennessAnnualReport/show/{number}.html", f"示例区发展和改革局{year}年政府信息公开工作年度报告", year)
        config = write_registry(tmp_path / "agencies.yaml",
                                {"id": "ilist", "sources": [site.url(ilist)]},
                                {"id": "search", "sources": [site.url(search)]},
                                {"id": "module", "sources": [site.url(module + "?branch_id=57a4")]})
        crawl(config, tmp_path / "nianbao.db")
    db = tmp_path / "nianbao.db"
    assert stored(db) == {
        "ilist": {f"info/1375/{y}.htm" for y in (2021, 2020, 2019)},
        "search": {f"art/{y + 1}/1/31/art_1229_{y}.html" for y in (2022, 2018)},
        "module": {"openness/OpennessAnnualReport/show/5831.html", "openness/OpennessAnnualReport/show/5207.html"},
    }
    assert outcomes(db) == {"ilist": "ok", "search": "ok", "module": "ok"}
    years = {r["url"].rsplit("/", 1)[1]: r["year"] for r in query(db, "SELECT url, year FROM reports WHERE agency_id = 'module'")}
    assert years == {"5831.html": 2022, "5207.html": 2021}
