"""The coverage picture renderer (monitor/coverage_picture.py): rows in, HTML out."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from nianbao.monitor.coverage_picture import NO_REGION, render_coverage_picture, render_region_summary


def row(agency, name, region, year, status, *, verified=None, report_id=None, finding_id=None,
        title=None):
    return {"agency_id": agency, "agency_name": name, "region": region, "year": year,
            "status": status, "verified": verified, "deadline": f"{year + 1}-03-31",
            "report_id": report_id, "published_date": None, "title": title, "url": None,
            "hosted_by": None, "finding_id": finding_id}


ROWS = [
    row("bz-mzj", "亳州市民政局", "安徽省亳州市", 2019, "on_time", report_id=11, title="2019年报"),
    row("bz-mzj", "亳州市民政局", "安徽省亳州市", 2020, "late", report_id=12, finding_id=5),
    row("bz-mzj", "亳州市民政局", "安徽省亳州市", 2021, "missing", verified=1, finding_id=6),
    row("bz-mzj", "亳州市民政局", "安徽省亳州市", 2022, "missing", verified=0),
    row("bz-mzj", "亳州市民政局", "安徽省亳州市", 2023, "not_due"),
    # a second region and a central department (no region), starting later
    row("gz-jyj", "广州市教育局", "广东省广州市", 2022, "on_time", report_id=30),
    row("mof", "财政部", None, 2023, "missing", verified=1, finding_id=9),
]


class Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells: list[dict] = []
        self.regions: list[str] = []
        self._in_region = False
        self.agency = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "data-agency" in attrs:
            self.agency = attrs["data-agency"]
        if "data-status" in attrs:
            self.cells.append({"agency": self.agency, "tag": tag, **attrs})
        if tag == "th" and attrs.get("class") == "region":
            self._in_region = True
            self.regions.append("")

    def handle_endtag(self, tag):
        if tag == "th":
            self._in_region = False

    def handle_data(self, data):
        if self._in_region:
            self.regions[-1] += data


def link(r):
    if r["report_id"]:
        return f"/-/report/{r['report_id']}"
    if r["finding_id"]:
        return f"/nianbao/findings/{r['finding_id']}"
    return None


def test_every_cell_its_status_and_link():
    parser = Cells()
    parser.feed(render_coverage_picture(ROWS, link=link))
    drawn = {(c["agency"], int(c["data-year"])): c for c in parser.cells}
    assert len(drawn) == len(ROWS)
    assert drawn[("bz-mzj", 2019)]["data-status"] == "on_time"
    assert drawn[("bz-mzj", 2019)]["href"] == "/-/report/11"
    assert drawn[("bz-mzj", 2020)]["href"] == "/-/report/12"  # a late report: its report
    assert drawn[("bz-mzj", 2021)]["href"] == "/nianbao/findings/6"
    # missing but not verified: drawn apart, no finding to link to
    assert drawn[("bz-mzj", 2022)]["data-status"] == "unverified"
    assert drawn[("bz-mzj", 2022)]["tag"] == "span"
    assert drawn[("bz-mzj", 2023)]["data-status"] == "not_due"
    assert drawn[("mof", 2023)]["data-status"] == "missing"
    assert "亳州市民政局 2020: 逾期 late" in drawn[("bz-mzj", 2020)]["title"]


def test_grouped_by_region_years_aligned_and_counted():
    html = render_coverage_picture(ROWS, link=link)
    parser = Cells()
    parser.feed(html)
    assert [re.sub(r"\s*\(\d+\)$", "", r).strip() for r in parser.regions] == [
        "安徽省亳州市", "广东省广州市", NO_REGION]
    # one table, one column per year from the first to the last, for every agency
    assert html.count("<table") == 1
    assert re.findall(r"<th scope=\"col\">(\d+)</th>", html) == ["2019", "2020", "2021", "2022", "2023"]
    assert html.count("cell none") == 4 + 4  # gz-jyj and mof have no row before their start
    counts = dict(re.findall(r"data-count=\"(\w+)\">(\d+)<", html))
    assert counts == {"on_time": "2", "late": "1", "missing": "2", "unverified": "1", "not_due": "1"}


def test_names_are_escaped_and_no_rows_says_so():
    hostile = [row("x", "<script>alert(1)</script>", "A&B", 2020, "on_time", report_id=1)]
    html = render_coverage_picture(hostile, link=lambda r: "/r?a=1&b=\"2\"")
    assert "<script>" not in html and "&lt;script&gt;" in html and "A&amp;B" in html
    assert "href=\"/r?a=1&amp;b=&quot;2&quot;\"" in html
    assert "暂无数据" in render_coverage_picture([], link=link)


def test_region_summary_counts_and_links_each_region():
    html = render_region_summary(ROWS, region_link=lambda name: f"/-/coverage?region={name or '-'}")
    rows = re.findall(r"<tr><th><a href=\"([^\"]+)\">([^<]+)</a></th><td>(\d+)</td>(.*?)</tr>", html)
    assert [(link, name, agencies) for link, name, agencies, _ in rows] == [
        ("/-/coverage?region=安徽省亳州市", "安徽省亳州市", "1"),
        ("/-/coverage?region=广东省广州市", "广东省广州市", "1"),
        ("/-/coverage?region=-", NO_REGION, "1")]
    counts = dict(re.findall(r"data-status=\"(\w+)\">(\d+)<", rows[0][3]))
    assert counts == {"on_time": "1", "late": "1", "missing": "1", "unverified": "1", "not_due": "1"}


def test_coverage_page_by_region_and_summary_when_large(tmp_path, monkeypatch):
    import asyncio

    from nianbao.storage import AgencyRecord, Store
    from nianbao.web import pages
    from nianbao.web.app import make_datasette

    with Store(tmp_path / "s.db") as store:
        store.agencies.sync([
            AgencyRecord("ah-a", "合肥市财政局", "department", "安徽省合肥市", 2020, ()),
            AgencyRecord("ah-b", "芜湖市人民政府", "government", "安徽省芜湖市", 2021, ()),
            AgencyRecord("hn-c", "郑州市教育局", "department", "河南省郑州市", 2020, ()),
            AgencyRecord("mof", "财政部", "department", None, 2022, ())])
        expected = {r["agency_id"]: r["n"] for r in store.db.query(
            "SELECT agency_id, count(*) n FROM coverage GROUP BY agency_id")}

    async def get(path: str) -> str:
        response = await make_datasette(tmp_path / "s.db").client.get(path)
        assert response.status_code == 200
        return response.text

    anhui = asyncio.run(get("/-/coverage?region=" + "安徽省"))
    assert "合肥市财政局" in anhui and "芜湖市人民政府" in anhui and "郑州市教育局" not in anhui
    assert anhui.count("data-status=") == expected["ah-a"] + expected["ah-b"]
    central = asyncio.run(get("/-/coverage?region=-"))
    assert "财政部" in central and "合肥市财政局" not in central
    monkeypatch.setattr(pages, "MAX_CELLS", 3)
    summary = asyncio.run(get("/-/coverage"))
    assert "choose a region" in summary and "href=\"/-/coverage?region=%E5%AE%89%E5%BE%BD%E7%9C%81%E5%90%88%E8%82%A5%E5%B8%82\"" in summary
    assert "合肥市财政局" not in summary  # regions, not agencies
