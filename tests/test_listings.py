"""Listing families on small pages shaped like the real ones (parsed offline, no crawl)."""

from __future__ import annotations

import json
from pathlib import Path

from scrapy.http import FormRequest, HtmlResponse, JsonResponse, Request, XmlResponse

from nianbao.crawler.listings import PageRequest, parse_listing
from nianbao.crawler.listings import annual_module, gkmlpt, hanweb, links, query_pager, trs
from nianbao.crawler.listings.validity import listing_problem

FILES = Path(__file__).parent / "files" / "listings"


def read(name: str) -> str:
    return (FILES / name).read_text(encoding="utf-8")


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
    # The column page asks for the second group only, the way its <nextgroup> names (POSTed);
    # the reply that answers asks for the rest (see the reply tests below).
    proxy = "http://mz.example.gov.cn/module/web/jpage/dataproxy.jsp"
    [second] = listing.pages
    assert (second.method, second.url) == ("POST", f"{proxy}?startrecord=3&endrecord=4&perpage=2")
    form = dict(second.formdata)
    assert form["columnid"] == "1422" and form["unitid"] == "4193" and "page" not in form
    # A plain HTML link extractor sees none of these records.
    assert links.parse(response).entries == []


def ways(page: PageRequest) -> list[tuple[str, str]]:
    """(method, path) of a page request and of each of its alternatives, in order."""
    return [(p.method, p.url.split("://", 1)[1].split("/", 1)[1].split("?")[0])
            for p in (page, *page.alternatives)]


def test_hanweb_second_group_tries_both_paths_and_both_methods():
    for body, url, declared in (
        (HANWEB_COLUMN, "http://mz.example.gov.cn/col/col1422/index.html", "module/web/jpage/dataproxy.jsp"),
        # another site: the other path in <nextgroup>, records in tables, a jpage proxyUrl
        # naming the first path, a repeated `appid`, a total in the jpage call
        (read("hanweb-column-jpage.html"), "https://www.wl.example.cn/col/col1229115101/index.html",
         "module/jpage/dataproxy.jsp"),
    ):
        [second] = hanweb.parse(html_response(url, body)).pages
        other = ({"module/web/jpage/dataproxy.jsp", "module/jpage/dataproxy.jsp"} - {declared}).pop()
        assert ways(second)[:4] == [("POST", declared), ("GET", declared), ("POST", other), ("GET", other)]
        assert ("POST", "module/jslib/jquery/jpage/dataproxy.jsp") in ways(second)
        post, get = second, second.alternatives[0]
        assert "columnid=" not in post.url and dict(post.formdata)["columnid"]
        # GET: the range and the column's parameters all in the query, no form
        assert get.formdata == () and "columnid=" in get.url and "startrecord=3" in get.url
        assert not any(p.alternatives for p in second.alternatives)  # carried by fallback()


def test_hanweb_fallback_carries_the_remaining_ways():
    [second] = hanweb.parse(html_response("http://mz.example.gov.cn/col/col1422/index.html", HANWEB_COLUMN)).pages
    chain, page = [], second
    while page is not None:
        chain.append((page.method, page.url.split("?")[0].rsplit("/module/", 1)[1]))
        page = page.fallback()
    assert chain == ways_as_chain(second) and len(chain) == 6


def ways_as_chain(page):
    return [(m, p.split("module/", 1)[1]) for m, p in ways(page)]


def reply(url: str, body: str, method: str = "POST", form: dict | None = None) -> XmlResponse:
    request = (FormRequest(url, formdata=form or {"columnid": "1"}) if method == "POST"
               else Request(url))
    return XmlResponse(url, body=body.encode(), encoding="utf-8", request=request)


RECORD = '<record><![CDATA[<li><a href="/art/x{0}.html">示例局{0}号文件的发布通知</a></li>]]></record>'


def records(count: int, total: int | None = None) -> str:
    head = f"<totalrecord>{total}</totalrecord>" if total is not None else ""
    return f"<datastore>{head}<recordset>" + "".join(RECORD.format(i) for i in range(count)) + "</recordset></datastore>"


def test_hanweb_without_total_asks_group_by_group():
    column = HANWEB_COLUMN.replace("totalRecord: 5, ", "")
    listing = hanweb.parse(html_response("http://h.gov.cn/col/col1/index.html", column))
    assert page_urls(listing) == ["http://h.gov.cn/module/web/jpage/dataproxy.jsp?startrecord=3&endrecord=4&perpage=2"]
    # A full reply asks for the next group, the way it was asked; a short one ends the column.
    url = "http://h.gov.cn/module/web/jpage/dataproxy.jsp?startrecord=3&endrecord=4&perpage=2"
    for count, expected in ((2, ["startrecord=5&endrecord=6"]), (1, [])):
        pages = hanweb.parse(reply(url, records(count))).pages
        assert [p.url.split("?")[1].rsplit("&perpage", 1)[0] for p in pages] == expected
        assert all(p.method == "POST" and dict(p.formdata) == {"columnid": "1"} for p in pages)
    # An empty reply where no total was given: the list ended on the column page, and says so.
    empty = hanweb.parse(reply(url, records(0)))
    assert empty.pages == [] and empty.says_empty


def test_hanweb_reply_with_total_asks_for_every_remaining_group():
    proxy = "http://h.gov.cn/module/web/jpage/dataproxy.jsp"
    for (start, end, count), expected in (((3, 4, 2), ["startrecord=5&endrecord=6", "startrecord=7&endrecord=7"]),
                                          ((5, 6, 2), ["startrecord=7&endrecord=7"]),
                                          ((7, 7, 1), [])):
        url = f"{proxy}?startrecord={start}&endrecord={end}&perpage=2"
        pages = hanweb.parse(reply(url, records(count, total=7))).pages
        assert [p.url.split("?")[1].rsplit("&perpage", 1)[0] for p in pages] == expected
    # records were due (total 7) and none came: not an empty list, so not a listing
    assert not hanweb.parse(reply(f"{proxy}?startrecord=3&endrecord=4&perpage=2", records(0, total=7))).says_empty


def test_hanweb_get_reply_keeps_asking_by_get():
    url = ("https://www.wl.example.cn/module/jpage/dataproxy.jsp?startrecord=3&endrecord=4&perpage=2"
           "&col=1&appid=1&appid=1&webid=3008&path=%2F&columnid=1229115101&unitid=8811023")
    listing = hanweb.parse(reply(url, read("hanweb-reply-get.xml"), method="GET"))
    assert [e.date for e in listing.entries] == ["2021-01-29", "2021-01-20"]
    [last] = listing.pages
    assert last.method == "GET" and last.formdata == () and last.alternatives == ()
    assert last.url == ("https://www.wl.example.cn/module/jpage/dataproxy.jsp?startrecord=5&endrecord=5&perpage=2"
                        "&col=1&appid=1&appid=1&webid=3008&path=%2F&columnid=1229115101&unitid=8811023")
    # the reply's own <nextgroup> (page=2) is not followed: the groups are counted by record


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


# --- gkmlpt (Guangdong) ------------------------------------------------------------------------

def shell(url: str, name: str, asked: str | None = None) -> HtmlResponse:
    """The shell page as downloaded: the fragment is gone from the response's URL, but not
    from the request that asked for it."""
    return HtmlResponse(url, body=read(name).encode(), encoding="utf-8", request=Request(asked or url))


def api_reply(url: str, body: str) -> JsonResponse:
    return JsonResponse(url, body=body.encode(), request=Request(url))


def test_gkmlpt_shell_with_a_category_in_the_fragment():
    site = "http://www.szlh.gov.cn/szlh/gkmlpt/index"
    listing = gkmlpt.parse(shell(site, "gkmlpt-shell-szlh.html", asked=f"{site}#2843"))
    assert page_urls(listing) == ["http://www.szlh.gov.cn/szlh/gkmlpt/api/all/2843?page=1&sid=755031"]
    assert listing.entries == []
    # the same shell asked without a category: the TREE's annual-report column(s)
    assert page_urls(gkmlpt.parse(shell(site, "gkmlpt-shell-szlh.html"))) == page_urls(listing)


def test_gkmlpt_second_shell_json_config_absolute_api_traditional_tree():
    # another platform style: a JSON-quoted config, API_ROOT on a platform host, a nested
    # traditional-Chinese TREE with a column that jumps elsewhere (not an API column)
    url = "http://www.qingcheng.example.cn/qingcheng/gkmlpt/index"
    assert page_urls(gkmlpt.parse(shell(url, "gkmlpt-shell-qingcheng.html"))) == [
        "http://platform.qingyuan.example.cn/gkmlpt/api/all/1201?page=1&sid=763002"]
    asked = gkmlpt.parse(shell(url, "gkmlpt-shell-qingcheng.html", asked=url + "#12"))
    assert page_urls(asked) == ["http://platform.qingyuan.example.cn/gkmlpt/api/all/12?page=1&sid=763002"]


def test_gkmlpt_shell_without_sid_is_no_listing():
    body = read("gkmlpt-shell-szlh.html").replace("SID: '755031',", "")
    response = shell("http://www.szlh.gov.cn/szlh/gkmlpt/index", "gkmlpt-shell-szlh.html")
    response = response.replace(body=body.encode())
    listing = parse_listing(response)
    assert listing.pages == [] and listing_problem(response, listing, requested_url=response.url)


def test_gkmlpt_api_first_page_entries_dates_and_all_pages():
    url = "http://www.szlh.gov.cn/szlh/gkmlpt/api/all/2843?page=1&sid=755031"
    response = api_reply(url, read("gkmlpt-api-szlh-page1.json"))
    listing = parse_listing(response)
    assert [(e.title, e.date) for e in listing.entries] == [
        ("深圳市罗湖区人民政府2021年政府信息公开工作年度报告", "2022-03-28"),
        # 1616688000 is 2021-03-26 00:00 in China (2021-03-25 in UTC)
        ("深圳市罗湖区人民政府2020年政府信息公开工作年度报告", "2021-03-26"),
    ]
    assert listing.entries[0].url == "http://www.szlh.gov.cn/szlh/gkmlpt/content/9/9741/post_9741233.html"
    # post_count 3, 2 a page: page 2 (and no page 0, no page 3)
    assert page_urls(listing) == ["http://www.szlh.gov.cn/szlh/gkmlpt/api/all/2843?page=2&sid=755031"]
    assert listing_problem(response, listing, requested_url=url) is None
    # page 2 asks for nothing more: page 1 asked for every page
    second = api_reply(page_urls(listing)[0], json.dumps({"classify": {"post_count": 3}, "articles": [
        {"id": 1, "title": "深圳市罗湖区人民政府2019年政府信息公开工作年度报告", "url": "/szlh/gkmlpt/content/1/1/post_1.html"}]}))
    assert parse_listing(second).pages == []


def test_gkmlpt_api_second_reply_post_url_total_only_and_broken_articles():
    url = "http://platform.qingyuan.example.cn/gkmlpt/api/all/1201?page=1&sid=763002"
    listing = parse_listing(api_reply(url, read("gkmlpt-api-qingcheng.json")))
    assert [(e.url, e.date) for e in listing.entries] == [
        # created_at only (ISO with offset); display_publish_time in milliseconds
        # the fragment (the column it is shown in) is not part of the report's URL
        ("http://platform.qingyuan.example.cn/qingcheng/gkmlpt/content/1/1550/post_1550012.html", "2023-03-30"),
        ("http://platform.qingyuan.example.cn/qingcheng/gkmlpt/content/1/1550/post_1550013.html", "2023-01-29"),
    ]  # an article without a title and a non-object are skipped
    # "total": "5" (no classify), 4 articles a page: one more page
    assert page_urls(listing) == ["http://platform.qingyuan.example.cn/gkmlpt/api/all/1201?page=2&sid=763002"]


def test_gkmlpt_api_unknown_length_pages_until_empty():
    url = "http://a.example.cn/gkmlpt/api/all/7?sid=1"
    one = {"articles": [{"title": "某局2019年政府信息公开工作年度报告", "url": "/c/1.html"}]}
    listing = parse_listing(api_reply(url, json.dumps(one)))
    assert page_urls(listing) == ["http://a.example.cn/gkmlpt/api/all/7?page=2&sid=1"]
    end = api_reply("http://a.example.cn/gkmlpt/api/all/7?page=2&sid=1", '{"articles": []}')
    ended = parse_listing(end)
    assert ended.says_empty and ended.pages == []
    assert listing_problem(end, ended, requested_url=end.url) is None
    # an empty column says so: a listing; a first page with nothing although the count says
    # 4, or an error object, is not
    for body, ok in (('{"classify": {"post_count": 0}, "articles": []}', True),
                     ('{"classify": {"post_count": 4}, "articles": []}', False),
                     ('{"code": 429, "msg": "访问过于频繁，请稍后再试"}', False),
                     ('[1, 2, 404]', False)):
        response = api_reply(url, body)
        problem = listing_problem(response, parse_listing(response), requested_url=url)
        assert (problem is None) is ok, body
        assert problem is None or problem.startswith("JSON reply without list entries"), problem


# --- query-string pagers -----------------------------------------------------------------------

def query_of(urls: list[str], key: str) -> list[str]:
    from urllib.parse import parse_qs, urlsplit
    return [parse_qs(urlsplit(u).query)[key][0] for u in urls]


def test_ilist_cur_page_from_script_and_page_count():
    url = "http://www.xjahq.example.cn/info/iList.jsp?isSd=false&node_id=GKfgw&cat_id=10376"
    listing = parse_listing(html_response(url, read("query-ilist.html")))
    assert page_urls(listing) == [f"{url}&cur_page=2", f"{url}&cur_page=3"]
    assert [e.date for e in listing.entries if e.url.endswith(".htm") and "/info/1375/" in e.url] == ["2023-01-18", "2022-01-25"]
    # asked as page 2: pages 1 and 3, the parameter changed in place
    second = parse_listing(html_response(f"{url}&cur_page=2", read("query-ilist.html")))
    assert query_of(page_urls(second), "cur_page") == ["1", "3"]
    assert all(u.startswith(url + "&cur_page=") for u in page_urls(second))


def test_xxgk_search_currpage_hidden_field():
    url = ("http://www.hangzhou.example.cn/module/xxgk/search.jsp?infotypeId=A0212&jdid=149&area="
           "&divid=div1256283&sortfield=,createdatetime:0")
    listing = parse_listing(html_response(url, read("query-xxgk-search.html")))
    assert query_of(page_urls(listing), "currpage") == ["2", "3", "4"]
    assert [e.title for e in listing.entries] == [
        "杭州市交通运输局2022年度政府信息公开工作年度报告", "杭州市交通运输局2021年度政府信息公开工作年度报告"]


def test_content_jsp_articles_and_page_form():
    url = "http://www.stats.example.cn/xxgk/list.jsp?code=ndbg"
    response = html_response(url, read("query-content-jsp.html").replace("gb2312", "utf-8"))
    listing = parse_listing(response)
    assert page_urls(listing) == ["http://www.stats.example.cn/xxgk/list.jsp?code=ndbg&pageNo=2"]
    assert [e.url for e in listing.entries] == [
        "http://www.stats.example.cn/xxgk/content.jsp?code=000014349/2021-00012&name=ndbg",
        "http://www.stats.example.cn/xxgk/content.jsp?code=000014349/2020-00009&name=ndbg"]
    assert [e.date for e in listing.entries] == ["2021-01-22", "2020-01-19"]


def test_query_pager_needs_a_count_and_a_parameter():
    # a page count without a page parameter anywhere (a navigation link's `?page=` is not a
    # pager), a parameter without a count, one page
    for url, body in (("http://a.cn/l.html", "<p>共3页</p>"),
                      ("http://a.cn/l.html", '<a href="/news.jsp?page=1">新闻</a><p>共3页</p>'),
                      ("http://a.cn/l.jsp?pageNo=1", "<p>第1页</p>"),
                      ("http://a.cn/l.jsp?pageNo=1", "<p>共1页</p>")):
        assert query_pager.parse(html_response(url, body)).pages == [], body
    # zero-based platforms: page 0 is this one
    zero = query_pager.parse(html_response("http://a.cn/l.jsp?pageIndex=0", "<p>页次：1/3</p>"))
    assert query_of(page_urls(zero), "pageIndex") == ["1", "2"]


# --- dedicated annual-report modules ------------------------------------------------------------

def test_openness_annual_report_module():
    url = "http://www.example.gov.cn/openness/OpennessAnnualReport/?branch_id=57a4a52e"
    response = html_response(url, read("openness-annual-list.html"))
    listing = parse_listing(response)
    reports = [e for e in listing.entries if e.is_report]
    assert [(e.url.rsplit("/", 1)[1], e.title, e.date) for e in reports] == [
        ("5831.html", "2022年度", "2023-01-19"),
        ("5207.html", "2021年度", "2022-01-24"),
        # the link says 查看 (its title attribute names no year): the row's text is the title
        ("4410.html", "查看 示例区发展和改革局（2020年度）", "2021-01-28"),
    ]
    # the module's own index, guide and pager links are not reports
    assert not any(e.is_report for e in listing.entries if "/show/" not in e.url)
    assert page_urls(listing) == [f"http://www.example.gov.cn/openness/OpennessAnnualReport/?branch_id=57a4a52e&page=2"]
    assert listing_problem(response, listing, requested_url=url) is None


def test_annual_report_module_second_style():
    url = "https://xxgk.example.cn/xxgk/annualReport/list.do?deptId=31"
    listing = annual_module.parse(html_response(url, read("annual-report-view.html")))
    assert [(e.url.rsplit("/", 1)[1], e.title, e.date) for e in listing.entries] == [
        ("view.do?id=20230118", "2022", "2023-01-18"), ("view.do?id=20220121", "2021", "2022-01-21")]
    # the same page under a path that names no annual-report module: no report entries
    assert annual_module.parse(html_response("https://xxgk.example.cn/xxgk/list.do", read("annual-report-view.html"))).entries == []


# --- every family's pages read as listings --------------------------------------------------

FAMILY_PAGES = [
    ("gkmlpt-shell-szlh.html", "http://www.szlh.gov.cn/szlh/gkmlpt/index", HtmlResponse),
    ("gkmlpt-shell-qingcheng.html", "http://www.qingcheng.example.cn/qingcheng/gkmlpt/index", HtmlResponse),
    ("gkmlpt-api-szlh-page1.json", "http://www.szlh.gov.cn/szlh/gkmlpt/api/all/2843?page=1&sid=755031", JsonResponse),
    # a JSON reply served as text/html, as some platforms do
    ("gkmlpt-api-qingcheng.json", "http://platform.qingyuan.example.cn/gkmlpt/api/all/1201?page=1&sid=763002", HtmlResponse),
    ("hanweb-column-jpage.html", "https://www.wl.example.cn/col/col1229115101/index.html", HtmlResponse),
    ("hanweb-reply-get.xml", "https://www.wl.example.cn/module/jpage/dataproxy.jsp?startrecord=3&endrecord=4&perpage=2", XmlResponse),
    ("query-ilist.html", "http://www.xjahq.example.cn/info/iList.jsp?isSd=false&node_id=GKfgw&cat_id=10376", HtmlResponse),
    ("query-xxgk-search.html", "http://www.hangzhou.example.cn/module/xxgk/search.jsp?infotypeId=A0212&jdid=149", HtmlResponse),
    ("query-content-jsp.html", "http://www.stats.example.cn/xxgk/list.jsp?code=ndbg", HtmlResponse),
    ("openness-annual-list.html", "http://www.example.gov.cn/openness/OpennessAnnualReport/?branch_id=57a4a52e", HtmlResponse),
    ("annual-report-view.html", "https://xxgk.example.cn/xxgk/annualReport/list.do?deptId=31", HtmlResponse),
]


def test_every_family_fixture_is_a_listing():
    for name, url, kind in FAMILY_PAGES:
        response = kind(url, body=read(name).encode(), encoding="utf-8", request=Request(url))
        listing = parse_listing(response)
        assert listing.entries or listing.pages, name
        assert listing_problem(response, listing, requested_url=url) is None, name


def test_block_pages_stay_block_pages():
    # What the data checks must not let through: a block page served for an API URL, with a
    # JSON content type or as XHTML opening with an XML declaration.
    url = "http://www.szlh.gov.cn/szlh/gkmlpt/api/all/2843?page=1&sid=755031"
    block = "<html><head><title>访问过于频繁</title></head><body><p>请稍后再试</p></body></html>"
    for response in (HtmlResponse(url, body=block.encode(), encoding="utf-8"),
                     XmlResponse(url, body=('<?xml version="1.0"?>' + block).encode(), encoding="utf-8")):
        problem = listing_problem(response, parse_listing(response), requested_url=url)
        assert problem and problem.startswith("block page"), problem
