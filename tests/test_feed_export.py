"""`scrapy crawl reports -a agency=... -O FILE` as the README writes it (`.venv/bin/scrapy`,
from the repository root): real crawls of a local site, the feed read back."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from tests.conftest import FAST_SETTINGS, REPO, query
from tests.local_sites import LocalSite, write_registry

pytestmark = pytest.mark.timeout(120)
SCRAPY = Path(sys.executable).parent / "scrapy"  # .venv/bin/scrapy
TITLES = {2019: "示例县人民政府2019年政府信息公开工作年度报告", 2020: "示例县人民政府2020年政府信息公开工作年度报告"}


@pytest.fixture
def site(tmp_path):
    with LocalSite() as running:
        running.listing("/col/list.html", [(f"/ndbg/t{y}.html", t) for y, t in TITLES.items()])
        for year, title in TITLES.items():
            running.report(f"/ndbg/t{year}.html", title, year)
        # a GBK page: its raw bytes are no UTF-8 (they were what broke the JSON export)
        running.answers["/ndbg/gbk.html"] = (200, {"Content-Type": "text/html; charset=gbk"}, (
            "<html><head><title>示例县人民政府2018年政府信息公开工作年度报告</title></head><body>"
            "<h1>示例县人民政府2018年政府信息公开工作年度报告</h1><div id='zoom'><p>"
            + "本报告根据《中华人民共和国政府信息公开条例》编制。" * 20 + "</p></div></body></html>"
        ).encode("gbk"))
        running.listing("/col/list2.html", [("/ndbg/gbk.html", "示例县人民政府2018年政府信息公开工作年度报告")])
        config = write_registry(tmp_path / "agencies.yaml",
                                {"id": "xian-a", "sources": [running.url("/col/list.html")]},
                                {"id": "xian-b", "sources": [running.url("/col/list2.html")]})
        yield config, tmp_path


def scrapy_crawl(config, tmp_path, out: str, agency: str = "xian-a,xian-b"):
    flags = [arg for k, v in FAST_SETTINGS.items() for arg in ("-s", f"{k}={v}")]
    result = subprocess.run(
        [str(SCRAPY), "crawl", "reports", "-a", f"agency={agency}", "-O", out, *flags,
         "-s", "LOG_LEVEL=WARNING"],
        cwd=REPO, capture_output=True, text=True, timeout=100,
        env={**os.environ, "NIANBAO_CONFIG": str(config), "NIANBAO_DB": str(tmp_path / "nianbao.db"),
             "NIANBAO_PROGRESS": "off"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "TypeError" not in result.stderr and "Error caught on signal handler" not in result.stderr
    return result


def test_jsonlines_export_has_the_reports_without_raw_bytes(site):
    config, tmp_path = site
    out = tmp_path / "reports.jsonl"
    scrapy_crawl(config, tmp_path, str(out))
    items = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {i["title"] for i in items} == {*TITLES.values(), "示例县人民政府2018年政府信息公开工作年度报告"}
    for item in items:
        assert "raw_page" not in item
        assert item["text"] and item["url"].startswith("http://127.0.0.1:") and item["year"]
    # the store has the same reports, raw pages kept
    assert query(tmp_path / "nianbao.db", "SELECT count(*) n FROM versions WHERE raw_page IS NOT NULL")[0]["n"] == 3


def test_json_csv_and_xml_exports(site):
    config, tmp_path = site
    scrapy_crawl(config, tmp_path, str(tmp_path / "r.json"), agency="xian-b")
    [item] = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert "本报告根据" in item["text"] and "raw_page" not in item
    scrapy_crawl(config, tmp_path, str(tmp_path / "r.csv"), agency="xian-a")
    rows = list(csv.DictReader((tmp_path / "r.csv").read_text(encoding="utf-8").splitlines()))
    assert sorted(r["year"] for r in rows) == ["2019", "2020"] and "raw_page" not in rows[0]
    scrapy_crawl(config, tmp_path, str(tmp_path / "r.xml"), agency="xian-a")
    root = ET.parse(tmp_path / "r.xml").getroot()
    assert len(root) == 2 and root[0].find("raw_page") is None and root[0].findtext("title") in TITLES.values()
    # a re-crawl of unchanged reports exports what it saw: the report as stored (title, year)
    # and how it answered ('same_bytes': not extracted again), without text
    assert {item.findtext("answer") for item in root} == {"same_bytes"}
    assert sorted(item.findtext("year") for item in root) == ["2019", "2020"]
