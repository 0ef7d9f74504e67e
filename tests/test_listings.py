"""Listing families on small pages shaped like the real ones (parsed offline, no crawl)."""

from __future__ import annotations

from scrapy.http import HtmlResponse, Request, XmlResponse

from nianbao.crawler.listings import PageRequest, parse_listing
from nianbao.crawler.listings import hanweb, links, trs


def html_response(url: str, body: str, encoding: str = "utf-8") -> HtmlResponse:
    return HtmlResponse(url, body=body.encode(encoding), encoding=encoding, request=Request(url))


def page_urls(listing) -> list[str]:
    return [page.url for page in listing.pages]


# --- TRS ------------------------------------------------------------------------------------
TRS_CASES = [
    ('createPageHTML(4, 0, "index", "html");', "http://a.gov.cn/xxgk/ndbg/index.html",
     ["index.html", "index_1.html", "index_2.html", "index_3.html"]),
    # element id first and record count last (a variant seen on provincial portals)
    ("createPageHTML('page_div',3, 1,'index','shtml',45);", "http://a.gov.cn/zwgk/nb/index_1.shtml",
     ["index.shtml", "index_1.shtml", "index_2.shtml"]),
    # the older form: only variables, pages named after the current file
    ("var currentPage = 0; var countPage = 2 //共多少页", "http://a.gov.cn/col/list.htm",
     ["list.htm", "list_1.htm"]),
]


def test_trs_create_page_html_variants():
    for script, url, files in TRS_CASES:
        response = html_response(url, f"<html><body><script>{script}</script></body></html>")
        base = url.rsplit("/", 1)[0]
        assert page_urls(trs.parse(response)) == [f"{base}/{f}" for f in files], script


def test_trs_function_definition_is_not_a_pager():
    # Article pages carry the function's definition; its parameter names are not pages.
    body = "<script>function createPageHTML(_nPageCount,_nCurrIndex,_sPageName,_sPageExt){}</script>"
    assert trs.parse(html_response("http://a.gov.cn/a/index.html", body)).pages == []


# --- Hanweb ---------------------------------------------------------------------------------
HANWEB_COLUMN = """<html><body><div id="4193"><script type="text/xml"><datastore>
<nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1&appid=1&webid=2&path=/&columnid=1422&unitid=4193&permissiontype=0"></a>]]></nextgroup>
<recordset>
<record><![CDATA[<li><a href="/art/2021/1/25/art_1422_5.html" title="示例局2020年政府信息公开工作年度报告">示例局2020年政府信息公开...</a><span>2021-01-25</span></li>]]></record>
<record><![CDATA[<li><a href="/art/2020/1/20/art_1422_4.html">示例局2019年政府信息公开工作年度报告</a><span>2020-01-20</span></li>]]></record>
</recordset></datastore></script>
<script>$('#4193').jpage({dataStore: dataStore, totalRecord: 5, perPage: 2});</script></div></body></html>"""


def test_hanweb_datastore_records_and_proxy_groups():
    response = html_response("http://mz.example.gov.cn/col/col1422/index.html", HANWEB_COLUMN)
    listing = hanweb.parse(response)
    assert [(e.url, e.title, e.date) for e in listing.entries] == [
        ("http://mz.example.gov.cn/art/2021/1/25/art_1422_5.html", "示例局2020年政府信息公开工作年度报告", "2021-01-25"),
        ("http://mz.example.gov.cn/art/2020/1/20/art_1422_4.html", "示例局2019年政府信息公开工作年度报告", "2020-01-20"),
    ]
    proxy = "http://mz.example.gov.cn/module/web/jpage/dataproxy.jsp"
    assert page_urls(listing) == [
        f"{proxy}?startrecord=3&endrecord=4&perpage=2",
        f"{proxy}?startrecord=5&endrecord=5&perpage=2",
    ]
    assert all(page.method == "POST" for page in listing.pages)
    form = dict(listing.pages[0].formdata)
    assert form["columnid"] == "1422" and form["unitid"] == "4193" and "page" not in form
    # A plain HTML link extractor sees none of these records.
    assert links.parse(response).entries == []


def test_hanweb_without_total_asks_group_by_group():
    column = HANWEB_COLUMN.replace("totalRecord: 5, ", "")
    listing = hanweb.parse(html_response("http://h.gov.cn/col/col1/index.html", column))
    assert page_urls(listing) == ["http://h.gov.cn/module/web/jpage/dataproxy.jsp?startrecord=3&endrecord=4&perpage=2"]
    # A full reply asks for the next group; a short one ends the column.
    record = '<record><![CDATA[<li><a href="/art/x{0}.html">r{0}</a></li>]]></record>'
    for count, expected in ((2, ["startrecord=5&endrecord=6"]), (1, [])):
        url = "http://h.gov.cn/module/web/jpage/dataproxy.jsp?startrecord=3&endrecord=4&perpage=2"
        body = "<datastore><recordset>" + "".join(record.format(i) for i in range(count)) + "</recordset></datastore>"
        reply = XmlResponse(url, body=body.encode(), encoding="utf-8",
                            request=Request(url, method="POST", meta={"hanweb_form": (("columnid", "1"),)}))
        pages = hanweb.parse(reply).pages
        assert [p.url.split("?")[1].rsplit("&perpage", 1)[0] for p in pages] == expected
        assert all(dict(p.formdata) == {"columnid": "1"} for p in pages)


# --- plain links ------------------------------------------------------------------------------
PLAIN = """<html><head><base href="http://b.gov.cn/xxgk/"></head><body>
<ul>
<li><a href="ndbg/t1.html" title="示例县2019年政府信息公开工作年度报告">示例县2019年政府信息公开工作...</a> <span>[2020-01-15]</span></li>
<li><a href="../other/t2.html">关于印发2020年政务公开工作要点的通知</a><em>2020年3月5日</em></li>
<li><a href="javascript:void(0)">打印</a> <a href="#top">顶部</a> <a href="mailto:x@b.gov.cn">信箱</a></li>
</ul>
<div class="pager"><a href="list.html?page=1">1</a> <a href="list.html?page=2">2</a> <a href="list.html?page=2">下一页</a>
<a href="/other/dir/page.html">3</a></div>
</body></html>"""


def test_plain_links_resolve_base_titles_dates_and_pagers():
    response = html_response("http://b.gov.cn/xxgk/list.html?page=1", PLAIN)
    listing = parse_listing(response)
    entries = {e.url: e for e in listing.entries}
    report = entries["http://b.gov.cn/xxgk/ndbg/t1.html"]
    assert report.title == "示例县2019年政府信息公开工作年度报告"  # the whole title attribute
    assert report.date == "2020-01-15"
    assert entries["http://b.gov.cn/other/t2.html"].date == "2020-03-05"
    assert not any(url.startswith(("javascript", "mailto")) or "#top" in url for url in entries)
    # numbered and 下一页 links on this listing are pages; "3" elsewhere on the site is not
    assert page_urls(listing) == ["http://b.gov.cn/xxgk/list.html?page=2"]
    assert "http://b.gov.cn/other/dir/page.html" in entries


def test_rel_next_and_traditional_next():
    body = '<a rel="next" href="p2.html">更多</a><a href="p3.html">下一頁</a>'
    listing = links.parse(html_response("http://c.gov.cn/l/p1.html", body))
    assert page_urls(listing) == ["http://c.gov.cn/l/p2.html", "http://c.gov.cn/l/p3.html"]


def test_merge_removes_duplicates():
    body = ('<a href="a.html">示例2019年政府信息公开工作年度报告</a><a href="a.html">示例2019年政府信息公开工作年度报告</a>'
            '<script>createPageHTML(2,0,"index","html")</script><a href="index_1.html">下一页</a>')
    listing = parse_listing(html_response("http://d.gov.cn/x/index.html", body))
    assert [e.url for e in listing.entries] == ["http://d.gov.cn/x/a.html"]
    assert listing.pages == [PageRequest("http://d.gov.cn/x/index.html"), PageRequest("http://d.gov.cn/x/index_1.html")]


def test_trs_article_parts():
    url = "http://www.shanxi.gov.cn/yw/sxyw/201909/t20190918_693227.shtml"
    split = html_response(url, '<script>createPageHTML(3, 0, "t20190918_693227", "shtml");</script>')
    assert trs.article_parts(split) == [
        "http://www.shanxi.gov.cn/yw/sxyw/201909/t20190918_693227_1.shtml",
        "http://www.shanxi.gov.cn/yw/sxyw/201909/t20190918_693227_2.shtml",
    ]
    # one part (the real Shanxi page), or a pager naming another file, is not a split article
    assert trs.article_parts(html_response(url, '<script>createPageHTML(1, 0, "t20190918_693227", "shtml")</script>')) == []
    assert trs.article_parts(html_response(url, '<script>createPageHTML(5, 0, "index", "shtml")</script>')) == []


def test_hanweb_reply_with_total_continues_when_column_page_had_none():
    # The column page knew no total and asked for one group; the reply says 7 records in all.
    record = '<record><![CDATA[<li><a href="/art/x{0}.html">r{0}</a></li>]]></record>'
    proxy = "http://h.gov.cn/module/web/jpage/dataproxy.jsp"
    for (start, end, count), expected in (((3, 4, 2), ["startrecord=5&endrecord=6"]),
                                          ((5, 6, 2), ["startrecord=7&endrecord=7"]),
                                          ((7, 7, 1), [])):
        url = f"{proxy}?startrecord={start}&endrecord={end}&perpage=2"
        body = ("<datastore><totalrecord>7</totalrecord><recordset>"
                + "".join(record.format(i) for i in range(count)) + "</recordset></datastore>")
        reply = XmlResponse(url, body=body.encode(), encoding="utf-8", request=Request(url, method="POST"))
        pages = hanweb.parse(reply).pages
        assert [p.url.split("?")[1].rsplit("&perpage", 1)[0] for p in pages] == expected
