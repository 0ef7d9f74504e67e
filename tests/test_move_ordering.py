"""Moves do not depend on the order answers arrive in one crawl (crawler/spiders/known_first.py).

Real Scrapy crawls (several requests in flight) of sites on 127.0.0.1 whose pages answer after
a chosen delay, real SQLite:

- a redesign whose old URLs answer as gone slowly (404, or a 301 to the home page) while the
  new URLs, with slightly changed texts, answer at once: one `moved` per report, no `new`, no
  `removed`; and the same with the delays the other way round;
- a copy of a report at a second URL that answers before the slow re-check of the original:
  no `moved`, the original stays at its URL, and the copy is what it is when it answers last;
- a genuinely new report of a new year in the same crawl stays `new`.

Two fixtures differing in every surface detail: agency, URL schemes, templates, the way the
old URLs answer as gone, the delays and the years.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

import pytest

from nianbao.crawler.spiders.known_first import STAT_PARKED, STAT_RELEASED_AT_IDLE
from nianbao.demo.site import paragraphs, report_text, trs_article
from nianbao.storage.moves import SIMILARITY_THRESHOLD, similarity
from tests.conftest import crawl, query
from tests.local_sites import LocalSite, write_registry

SLOW = "slow"


@dataclass(frozen=True)
class Portal:
    agency_id: str
    agency: str
    listing: str
    old_path: Callable[[int], str]
    new_path: Callable[[int], str]
    years: tuple[int, ...]
    new_year: int
    gone: str  # "404" or "301 home"
    delay: float
    old_template: str
    new_template: str
    edit: Callable[[str], str]  # the small change a redesign makes to a report's text

    def title(self, year: int) -> str:
        return f"{self.agency}{year}年政府信息公开工作年度报告"

    def text(self, year: int) -> str:
        return report_text(self.agency, year)

    def page(self, year: int, text: str, template: str) -> str:
        date = f"{year + 1}-01-20"
        if template == "trs":
            return trs_article(self.title(year), date, paragraphs(text))
        if template == "plain":
            return f"""<html><head><meta charset="utf-8"><title>{self.title(year)}</title></head><body>
<div class="head">{self.agency}门户网站 | 无障碍 | 长者模式</div>
<div class="detail"><h2>{self.title(year)}</h2><div class="meta">发布日期：{date}</div>
<div id="zoom">{paragraphs(text)}</div></div><div class="foot">网站地图 | 联系我们</div></body></html>"""
        return f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<title>{self.title(year)}_{self.agency}</title></head><body><header><nav>首页 政务公开 互动交流</nav></header>
<main><article><h1 class="article-title">{self.title(year)}</h1><p class="info">来源：{self.agency} 时间：{date}</p>
<section class="article-content">{paragraphs(text)}</section></article></main>
<footer>主办单位：{self.agency} 版权所有</footer></body></html>"""


WATER = Portal(
    agency_id="slj", agency="示例县水利局", listing="/ndbg/",
    old_path=lambda year: f"/ndbg/{year}/a.html",
    new_path=lambda year: f"/content/post_{9000 + year}.html",
    years=(2021, 2022, 2023), new_year=2024, gone="404", delay=2.0,
    old_template="trs", new_template="plain",
    edit=lambda text: text.replace("无。", "无。本报告电子版可在本局门户网站下载。"),
)
FARM = Portal(
    agency_id="nyncj", agency="示例市农业农村局", listing="/col/col4521/index.html",
    old_path=lambda year: f"/art/{year + 1}/1/20/art_4521_{year}88.html",
    new_path=lambda year: f"/zwgk/zfxxgknb/{year}/t{year + 1}0120_{year % 100}3.shtml",
    years=(2019, 2020), new_year=2021, gone="301 home", delay=1.3,
    old_template="plain", new_template="html5",
    edit=lambda text: text.replace("根据《中华人民共和国政府信息公开条例》规定，",
                                   "依据《中华人民共和国政府信息公开条例》（国务院令第711号）规定，"),
)
PORTALS = pytest.mark.parametrize("portal", [WATER, FARM], ids=["water-404", "farm-301"])


def findings(db, kind: str) -> list[dict]:
    return query(db, "SELECT * FROM findings WHERE kind = ? ORDER BY id", (kind,))


def reports(db) -> list[dict]:
    return query(db, "SELECT id, url, year, status, content_hash FROM reports ORDER BY year, id")


def registry(tmp_path, site: LocalSite, portal: Portal):
    return write_registry(tmp_path / f"{portal.agency_id}.yaml", {
        "id": portal.agency_id, "name": portal.agency, "kind": "department",
        "start_year": portal.years[0], "sources": [site.url(portal.listing)]})


def serve_old(site: LocalSite, portal: Portal) -> None:
    site.page("/", f"<html><head><meta charset='utf-8'><title>{portal.agency}</title></head>"
                   "<body><a href='/xxgk/'>政府信息公开</a></body></html>")
    for year in portal.years:
        site.page(portal.old_path(year), portal.page(year, portal.text(year), portal.old_template))
    site.listing(portal.listing, [(portal.old_path(y), portal.title(y)) for y in portal.years])


def make_gone(site: LocalSite, portal: Portal, path: str) -> None:
    if portal.gone == "404":
        site.page(path, "<html><body>404 Not Found</body></html>", status=404)
    else:
        site.redirect(path, site.url("/"), status=301)


@PORTALS
@pytest.mark.parametrize("slow", ["old", "new"])
def test_a_redesign_with_changed_texts_is_moves_whatever_answers_first(tmp_path, portal, slow):
    db = tmp_path / "nianbao.db"
    for year in portal.years:  # the redesign's change leaves the text nearly the same
        assert similarity(portal.text(year), portal.edit(portal.text(year))) >= SIMILARITY_THRESHOLD
        assert portal.edit(portal.text(year)) != portal.text(year)
    with LocalSite() as site:
        serve_old(site, portal)
        config = registry(tmp_path, site, portal)
        crawl(config, db)
        before = reports(db)
        assert [r["year"] for r in before] == list(portal.years)

        for year in portal.years:
            make_gone(site, portal, portal.old_path(year))
            site.page(portal.new_path(year), portal.page(year, portal.edit(portal.text(year)),
                                                         portal.new_template))
            site.delays[portal.old_path(year) if slow == "old" else portal.new_path(year)] = portal.delay
        site.page(portal.new_path(portal.new_year),
                  portal.page(portal.new_year, portal.text(portal.new_year), portal.new_template))
        years = (*portal.years, portal.new_year)
        site.listing(portal.listing, [(portal.new_path(y), portal.title(y)) for y in years])
        crawl(config, db, settings={"CONCURRENT_REQUESTS": "16"})

        after = reports(db)
        assert [(r["id"], r["year"]) for r in after[:-1]] == [(r["id"], r["year"]) for r in before]
        assert after[-1]["id"] > max(r["id"] for r in before)
        assert [r["url"] for r in after] == [site.url(portal.new_path(y)) for y in years]
        assert all(r["status"] == "live" for r in after)
        moved = findings(db, "moved")
        assert sorted(m["report_id"] for m in moved) == sorted(r["id"] for r in before)
        assert all('"matched_by": "similarity"' in m["details"] for m in moved)
        new = findings(db, "new")
        assert len(new) == len(portal.years) + 1  # crawl 1's, and the new year's report
        assert new[-1]["report_id"] == after[-1]["id"] and after[-1]["year"] == portal.new_year
        assert not findings(db, "removed") and not findings(db, "changed")
        assert not query(db, "SELECT * FROM pending_findings WHERE resolved_at IS NULL")
        stats = json.loads(query(db, "SELECT stats FROM crawls ORDER BY id DESC LIMIT 1")[0]["stats"])
        assert stats.get(STAT_PARKED, 0) >= 1  # the listing answered before the re-checks
        assert STAT_RELEASED_AT_IDLE not in stats  # every re-check's end was seen

        crawl(config, db)  # the old URLs still gone: nothing more
        assert len(findings(db, "moved")) == len(portal.years)
        assert len(findings(db, "new")) == len(portal.years) + 1
        assert not findings(db, "removed")


def _copy_crawl(tmp_path, portal: Portal, slow: str) -> tuple[LocalSite, list[dict], dict]:
    """Crawl 1 reads the reports at their URLs; crawl 2 also finds a copy of the first one at
    another URL, the original's re-check or the copy answering slowly. -> the site, the
    reports, the findings by kind."""
    db = tmp_path / slow / "nianbao.db"
    db.parent.mkdir()
    year = portal.years[0]
    copy = portal.new_path(year)
    with LocalSite() as site:
        serve_old(site, portal)
        config = registry(tmp_path / slow, site, portal)
        crawl(config, db)
        site.page(copy, portal.page(year, portal.text(year), portal.old_template))
        links = [(portal.old_path(y), portal.title(y)) for y in portal.years]
        site.listing(portal.listing, [*links, (copy, portal.title(year))])
        site.delays[portal.old_path(year) if slow == "old" else copy] = portal.delay
        crawl(config, db, settings={"CONCURRENT_REQUESTS": "16"})
        kinds = {row["kind"]: row["n"] for row in query(
            db, "SELECT kind, count(*) AS n FROM findings GROUP BY kind")}
        return site, reports(db), kinds


@PORTALS
def test_a_copy_read_before_the_originals_recheck_is_no_move(tmp_path, portal):
    year = portal.years[0]
    site, copy_first, kinds = _copy_crawl(tmp_path, portal, "old")
    assert site.served(portal.new_path(year)) and site.served(portal.old_path(year))
    assert "moved" not in kinds and "removed" not in kinds
    original = [r for r in copy_first if r["year"] == year][0]
    assert original["url"] == site.url(portal.old_path(year)) and original["id"] <= len(portal.years)

    # the copy is what it is when the original answers first (the order the code expects)
    site, original_first, expected = _copy_crawl(tmp_path, portal, "new")
    assert kinds == expected
    assert ([(r["year"], r["status"], r["content_hash"]) for r in copy_first]
            == [(r["year"], r["status"], r["content_hash"]) for r in original_first])
    assert [r["url"].rsplit("/", 1)[-1] for r in copy_first] == [
        r["url"].rsplit("/", 1)[-1] for r in original_first]


def test_every_way_a_recheck_ends_lets_the_new_links_go(tmp_path):
    """Known re-checks that answer as themselves (slowly or at once), 404, 503 (retried, then
    given up) and a 301 home each end the wait: the new report's link is fetched when the last
    one ends, not only when the spider goes idle, and it is `new`."""
    db = tmp_path / "nianbao.db"
    portal = Portal(
        agency_id="tjj", agency="示例县统计局", listing="/xxgk/nb/",
        old_path=lambda year: f"/xxgk/nb/{year}/content_{year}.html",
        new_path=lambda year: f"/xxgk/nb/{year}/content_{year}.html",
        years=(2016, 2017, 2018, 2019, 2020), new_year=2021, gone="404", delay=1.0,
        old_template="html5", new_template="html5", edit=lambda text: text)
    with LocalSite() as site:
        serve_old(site, portal)
        config = registry(tmp_path, site, portal)
        crawl(config, db)
        assert len(reports(db)) == len(portal.years)
        first, second, third, fourth, fifth = (portal.old_path(y) for y in portal.years)
        site.page(second, "<html>404</html>", status=404)
        site.page(third, "<html>busy</html>", status=503)
        site.redirect(fourth, site.url("/"), status=301)
        for path in (first, second, third, fourth):
            site.delays[path] = portal.delay
        new = portal.new_path(portal.new_year)
        site.page(new, portal.page(portal.new_year, portal.text(portal.new_year), portal.new_template))
        years = (portal.new_year, *portal.years)
        site.listing(portal.listing, [(portal.old_path(y), portal.title(y)) for y in years])
        start = len(site.requests)
        crawl(config, db, settings={"CONCURRENT_REQUESTS": "16"})
        stats = json.loads(query(db, "SELECT stats FROM crawls ORDER BY id DESC LIMIT 1")[0]["stats"])
        assert stats.get(STAT_PARKED) == 1 and STAT_RELEASED_AT_IDLE not in stats
        asked = site.requests[start:]
        assert asked.count(third) == 2 and fifth in asked  # 503: retried once, then given up
        assert asked.index(new) > max(i for i, path in enumerate(asked) if path == third)
    assert [r["year"] for r in reports(db)] == [*portal.years, portal.new_year]
    assert [f["report_id"] for f in findings(db, "new")][-1] == reports(db)[-1]["id"]
    assert not findings(db, "moved") and not findings(db, "removed")
