"""The demo's agency whose reports carry the standard statistical tables (`demo-stats`).

A plain column (next-page links, `#zoom` article bodies) of a municipal bureau: a 2017 report
that states its figures only in prose, a 2019-format report and a 2021-format report whose
tables add up, and a 2022 report (2021 format) whose tables do not: `nianbao stats` reads
them, `nianbao check` raises one `inconsistent` finding for the last.
"""

from __future__ import annotations

import html

from nianbao.demo.site import FOOTER, HEADER, Page, Site
from nianbao.demo.stats_tables import INCONSISTENT_2021, SAMPLE_2019, SAMPLE_2021, report_body

AGENCY = "示例市生态环境局"
PREFIX = "/sthjj/xxgk/ndbg"

PROSE_2017 = """<p>根据《中华人民共和国政府信息公开条例》和《示例市政府信息公开工作考核办法》（示政办〔2017〕12号）要求，现公布本局2017年度政府信息公开工作年度报告。本报告统计期限自2017年1月1日起至2017年12月31日止。</p>
<p>一、概述</p>
<p>2017年，本局全年主动公开政府信息1356条，其中通过门户网站公开1203条。</p>
<p>二、依申请公开情况</p>
<p>全年共受理政府信息公开申请23件，依申请公开总数为21条，按时办结率100%。咨询电话：0551-62345678。</p>
<p>三、行政复议和诉讼情况</p>
<p>全年未发生因政府信息公开引起的行政复议、行政诉讼。</p>"""


def zoom_article(title: str, date: str, body_html: str) -> str:
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head><body>
{HEADER}
<div class="detail"><div class="detail-title">{html.escape(title)}</div>
<div class="detail-info"><span>发布日期：{date}</span><span>来源：{AGENCY}</span></div>
<div id="zoom">{body_html}</div></div>
{FOOTER.format(site=AGENCY)}</body></html>"""


def build_stats(site: Site, base: str) -> None:
    reports = [
        ("202301/t20230120_22.html", 2022, "2023-01-20",
         report_body(INCONSISTENT_2021, "2021", AGENCY, 2022, prose_requests=30)),
        ("202201/t20220125_21.html", 2021, "2022-01-25",
         report_body(SAMPLE_2021, "2021", AGENCY, 2021, prose_requests=50)),
        ("202001/t20200120_19.html", 2019, "2020-01-20",
         report_body(SAMPLE_2019, "2019", AGENCY, 2019, prose_requests=20)),
        ("201803/t20180320_17.html", 2017, "2018-03-20", PROSE_2017),
    ]
    items = []
    for path, year, date, body in reports:
        title = f"{AGENCY}{year}年政府信息公开工作年度报告"
        site.add(f"{PREFIX}/{path}", Page(zoom_article(title, date, body).encode("utf-8")))
        items.append(f'<li><a href="{PREFIX}/{path}">{html.escape(title)}</a><span>{date}</span></li>')
    listing = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>政府信息公开年报_{AGENCY}</title></head><body>
{HEADER}<ul class="list">{"".join(items)}</ul>{FOOTER.format(site=AGENCY)}</body></html>"""
    site.add(f"{PREFIX}/index.html", Page(listing.encode("utf-8")))
    site.agencies.append(dict(
        id="demo-stats", name=AGENCY, kind="department", region="示例省示例市", start_year=2017,
        sources=[f"{base}{PREFIX}/index.html"],
    ))
