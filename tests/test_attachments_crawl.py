"""Reports that are documents: real Scrapy crawls of two local portals, real SQLite.

Portal A (TRS style, files under ./YYYYMM/P0...pdf with honest types and extensions) and portal
B (Hanweb style, files behind download.jsp?filename=... as application/octet-stream, a DOCX
named .doc, an OFD, a PDF in the other CMap) differ in every surface detail. Each has: an
article that only points at its attachment, an article with its own text and an attachment, a
file linked straight from the listing, a file that cannot be read (scanned PDF / image-only
OFD), an oversized file, hostile files, an attachment on another host. A second crawl brings
a re-saved file with the same text (no `changed`) and a file whose text changed (`changed`).
"""

from __future__ import annotations

import json
import zlib

import pytest

from nianbao.demo.site import trs_article
from tests import document_files as made
from tests.conftest import crawl, query, run_nianbao
from tests.local_sites import LocalSite, write_registry

A_TITLE = "某某市民政局{year}年政府信息公开工作年度报告"
B_TITLE = "乙县人民政府办公室{year}年度政府信息公开工作报告"
SUBSTANCE = ("本机关{year}年度政府信息公开工作总体平稳有序。全年主动公开政府信息三百余条，"
             "围绕重点领域加强解读回应，依申请公开办理规范，未发生因政府信息公开引起的行政复议和行政诉讼。"
             "存在的主要问题是公开内容的针对性有待加强，下一步将完善制度、加强培训、提升质量。")
MAX_BYTES = 300_000


def serve(site: LocalSite, path: str, body: bytes, content_type: str) -> None:
    site.answers[path] = (200, {"Content-Type": content_type}, body)


def article(title: str, body: str, links: list[tuple[str, str]]) -> str:
    anchors = "".join(f'<p>附件：<a href="{href}">{text}</a></p>' for href, text in links)
    return trs_article(title, "2022-01-20", f"<p>{body}</p>{anchors}")


def hanweb_article(title: str, body: str, links: list[tuple[str, str]]) -> str:
    anchors = "".join(f'<div class="fj"><a href="{href}" target="_blank">{text}</a></div>' for href, text in links)
    return (f"<html><head><meta charset='utf-8'><title>{title}</title>"
            f"<meta name='ArticleTitle' content='{title}'></head><body><div class='main'>"
            f"<h1>{title}</h1><div class='info'>发布时间：2023-01-18</div>"
            f"<!--ZJEG_RSS.content.begin--><div>{body}</div>{anchors}<!--ZJEG_RSS.content.end-->"
            "</div></body></html>")


def oversized_pdf() -> bytes:
    # a real PDF padded past the cap: pages of text, then a large comment
    return made.cid_pdf(made.REPORT_LINES_A) + b"%" + b"x" * (MAX_BYTES + 1000) + b"\n"


def build_a(site: LocalSite, other: LocalSite, *, second: bool = False) -> None:
    t = lambda y: A_TITLE.format(year=y)  # noqa: E731
    rows = []
    # 2021: the article only points at its PDF (CID font, GBK-EUC-H, no ToUnicode, a table)
    pdf = made.cid_pdf(made.REPORT_LINES_A, made.TABLE_A, encoding="GBK-EUC-H")
    if second:  # re-saved: other bytes (two pages of the same text would differ; here metadata)
        pdf = pdf.replace(b"%PDF-1.4", b"%PDF-1.4\n%resaved", 1)
    serve(site, "/xxgk/ndbg/202201/P020220120001.pdf", pdf, "application/pdf")
    site.page("/xxgk/ndbg/202201/t20220120_1.html",
              article(t(2021), "现将《" + t(2021) + "》予以公布，详见附件。",
                      [("./P020220120001.pdf", t(2021) + ".pdf")]))
    rows.append(("/xxgk/ndbg/202201/t20220120_1.html", t(2021)))
    # 2020: an article with its own text and a DOCX
    words = made.REPORT_LINES_B[2] if not second else "全年通过政府网站发布信息五百零一条，解读材料十五篇。"
    serve(site, "/xxgk/ndbg/202101/P020210120002.docx",
          made.docx(made.REPORT_LINES_A[:2] + [words], made.TABLE_A),
          "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    site.page("/xxgk/ndbg/202101/t20210120_2.html",
              article(t(2020), SUBSTANCE.format(year=2020), [("./P020210120002.docx", "统计表.docx")]))
    rows.append(("/xxgk/ndbg/202101/t20210120_2.html", t(2020)))
    # 2019: a .doc linked straight from the listing
    serve(site, "/xxgk/ndbg/202001/P020200120003.doc", made.doc_file("report-a.doc"), "application/msword")
    rows.append(("/xxgk/ndbg/202001/P020200120003.doc", t(2019)))
    # 2018: a scanned PDF (images only)
    serve(site, "/xxgk/ndbg/201901/P020190120004.pdf", made.scanned_pdf(2), "application/pdf")
    site.page("/xxgk/ndbg/201901/t20190120_4.html",
              article(t(2018), "详见附件。", [("./P020190120004.pdf", "扫描件.pdf")]))
    rows.append(("/xxgk/ndbg/201901/t20190120_4.html", t(2018)))
    # 2017: the attachment lives on a host the agency does not list
    serve(other, "/files/2017.pdf", made.cid_pdf(made.REPORT_LINES_A), "application/pdf")
    site.page("/xxgk/ndbg/201801/t20180120_5.html",
              article(t(2017), "详见附件。", [(other.url("/files/2017.pdf"), "2017年报.pdf")]))
    rows.append(("/xxgk/ndbg/201801/t20180120_5.html", t(2017)))
    # 2016: an oversized file, kept but not read
    serve(site, "/xxgk/ndbg/201701/P020170120006.pdf", oversized_pdf(), "application/pdf")
    site.page("/xxgk/ndbg/201701/t20170120_6.html",
              article(t(2016), "详见附件。", [("./P020170120006.pdf", "2016.pdf")]))
    rows.append(("/xxgk/ndbg/201701/t20170120_6.html", t(2016)))
    # 2015: hostile files: a zip bomb and an entity bomb in DOCX
    serve(site, "/xxgk/ndbg/201601/P020160120007.docx", made.zip_bomb_docx(250 * 1024 * 1024), "application/octet-stream")
    serve(site, "/xxgk/ndbg/201601/P020160120008.docx", made.entity_bomb_docx(), "application/octet-stream")
    site.page("/xxgk/ndbg/201601/t20160120_7.html",
              article(t(2015), "详见附件。", [("./P020160120007.docx", "a.docx"), ("./P020160120008.docx", "b.docx")]))
    rows.append(("/xxgk/ndbg/201601/t20160120_7.html", t(2015)))
    site.listing("/xxgk/ndbg/index.html", rows)


def build_b(site: LocalSite, *, second: bool = False) -> None:
    t = lambda y: B_TITLE.format(year=y)  # noqa: E731
    dl = "/module/download/downfile.jsp?classid=0&filename="
    rows = []
    # 2022: pointer article, PDF in UniGB-UCS2-H behind a download script, typed octet-stream
    pdf = made.cid_pdf(made.REPORT_LINES_B, made.TABLE_B, encoding="UniGB-UCS2-H")
    serve(site, dl + "2301181001.pdf", pdf, "application/octet-stream")
    site.page("/art/2023/1/18/art_3302_101.html",
              hanweb_article(t(2022), "点击下载：", [(dl + "2301181001.pdf", "附件下载")]))
    rows.append(("/art/2023/1/18/art_3302_101.html", t(2022)))
    # 2021: own text plus a DOCX that the site names .doc (the bytes decide); the file is on
    # a second host the agency lists in `domains`
    lines = made.REPORT_LINES_B if not second else made.REPORT_LINES_B[:3] + ["全年受理申请二十五件，均已按期办结。"]
    serve(site, "/art/2022/1/18/files/2021-tongji.doc", made.docx(lines, made.TABLE_B), "application/msword")
    site.page("/art/2022/1/18/art_3302_102.html",
              hanweb_article(t(2021), SUBSTANCE.format(year=2021),
                             [(site.url("/art/2022/1/18/files/2021-tongji.doc", host="localhost"), "统计数据")]))
    rows.append(("/art/2022/1/18/art_3302_102.html", t(2021)))
    # 2020: an OFD straight from the listing (re-saved in the second crawl: same text)
    ofd = _resaved_ofd(made.REPORT_LINES_B) if second else made.ofd(made.REPORT_LINES_B)
    serve(site, dl + "2020nb.ofd", ofd, "application/ofd")
    rows.append((dl + "2020nb.ofd", t(2020)))
    # 2019: an OFD of images only (no TextCode): unreadable
    scan = made.ofd([], extra_text_xml=(
        '<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="http://www.ofdspec.org/2016">'
        '<ofd:Content><ofd:Layer ID="2"><ofd:ImageObject ID="9" ResourceID="7" Boundary="0 0 210 297"/>'
        "</ofd:Layer></ofd:Content></ofd:Page>"))
    serve(site, dl + "2019scan.ofd", scan, "application/octet-stream")
    site.page("/art/2020/1/15/art_3302_103.html",
              hanweb_article(t(2019), "请点击附件查看。", [(dl + "2019scan.ofd", "2019年报（OFD版）")]))
    rows.append(("/art/2020/1/15/art_3302_103.html", t(2019)))
    # 2018: a .doc from the listing (the other committed one), typed octet-stream
    serve(site, dl + "2018.doc", made.doc_file("report-b.doc"), "application/octet-stream")
    rows.append((dl + "2018.doc", t(2018)))
    # 2017: a broken PDF and an encrypted PDF
    serve(site, dl + "2017a.pdf", made.malformed_pdf(), "application/pdf")
    serve(site, dl + "2017b.pdf", made.cid_pdf(made.REPORT_LINES_B, encrypt="gov2018"), "application/pdf")
    site.page("/art/2018/1/15/art_3302_104.html",
              hanweb_article(t(2017), "见附件。", [(dl + "2017a.pdf", "正文"), (dl + "2017b.pdf", "正文（加密）")]))
    rows.append(("/art/2018/1/15/art_3302_104.html", t(2017)))
    # 2016: oversized OFD-typed download that is really a PDF
    serve(site, dl + "2016.ofd", oversized_pdf(), "application/ofd")
    site.page("/art/2017/1/15/art_3302_105.html",
              hanweb_article(t(2016), "详见附件", [(dl + "2016.ofd", "下载")]))
    rows.append(("/art/2017/1/15/art_3302_105.html", t(2016)))
    site.listing("/col/col3302/index.html", rows)


def _resaved_ofd(lines: list[str]) -> bytes:
    """The same OFD text written again: other bytes (stored, not deflated), same text."""
    import io
    import zipfile

    original = zipfile.ZipFile(io.BytesIO(made.ofd(lines)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for name in original.namelist():
            z.writestr(name, original.read(name))
    return out.getvalue()


@pytest.fixture
def portals(tmp_path):
    with LocalSite() as a, LocalSite("127.0.0.2") as elsewhere, LocalSite() as b:
        build_a(a, elsewhere)
        build_b(b)
        config = write_registry(
            tmp_path / "agencies.yaml",
            {"id": "att-a", "sources": [a.url("/xxgk/ndbg/index.html")]},
            {"id": "att-b", "sources": [b.url("/col/col3302/index.html")], "domains": [f"localhost:{b.port}"]},
        )
        yield a, elsewhere, b, config


SETTINGS = {"NIANBAO_DOCUMENT_MAX_BYTES": str(MAX_BYTES), "NIANBAO_DOCUMENT_TIMEOUT": "30"}


def reports_by_year(db, agency):
    return {r["year"]: r for r in query(db, "SELECT * FROM reports WHERE agency_id = ?", [agency])}


def attachment_rows(db, report_id):
    return query(db, "SELECT * FROM attachments WHERE report_id = ? ORDER BY id", [report_id])


def squash(text: str) -> str:
    return "".join(text.split())


def test_reports_that_are_documents(portals, tmp_path):
    a, elsewhere, b, config = portals
    db = tmp_path / "nianbao.db"
    crawl(config, db, settings=SETTINGS)
    ra, rb = reports_by_year(db, "att-a"), reports_by_year(db, "att-b")

    # -- a pointer article takes its file's text: CID fonts without ToUnicode, tables as rows
    for report, lines, table in ((ra[2021], made.REPORT_LINES_A, made.TABLE_A),
                                 (rb[2022], made.REPORT_LINES_B, made.TABLE_B)):
        text = report["text"]
        assert "(cid:" not in text and "\ufffd" not in text
        for line in lines[1:]:
            assert squash(line) in squash(text), line
        assert " | ".join(table[2]) in text
        assert "详见附件" not in text and "点击下载" not in text
        [row] = attachment_rows(db, report["id"])
        assert row["extraction_status"] == "ok" and row["kind"] == "pdf" and row["version"] == 1
        stored = query(db, "SELECT * FROM attachment_files WHERE sha256 = ?", [row["sha256"]])[0]
        assert stored["file_name"] == f"{row['sha256']}.pdf"
        assert zlib.decompress(stored["content"])[:5] == b"%PDF-"
        assert report["kind"] == "annual_report"
    assert attachment_rows(db, rb[2022]["id"])[0]["content_type"] == "application/octet-stream"

    # -- an article with text of its own keeps it, then the attachment's text
    for report, marker in ((ra[2020], "P020210120002.docx"), (rb[2021], "2021-tongji.doc")):
        text = report["text"]
        assert text.index("总体平稳有序") < text.index(f"【附件：{marker}】") < text.index("一、总体情况" if report is ra[2020] else "（一）主动公开情况")
        [row] = attachment_rows(db, report["id"])
        assert row["kind"] == "docx" and row["extraction_status"] == "ok"
    assert "信息内容 | 本年制发件数 | 本年废止件数 | 现行有效件数" in ra[2020]["text"]

    # -- a file linked straight from the listing is a report: anchor title, year, file text
    for report, title, first in ((ra[2019], A_TITLE.format(year=2019), made.REPORT_LINES_A[2]),
                                 (rb[2018], B_TITLE.format(year=2018), made.REPORT_LINES_B[2]),
                                 (rb[2020], B_TITLE.format(year=2020), made.REPORT_LINES_B[4])):
        assert report["title"] == title and report["kind"] == "annual_report"
        assert squash(first) in squash(report["text"])
        [row] = attachment_rows(db, report["id"])
        assert row["extraction_status"] == "ok" and row["url"] == report["url"]
    assert "项目 | 自然人 | 法人或其他组织 | 总计" in rb[2018]["text"]

    # -- what cannot be read is kept with its status and reason, never silently empty
    def status(report):
        return [(r["kind"], r["extraction_status"]) for r in attachment_rows(db, report["id"])]
    assert status(ra[2018]) == [("pdf", "scanned")] and ra[2018]["text"].startswith("详见附件")  # the page's own words
    assert status(rb[2019]) == [("ofd", "scanned")]
    assert status(ra[2016]) == [("pdf", "too_large")] and status(rb[2016]) == [("pdf", "too_large")]
    assert "NIANBAO_DOCUMENT_MAX_BYTES" in attachment_rows(db, ra[2016]["id"])[0]["reason"]
    assert sorted(status(ra[2015])) == [("docx", "malformed"), ("docx", "malformed")]
    reasons = " ".join(r["reason"] for r in attachment_rows(db, ra[2015]["id"]))
    assert "zip bomb" in reasons and "entities" in reasons
    assert sorted(status(rb[2017])) == [("pdf", "encrypted"), ("pdf", "malformed")]
    sizes = {r["size"] for r in query(db, "SELECT size FROM attachment_files")}
    assert max(sizes) > MAX_BYTES  # the oversized files are kept

    # -- another host: not fetched unless listed in domains; the fetch log says why
    assert not elsewhere.served("/files/2017.pdf")
    assert attachment_rows(db, ra[2017]["id"]) == []
    skipped = query(db, "SELECT error, purpose FROM fetch_log WHERE url LIKE ?", ["%/files/2017.pdf"])
    assert skipped and skipped[0]["purpose"] == "attachment" and "not a configured origin" in skipped[0]["error"]
    assert b.served("/art/2022/1/18/files/2021-tongji.doc")  # localhost:port is in att-b's domains

    # -- nothing crashed: every report is stored, every version has its extractor
    assert len(ra) == 7 and len(rb) == 7
    assert not query(db, "SELECT 1 FROM findings WHERE kind NOT IN ('new')")

    # -- second crawl: re-saved files with the same text are no change; changed texts are
    build_a(a, elsewhere, second=True)
    build_b(b, second=True)
    crawl(config, db, settings=SETTINGS)
    changed = query(db, "SELECT r.agency_id, r.year, f.details FROM findings f "
                        "JOIN reports r ON r.id = f.report_id WHERE f.kind = 'changed'")
    assert sorted((c["agency_id"], c["year"]) for c in changed) == [("att-a", 2020), ("att-b", 2021)]
    detail = json.loads([c for c in changed if c["year"] == 2020][0]["details"])
    assert "五百零一条" in detail["diff"]
    ra2, rb2 = reports_by_year(db, "att-a"), reports_by_year(db, "att-b")
    for before, after in ((ra[2021], ra2[2021]), (rb[2020], rb2[2020])):
        assert after["current_version"] == 1 and after["text"] == before["text"]
        rows = attachment_rows(db, after["id"])
        assert len(rows) == 2 and rows[0]["sha256"] != rows[1]["sha256"]
        assert {r["version"] for r in rows} == {1}
    assert ra2[2020]["current_version"] == 2 and "五百零一条" in ra2[2020]["text"]
    assert [r["version"] for r in attachment_rows(db, ra2[2020]["id"])] == [1, 2]
    # unchanged files are not read again (what reading them gave is in `attachments`)
    stats = json.loads(query(db, "SELECT stats FROM crawls ORDER BY id DESC LIMIT 1")[0]["stats"])
    # the two committed .doc files: the very bytes read before are not even handed to the
    # pipeline (storage/freshness.py: same_bytes), or their reading is taken from `attachments`
    assert (stats.get("nianbao/attachments/known", 0)
            + stats.get("nianbao/reports/same_bytes", 0)) >= 2, stats
    assert [r["text"] for r in attachment_rows(db, ra2[2021]["id"])][0].startswith(made.REPORT_LINES_A[0])
    # unchanged files add no rows
    assert len(attachment_rows(db, ra2[2019]["id"])) == 1 and len(attachment_rows(db, rb2[2018]["id"])) == 1

    # -- reextract reads the stored files again (the portals are not asked)
    served = len(a.requests) + len(b.requests)
    with_old = query(db, "SELECT count(*) AS n FROM versions")[0]["n"]
    import sqlite3
    con = sqlite3.connect(db)
    con.execute("UPDATE versions SET extractor_version = 3")
    con.commit()
    con.close()
    # the same caps as the crawl (environment variables of the settings' names)
    result = run_nianbao("reextract", "--config", str(config), "--db", str(db),
                         env={"NIANBAO_DOCUMENT_MAX_BYTES": str(MAX_BYTES)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "0 failed" in result.stdout
    assert len(a.requests) + len(b.requests) == served
    assert query(db, "SELECT count(*) AS n FROM versions")[0]["n"] == with_old  # same texts
    assert query(db, "SELECT min(extractor_version) AS v FROM versions v JOIN reports r "
                     "ON r.id = v.report_id AND v.version = r.current_version")[0]["v"] >= 4


def test_reading_attachments_for_the_first_time_or_losing_one_is_no_change(portals, tmp_path):
    """A store made before attachments were read (here: NIANBAO_MAX_ATTACHMENTS=0) learns
    their text without a `changed` finding; an attachment read before that fails now (5xx)
    leaves the report as it was (nothing recorded, the fetch log says why)."""
    a, elsewhere, b, config = portals
    db = tmp_path / "nianbao.db"
    crawl(config, db, settings={**SETTINGS, "NIANBAO_MAX_ATTACHMENTS": "0"})
    before = {**{("a", y): r for y, r in reports_by_year(db, "att-a").items()},
              **{("b", y): r for y, r in reports_by_year(db, "att-b").items()}}
    assert "详见附件" in before[("a", 2021)]["text"] and "点击下载" in before[("b", 2022)]["text"]
    assert not query(db, "SELECT 1 FROM attachments WHERE url NOT IN (SELECT url FROM reports)")

    # the pages' bytes move between crawls (a counter, a timestamp in a comment): only their
    # text counts, so reading their files for the first time is still no change
    for site, path in ((a, "/xxgk/ndbg/202201/t20220120_1.html"), (b, "/art/2023/1/18/art_3302_101.html")):
        status, headers, body = site.answers[path]
        site.answers[path] = (status, headers, body.replace(b"</body>", b"<!-- hits 4711 --></body>"))
    crawl(config, db, settings=SETTINGS)
    assert not query(db, "SELECT kind FROM findings WHERE kind != 'new'")
    ra, rb = reports_by_year(db, "att-a"), reports_by_year(db, "att-b")
    for report, line in ((ra[2021], made.REPORT_LINES_A[2]), (rb[2022], made.REPORT_LINES_B[2]),
                         (ra[2020], made.REPORT_LINES_A[1]), (rb[2021], made.REPORT_LINES_B[1])):
        assert squash(line) in squash(report["text"])
        assert report["current_version"] == 2
        [version] = query(db, "SELECT source FROM versions WHERE report_id = ? AND version = 2", [report["id"]])
        assert version["source"] == "crawl"
        assert {r["version"] for r in attachment_rows(db, report["id"])} == {2}

    # the files answer 503 / 500 now: a transient fault, never a change
    a.answers["/xxgk/ndbg/202201/P020220120001.pdf"] = (503, {"Content-Type": "text/html"}, b"<html>busy</html>")
    dl = "/module/download/downfile.jsp?classid=0&filename=2301181001.pdf"
    b.answers[dl] = (500, {"Content-Type": "text/plain"}, b"Internal Server Error")
    crawl(config, db, settings=SETTINGS)
    assert not query(db, "SELECT kind FROM findings WHERE kind != 'new'")
    after_a, after_b = reports_by_year(db, "att-a"), reports_by_year(db, "att-b")
    assert after_a[2021]["text"] == ra[2021]["text"] and after_b[2022]["text"] == rb[2022]["text"]
    notes = [r["error"] for r in query(db, "SELECT error FROM fetch_log WHERE error LIKE '%not recorded this time%'")]
    assert len(notes) == 2 and all("could not be fetched" in n for n in notes)

    # a file read before that arrives cut (200, half its bytes) is damage, not a new text
    pdf = made.cid_pdf(made.REPORT_LINES_A, made.TABLE_A)
    serve(a, "/xxgk/ndbg/202201/P020220120001.pdf", pdf[: len(pdf) // 3], "application/pdf")
    docx = made.docx(made.REPORT_LINES_B, made.TABLE_B)
    serve(b, "/art/2022/1/18/files/2021-tongji.doc", docx[: len(docx) // 2], "application/msword")
    crawl(config, db, settings=SETTINGS)
    assert not query(db, "SELECT kind FROM findings WHERE kind != 'new'")
    assert reports_by_year(db, "att-a")[2021]["text"] == ra[2021]["text"]
    assert reports_by_year(db, "att-b")[2021]["text"] == rb[2021]["text"]
    notes = [r["error"] for r in query(db, "SELECT error FROM fetch_log WHERE error LIKE '%unreadable now%'")]
    assert len(notes) == 2
