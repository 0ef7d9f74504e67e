"""`nianbao report --xlsx/--csv`: the workbook opened with openpyxl (cells, colours, links)
and the CSV read back, from a real store."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from nianbao.monitor.report_cmd import STATUS_STYLE, report
from nianbao.storage import AgencyRecord, ReportFetch, Store

PUBLIC = "https://nianbao.example.org"
AGENCIES = [
    ("bz-mzj", "亳州市民政局", "department", "安徽省亳州市"),
    ("hf-zf", "合肥市人民政府", "government", "安徽省合肥市"),
    ("nj-tjj", "南京市统计局", "department", "江苏省南京市"),
]


def fill(cell) -> str:
    return cell.fill.start_color.rgb[-6:]


@pytest.fixture
def setup(tmp_path):
    config = tmp_path / "agencies.yaml"
    config.write_text(json.dumps({"public_url": PUBLIC, "agencies": [
        {"id": i, "name": n, "kind": k, "region": r, "start_year": 2019,
         "sources": [f"http://127.0.0.1:9/{i}/"]} for i, n, k, r in AGENCIES]},
        ensure_ascii=False), encoding="utf-8")
    db = tmp_path / "nianbao.db"
    with Store(db) as store:
        store.agencies.sync([AgencyRecord(i, n, k, r, 2019, (f"http://127.0.0.1:9/{i}/",))
                             for i, n, k, r in AGENCIES])
        for year, published in ((2019, "2020-01-10"), (2020, "2021-02-10")):
            store.history.record_report(ReportFetch(
                agency_id="bz-mzj", url=f"http://127.0.0.1:9/bz-mzj/{year}.html",
                title=f"亳州市民政局{year}年政府信息公开工作年度报告", text="正文", kind="annual_report",
                year=year, published_date=published, raw_page=b"<html></html>",
                raw_encoding="utf-8", fetched_at="2021-03-01T00:00:00Z"))
        store.history.record_report(ReportFetch(
            agency_id="hf-zf", url="http://127.0.0.1:9/hf-zf/plan.html", title="2021年政务公开工作要点",
            text="要点", kind="other", year=2021, published_date="2021-03-01",
            raw_page=b"<html></html>", raw_encoding="utf-8", fetched_at="2021-03-01T00:00:00Z"))
        # hf-zf's listing was read in full after its deadlines: its missing years are facts
        crawl = store.crawls.start(["hf-zf"])
        store.crawls.log_fetch(crawl_id=crawl, agency_id="hf-zf", purpose="listing",
                               url="http://127.0.0.1:9/hf-zf/", status=200, error=None)
        store.crawls.finish(crawl, finish_reason="finished", stats={})
    return config, db


def run(config, db, *args):
    return CliRunner().invoke(report, ["--config", str(config), "--db", str(db), *args])


def test_xlsx_has_coloured_coverage_a_matrix_and_findings(setup, tmp_path):
    config, db = setup
    out = tmp_path / "report.xlsx"
    result = run(config, db, "--xlsx", str(out), "--as-of", "2021-06-01")
    assert result.exit_code == 0, result.output
    book = load_workbook(out)
    assert book.sheetnames == ["覆盖情况", "覆盖矩阵", "发现", "统计数据"]

    sheet = book["覆盖情况"]
    header = [c.value for c in sheet[1]]
    assert header[:6] == ["机构代码", "机构", "地区", "年度", "状态", "截止日期"]
    cells = {(r[0].value, r[3].value): r for r in sheet.iter_rows(min_row=2)}
    assert set(cells) == {(a, y) for a, *_ in AGENCIES for y in (2019, 2020)}
    expected = {("bz-mzj", 2019): "on_time", ("bz-mzj", 2020): "late",
                ("hf-zf", 2019): "missing", ("hf-zf", 2020): "missing",
                ("nj-tjj", 2019): "missing_unverified", ("nj-tjj", 2020): "missing_unverified"}
    for key, status in expected.items():
        label, colour, _ = STATUS_STYLE[status]
        status_cell = cells[key][4]
        assert (status_cell.value, fill(status_cell)) == (label, colour), key
    late = cells[("bz-mzj", 2020)]
    assert (late[5].value, late[6].value, late[1].value, late[2].value) == (
        "2021-01-31", "2021-02-10", "亳州市民政局", "安徽省亳州市")
    assert late[9].hyperlink.target == "http://127.0.0.1:9/bz-mzj/2020.html"
    assert late[10].value.startswith(f"{PUBLIC}/-/report/")
    assert cells[("hf-zf", 2019)][7].value == "是" and cells[("nj-tjj", 2019)][7].value == "否"

    matrix = book["覆盖矩阵"]
    assert [c.value for c in matrix[1]] == ["机构", "地区", 2019, 2020]
    marks = {r[0].value: r for r in matrix.iter_rows(min_row=2, max_row=4)}
    assert [c.value for c in marks["亳州市民政局"][2:]] == ["✓", "!"]
    assert fill(marks["合肥市人民政府"][2]) == STATUS_STYLE["missing"][1]
    assert fill(marks["南京市统计局"][3]) == STATUS_STYLE["missing_unverified"][1]

    found = book["发现"]
    rows = [[c.value for c in r] for r in found.iter_rows(min_row=2)]
    kinds = [r[2] for r in rows]
    assert kinds.count("new") == 2  # the two annual reports; the work plan is no finding here
    assert all(r[1] and r[8] and "北京时间" in r[7] for r in rows)
    assert all(r[10].startswith(f"{PUBLIC}/nianbao/findings/") for r in rows)


def test_csv_has_the_coverage_rows_and_filters(setup, tmp_path):
    config, db = setup
    out = tmp_path / "coverage.csv"
    result = run(config, db, "--csv", str(out), "--as-of", "2021-06-01", "--region", "安徽省")
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads the Chinese right
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert {r["agency_id"] for r in rows} == {"bz-mzj", "hf-zf"}
    by = {(r["agency_id"], r["year"]): r for r in rows}
    assert by[("bz-mzj", "2020")]["status"] == "late"
    assert by[("bz-mzj", "2020")]["status_label"] == "逾期发布"
    assert by[("hf-zf", "2019")]["verified"] == "True"
    assert by[("hf-zf", "2019")]["agency_name"] == "合肥市人民政府"


def test_report_errors(setup, tmp_path):
    config, db = setup
    assert run(config, db).exit_code == 2
    assert run(config, db, "--xlsx", str(tmp_path)).exit_code == 2
    assert run(config, db, "--csv", str(tmp_path / "no" / "x.csv")).exit_code == 2
    missing = run(config, tmp_path / "none.db", "--csv", str(tmp_path / "x.csv"))
    assert missing.exit_code == 1 and not (tmp_path / "none.db").exists()
    unknown = run(config, db, "--csv", str(tmp_path / "x.csv"), "--agency", "nope")
    assert unknown.exit_code == 2 and "nope" in unknown.output


def test_a_second_registry_not_due_custom_deadline_and_no_public_url(tmp_path):
    """Another registry in every surface detail: Guangdong governments, a custom deadline,
    a day before this year's deadlines, no public_url, one agency selected by --agency."""
    config = tmp_path / "registry.yaml"
    config.write_text(
        "agencies:\n"
        "  - {id: sz-ft, name: 深圳市福田区人民政府, kind: government, region: 广东省深圳市福田区,"
        " start_year: 2018, deadline: '02-15', sources: ['http://127.0.0.2:9/ft/']}\n"
        "  - {id: gz-th, name: 广州市天河区人民政府, kind: government, region: 广东省广州市,"
        " start_year: 2019, sources: ['http://127.0.0.2:9/th/']}\n", encoding="utf-8")
    db = tmp_path / "store.sqlite"
    with Store(db) as store:
        store.agencies.sync([AgencyRecord("sz-ft", "深圳市福田区人民政府", "government", "广东省深圳市福田区",
                                          2018, ("http://127.0.0.2:9/ft/",), "02-15"),
                             AgencyRecord("gz-th", "广州市天河区人民政府", "government", "广东省广州市",
                                          2019, ("http://127.0.0.2:9/th/",))])
        for year, published in ((2018, "2019-02-14"), (2019, "2020-02-20")):
            store.history.record_report(ReportFetch(
                agency_id="sz-ft", url=f"http://127.0.0.2:9/ft/{year}/index.shtml",
                title=f"福田区{year}年度政府信息公开工作年度报告", text="正文", kind="annual_report",
                year=year, published_date=published, raw_page=b"<html></html>",
                raw_encoding="utf-8", fetched_at="2020-03-01T00:00:00Z"))
    out = tmp_path / "福田.xlsx"
    result = CliRunner().invoke(report, ["--config", str(config), "--db", str(db), "--xlsx", str(out),
                                         "--agency", "sz-ft", "--as-of", "2021-02-01"])
    assert result.exit_code == 0, result.output
    book = load_workbook(out)
    rows = {r[3].value: r for r in book["覆盖情况"].iter_rows(min_row=2)}
    assert set(rows) == {2018, 2019, 2020}  # gz-th not selected
    for year, status in ((2018, "on_time"), (2019, "late"), (2020, "not_due")):
        assert (rows[year][4].value, fill(rows[year][4])) == STATUS_STYLE[status][:2], year
    assert rows[2019][5].value == "2020-02-15"  # the agency's own deadline
    assert rows[2018][10].value is None  # no public_url: no page link
    assert rows[2018][9].hyperlink.target == "http://127.0.0.2:9/ft/2018/index.shtml"
    assert [c.value for c in book["覆盖矩阵"][2]][2:] == ["✓", "!", "·"]
    findings = [[c.value for c in r] for r in book["发现"].iter_rows(min_row=2)]
    assert [f[2] for f in findings] == ["new", "new"] and all(f[10] is None for f in findings)
