"""`nianbao registry import FILE.csv`: a spreadsheet of agencies -> registry entries."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from nianbao.config.registry import load_registry
from nianbao.monitor.registry_cmd import registry

CSV = (
    "id,name,kind,region,start_year,sources\n"
    "bz-mzj,亳州市民政局,department,安徽省亳州市,2012,https://www.bozhou.gov.cn/col/col1422/index.html\n"
    "hf-zf,合肥市人民政府,government,安徽省合肥市,2008,\"https://www.hefei.gov.cn/a/ndbg/ ; https://xxgk.hefei.gov.cn/b/\"\n"
)
# the same agencies as Excel on a Chinese Windows saves them: GBK, Chinese headers and kinds,
# columns in another order, CRLF, a blank line, sources separated by '；' and '|'
CSV_GBK = (
    "名称,代码,类型,起始年份,网址,地区,截止日期\r\n"
    "亳州市民政局,bz-mzj,部门,2012,https://www.bozhou.gov.cn/col/col1422/index.html,安徽省亳州市,\r\n"
    ",,,,,,\r\n"
    "合肥市人民政府,hf-zf,政府,2008,https://www.hefei.gov.cn/a/ndbg/；https://xxgk.hefei.gov.cn/b/,安徽省合肥市,03-31\r\n"
).encode("gbk")


def invoke(*args):
    return CliRunner().invoke(registry, ["import", *map(str, args)])


@pytest.mark.parametrize("content", [CSV.encode("utf-8"), b"\xef\xbb\xbf" + CSV.encode("utf-8"), CSV_GBK],
                         ids=["utf8", "utf8-bom", "gbk-excel"])
def test_import_prints_registry_entries(tmp_path, content):
    source = tmp_path / "agencies.csv"
    source.write_bytes(content)
    result = invoke(source)
    assert result.exit_code == 0, result.output
    document = yaml.safe_load(result.output)
    [bz, hf] = document["agencies"]
    assert bz == {"id": "bz-mzj", "name": "亳州市民政局", "kind": "department", "region": "安徽省亳州市",
                  "start_year": 2012, "sources": ["https://www.bozhou.gov.cn/col/col1422/index.html"]}
    assert hf["kind"] == "government" and hf["sources"] == ["https://www.hefei.gov.cn/a/ndbg/",
                                                            "https://xxgk.hefei.gov.cn/b/"]
    # what it prints is a registry
    printed = tmp_path / "printed.yaml"
    printed.write_text(result.output, encoding="utf-8")
    assert [a.id for a in load_registry(printed).agencies] == ["bz-mzj", "hf-zf"]


def test_append_keeps_the_file_and_validates_the_whole(tmp_path):
    source = tmp_path / "agencies.csv"
    source.write_text(CSV, encoding="utf-8")
    target = tmp_path / "agencies.yaml"
    original = ("# our registry\npublic_url: https://nianbao.example.org\nagencies:\n"
                "    - id: sz-zf   # kept as written\n      name: 宿州市人民政府\n      kind: government\n"
                "      start_year: 2015\n      sources: [https://www.ahsz.gov.cn/xxgk/]\n")
    target.write_text(original, encoding="utf-8")
    result = invoke(source, "--append", target)
    assert result.exit_code == 0, result.output
    text = target.read_text(encoding="utf-8")
    assert text.startswith(original)
    assert [a.id for a in load_registry(target).agencies] == ["sz-zf", "bz-mzj", "hf-zf"]
    # a second import of the same ids: refused, the file unchanged
    again = invoke(source, "--append", target)
    assert again.exit_code == 2
    assert "line 2: agency 'bz-mzj': field 'id': already in" in again.output
    assert target.read_text(encoding="utf-8") == text


@pytest.mark.parametrize("rows, expected", [
    ("bz-mzj,亳州市民政局,departmnt,安徽省,2012,https://a.gov.cn/\n", "line 2: agency 'bz-mzj': field 'kind'"),
    ("bz-mzj,亳州市民政局,department,安徽省,1999,https://a.gov.cn/\n", "line 2: agency 'bz-mzj': field 'start_year'"),
    ("bz-mzj,亳州市民政局,department,安徽省,2012,ftp://a.gov.cn/\n", "line 2: agency 'bz-mzj': field 'sources': item 1"),
    ("bz-mzj,亳州市民政局,department,安徽省,2012,\n", "line 2: agency 'bz-mzj': field 'sources'"),
    ("BZ MZJ,亳州市民政局,department,安徽省,2012,https://a.gov.cn/\n", "line 2: agency 'BZ MZJ': field 'id'"),
    ("a,甲,department,,2012,https://a.gov.cn/\n\na,乙,department,,2012,https://b.gov.cn/\n",
     "line 4: agency 'a': field 'id': duplicate of line 2"),
    (",亳州市民政局,department,安徽省,2012,https://a.gov.cn/\n", "line 2: field 'id': required"),
    ("a,甲,department,,2012,https://a.gov.cn/,extra\n", "line 2: 7 cells, the header has 6"),
], ids=["kind", "year", "scheme", "no-source", "id", "duplicate", "no-id", "extra-cell"])
def test_errors_name_file_line_agency_and_field(tmp_path, rows, expected):
    source = tmp_path / "bad.csv"
    source.write_text("id,name,kind,region,start_year,sources\n" + rows, encoding="utf-8")
    result = invoke(source)
    assert result.exit_code == 2
    [line] = result.output.splitlines()
    assert line.startswith(f"nianbao: config error: {source}: ") and expected in line, line


def test_header_and_file_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name,kind,region,start_year,sourcs\n", encoding="utf-8")
    assert "line 1: unknown column 'sourcs'" in invoke(bad).output
    bad.write_text("id,name,kind,region,start_year\n", encoding="utf-8")
    assert "line 1: column 'sources' is missing" in invoke(bad).output
    bad.write_text("id,name,kind,region,start_year,sources\n", encoding="utf-8")
    assert "no agencies" in invoke(bad).output
    bad.write_bytes(b"\xff\xfe\x00\x00\x81")
    assert "neither UTF-8 nor GBK" in invoke(bad).output
    assert "file not found" in invoke(tmp_path / "none.csv").output
