"""A demo agency whose reports are documents (issue 9): ``demo-attach``.

A TRS-style column of 示例县市场监督管理局: its 2021 report is an article that only says 详见附件
and links a PDF (a CID font under GBK-EUC-H without ToUnicode, with the statistics table),
its 2020 report is a DOCX linked straight from the listing (the anchor gives the title). The
files are in demo/content/ (made with reportlab and by tests/document_files.py).
"""

from __future__ import annotations

import html

from nianbao.demo.site import CONTENT_DIR, Page, Site, trs_article

AGENCY = "示例县市场监督管理局"
COLUMN = "/scjg/xxgk/ndbg/"


def build_attach(site: Site, base: str) -> None:
    pdf = (CONTENT_DIR / "attach-2021.pdf").read_bytes()
    docx = (CONTENT_DIR / "attach-2020.docx").read_bytes()
    site.add(f"{COLUMN}202201/P020220125512345.pdf", Page(pdf, content_type="application/pdf"))
    site.add(f"{COLUMN}202101/P020210126398765.docx", Page(
        docx, content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document"))
    t2021 = f"{AGENCY}2021年政府信息公开工作年度报告"
    t2020 = f"{AGENCY}2020年政府信息公开工作年度报告"
    body = ('<p>现将《' + html.escape(t2021) + '》予以公布，详见附件。</p>'
            '<p>附件：<a href="./P020220125512345.pdf">' + html.escape(t2021) + '.pdf</a></p>')
    site.add(f"{COLUMN}202201/t20220125_512345.html",
             Page(trs_article(t2021, "2022-01-25", body, site="示例县人民政府").encode("utf-8")))
    rows = [(f"./202201/t20220125_512345.html", t2021, "2022-01-25"),
            (f"./202101/P020210126398765.docx", t2020, "2021-01-26")]
    items = "".join(f'<li><a href="{href}" title="{html.escape(title)}">{html.escape(title)}</a>'
                    f"<span>{date}</span></li>" for href, title, date in rows)
    listing = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>年度报告-{AGENCY}</title></head>"
               f"<body><ul class='list'>{items}</ul></body></html>")
    site.add(f"{COLUMN}index.html", Page(listing.encode("utf-8")))
    site.agencies.append(dict(
        id="demo-attach", name=AGENCY, kind="department", region="示例省示例县", start_year=2020,
        sources=[f"{base}{COLUMN}index.html"],
    ))
