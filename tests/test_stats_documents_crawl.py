"""Reports whose standard tables exist only in a PDF or DOCX: a real Scrapy crawl of two local
portals (127.0.0.1), real SQLite; every figure stored with source 'table', the report_figures
row, the checks, and `nianbao check`'s `inconsistent` finding.

Portal A (TRS style, honest types): a 详见附件 article pointing at a PDF of the 2021 format
(ruled tables, spans, CID font STSong-Light without ToUnicode) and a 2019-format DOCX linked
straight from the listing (merged cells as gridSpan/vMerge). Portal B (Hanweb style, files
behind a download script as application/octet-stream) differs in every surface detail:
traditional characters, full-width digits, spaced labels, Word's split runs, section 三's
table breaking over two PDF pages with its header rows repeated and page numbers between,
a DOCX named .doc, and its 2022 report's figures do not add up.
"""

from __future__ import annotations

import json

import pytest

from nianbao.demo.stats_tables import INCONSISTENT_2021, SAMPLE_2019, SAMPLE_2021
from tests import stats_documents as made
from tests.conftest import crawl, query, run_nianbao
from tests.local_sites import LocalSite, write_registry
from tests.test_attachments_crawl import article, hanweb_article, serve

A_AGENCY, B_AGENCY = "某某市民政局", "乙县人民政府办公室"
A_TITLE = A_AGENCY + "{year}年政府信息公开工作年度报告"
B_TITLE = B_AGENCY + "{year}年度政府信息公开工作报告"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
VARIANT = made.Surface(traditional=True, full_width_digits=True, spaced_labels=True)
SETTINGS = {"NIANBAO_DOCUMENT_TIMEOUT": "60"}


def build_a(site: LocalSite) -> None:
    pdf = made.stats_pdf(made.report_parts(SAMPLE_2021, "2021", A_AGENCY, 2021))
    serve(site, "/xxgk/ndbg/202201/P020220120001.pdf", pdf, "application/pdf")
    title = A_TITLE.format(year=2021)
    site.page("/xxgk/ndbg/202201/t20220120_1.html",
              article(title, f"现将《{title}》予以公布，详见附件。", [("./P020220120001.pdf", title + ".pdf")]))
    docx = made.stats_docx(made.report_parts(SAMPLE_2019, "2019", A_AGENCY, 2019))
    serve(site, "/xxgk/ndbg/202001/P020200120003.docx", docx, DOCX_TYPE)
    site.listing("/xxgk/ndbg/index.html", [
        ("/xxgk/ndbg/202201/t20220120_1.html", title),
        ("/xxgk/ndbg/202001/P020200120003.docx", A_TITLE.format(year=2019)),
    ])


def build_b(site: LocalSite) -> None:
    dl = "/module/download/downfile.jsp?classid=0&filename="
    pdf = made.stats_pdf(made.report_parts(INCONSISTENT_2021, "2021", B_AGENCY, 2022),
                         surface=VARIANT, split_requests=True)
    serve(site, dl + "2301181001.pdf", pdf, "application/octet-stream")
    site.page("/art/2023/1/18/art_3302_101.html",
              hanweb_article(B_TITLE.format(year=2022), "点击下载：", [(dl + "2301181001.pdf", "附件下载")]))
    docx = made.stats_docx(made.report_parts(SAMPLE_2019, "2019", B_AGENCY, 2020),
                           surface=VARIANT, split_runs=True)
    serve(site, dl + "2020nb.doc", docx, "application/octet-stream")
    site.listing("/col/col3302/index.html", [
        ("/art/2023/1/18/art_3302_101.html", B_TITLE.format(year=2022)),
        (dl + "2020nb.doc", B_TITLE.format(year=2020)),
    ])


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    # one crawl for the module: the tests read the store, `nianbao check` only adds findings
    tmp_path = tmp_path_factory.mktemp("stats-documents")
    with LocalSite() as a, LocalSite() as b:
        build_a(a)
        build_b(b)
        config = write_registry(
            tmp_path / "agencies.yaml",
            {"id": "doc-a", "name": A_AGENCY, "kind": "department", "sources": [a.url("/xxgk/ndbg/index.html")]},
            {"id": "doc-b", "name": B_AGENCY, "kind": "department", "sources": [b.url("/col/col3302/index.html")]},
        )
        db = tmp_path / "nianbao.db"
        crawl(config, db, settings=SETTINGS)
        yield config, db


def report(db, agency: str, year: int) -> dict:
    [row] = query(db, "SELECT * FROM reports WHERE agency_id = ? AND year = ?", [agency, year])
    return row


def table_figures(db, rid: int) -> dict:
    rows = query(db, "SELECT s.* FROM report_stats s JOIN reports r ON r.id = s.report_id "
                     "AND s.version = r.current_version WHERE s.report_id = ? AND s.source = 'table'", [rid])
    return {(r["table_key"], r["row_key"], r["column_key"]): r["value"] for r in rows}


CASES = (("doc-a", 2021, SAMPLE_2021, "pdf"), ("doc-a", 2019, SAMPLE_2019, "docx"),
         ("doc-b", 2022, INCONSISTENT_2021, "pdf"), ("doc-b", 2020, SAMPLE_2019, "docx"))


def test_tables_only_in_attachments_give_every_figure(crawled):
    _, db = crawled
    for agency, year, expected, kind in CASES:
        r = report(db, agency, year)
        assert r["kind"] == "annual_report", (agency, year)
        [file] = query(db, "SELECT kind, extraction_status FROM attachments WHERE report_id = ?", [r["id"]])
        assert file == {"kind": kind, "extraction_status": "ok"}, (agency, year)
        got = table_figures(db, r["id"])
        assert {k: got.get(k, "absent") for k in expected} == expected, (agency, year)
        assert {k: v for k, v in got.items() if k not in expected and v is not None} == {}, (agency, year)
        # the labels stored as printed: simplified, never the traditional of portal B
        labels = query(db, "SELECT row_label, column_label, raw FROM report_stats WHERE report_id = ?", [r["id"]])
        assert "本年新收" in " ".join(x["row_label"] for x in labels).replace(" ", "")
        assert not any(ch in json.dumps(labels, ensure_ascii=False) for ch in "們處數據縣書與")
        assert not any(ch in json.dumps(labels, ensure_ascii=False) for ch in "０１２３４５６７８９")


def test_report_figures_and_checks_of_attachment_tables(crawled):
    _, db = crawled
    rows = {(r["agency_id"], r["year"]): r for r in query(db, "SELECT * FROM report_figures")}
    assert set(rows) == {(a, y) for a, y, _, _ in CASES}
    a2021 = rows[("doc-a", 2021)]
    assert {k: v for k, v in a2021.items() if k != "report_id"} == {
        "agency_id": "doc-a", "year": 2021, "format": "2021", "requests_new": 50,
        "requests_new_natural_persons": 41, "requests_carried_over": 2, "granted": 24,
        "partly_granted": 5, "refused": 3, "unable_to_provide": 11, "not_processed": 4,
        "other_handling": 1, "handled_total": 48, "carried_forward": 4, "reconsideration_total": 3,
        "reconsideration_corrected": 1, "litigation_direct_total": 2,
        "litigation_after_reconsideration_total": 0, "regulations_current": 12,
        "normative_documents_current": 48}
    nineteen = {"format": "2019", "requests_new": 20, "requests_new_natural_persons": 18,
                "requests_carried_over": 0, "granted": 10, "partly_granted": 2, "refused": 1,
                "unable_to_provide": 5, "not_processed": 1, "other_handling": 0, "handled_total": 19,
                "carried_forward": 1, "reconsideration_total": 1, "reconsideration_corrected": 0,
                "litigation_direct_total": 0, "litigation_after_reconsideration_total": 0,
                "regulations_current": 3, "normative_documents_current": 41}
    for key in (("doc-a", 2019), ("doc-b", 2020)):
        assert {k: rows[key][k] for k in nineteen} == nineteen, key
    b2022 = rows[("doc-b", 2022)]
    assert (b2022["format"], b2022["requests_new"], b2022["requests_new_natural_persons"],
            b2022["requests_carried_over"], b2022["granted"], b2022["partly_granted"],
            b2022["unable_to_provide"], b2022["not_processed"], b2022["handled_total"],
            b2022["carried_forward"], b2022["reconsideration_total"]) == (
        "2021", 30, 25, 1, 16, 2, 7, 4, 29, 1, 3)

    checks = {}
    for r in query(db, "SELECT r.agency_id, r.year, c.check_key, c.result FROM report_checks c "
                       "JOIN reports r ON r.id = c.report_id AND c.version = r.current_version"):
        checks.setdefault((r["agency_id"], r["year"]), {})[r["check_key"]] = r["result"]
    tables_checks = ("requests_balance", "handled_total_sum", "applicant_sum",
                     "review_litigation_sum", "non_negative")
    for key in (("doc-a", 2021), ("doc-a", 2019), ("doc-b", 2020)):
        assert {k: checks[key][k] for k in tables_checks} == dict.fromkeys(tables_checks, "pass"), key
    assert {k: checks[("doc-b", 2022)][k] for k in tables_checks} == {
        "requests_balance": "fail", "handled_total_sum": "fail", "applicant_sum": "fail",
        "review_litigation_sum": "pass", "non_negative": "pass"}


def test_check_raises_one_inconsistent_finding_for_the_attachment_that_does_not_add_up(crawled):
    config, db = crawled
    for _ in range(2):
        result = run_nianbao("check", "--config", str(config), "--db", str(db), "--as-of", "2026-11-21")
        assert result.returncode == 0, result.stderr[-2000:]
    findings = query(db, "SELECT * FROM findings WHERE kind = 'inconsistent'")
    rid = report(db, "doc-b", 2022)["id"]
    assert [(f["report_id"], f["dedup_key"]) for f in findings] == [(rid, f"inconsistent:{rid}:1")]
    details = json.loads(findings[0]["details"])
    failed = {c["check"]: c for c in details["checks"]}
    assert set(failed) == {"requests_balance", "handled_total_sum", "applicant_sum"}
    assert {"column": "total", "new": 30, "carried_over": 1, "handled_total": 29,
            "carried_forward": 1, "left": 31, "right": 30} in failed["requests_balance"]["failures"]



def test_stats_rebuild_reads_the_same_figures_from_the_stored_text(crawled):
    """`nianbao stats --rebuild` (an older store) reads the stored version's text, which holds
    the files' table rows: the same figures and checks as the crawl."""
    import sqlite3

    _, db = crawled
    order = " ORDER BY report_id, table_key, row_key, column_key"
    before = query(db, "SELECT * FROM report_stats" + order)
    checks = query(db, "SELECT * FROM report_checks ORDER BY report_id, check_key")
    assert len(before) == 200 + 198 + 200 + 198
    with sqlite3.connect(db) as connection:
        connection.execute("DELETE FROM report_stats")
        connection.execute("DELETE FROM report_checks")
    result = run_nianbao("stats", "--db", str(db), "--rebuild")
    assert result.returncode == 0, result.stderr[-2000:]
    assert query(db, "SELECT * FROM report_stats" + order) == before
    assert query(db, "SELECT * FROM report_checks ORDER BY report_id, check_key") == checks

# -- the same reading without a crawl: every surface of both kinds, both formats ---------------

def _read(body: bytes, content_type: str) -> dict:
    from nianbao.crawler.documents.formats import read_document
    from nianbao.crawler.stats import read_stats

    document = read_document(body, content_type)
    assert document.status == "ok", document.reason
    stats = read_stats([], document.text)
    return {(f.table_key, f.row_key, f.column_key): f.value for f in stats.figures if f.source == "table"}


# the crawl above has the 2021 format in PDF and 2019 in DOCX; here the other way round
@pytest.mark.parametrize("kind,fmt,figures,surface,mess", [
    ("pdf", "2019", SAMPLE_2019, made.PLAIN, {}),
    ("pdf", "2019", SAMPLE_2019, VARIANT, {"split_requests": True}),
    ("docx", "2021", SAMPLE_2021, made.PLAIN, {}),
    ("docx", "2021", SAMPLE_2021, VARIANT, {"split_runs": True, "repeat_merged": True}),
], ids=["pdf-2019", "pdf-2019-variant", "docx-2021", "docx-2021-variant"])
def test_every_figure_of_a_document_table(kind, fmt, figures, surface, mess):
    parts = made.report_parts(figures, fmt, A_AGENCY, 2021 if fmt == "2021" else 2019)
    if kind == "pdf":
        got = _read(made.stats_pdf(parts, surface=surface, **mess), "application/pdf")
    else:
        got = _read(made.stats_docx(parts, surface=surface, **mess), DOCX_TYPE)
    assert {k: got.get(k, "absent") for k in figures} == figures
    assert {k: v for k, v in got.items() if k not in figures and v is not None} == {}
