"""The standard statistical tables and prose figures read into canonical keys; the tables'
arithmetic checks. Pure functions on fixture pages (tests/files/stats/, demo/stats_tables.py)
and on the two shared seed reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from nianbao.crawler.cleanup import normalize_chars
from nianbao.crawler.extract import extract_report
from nianbao.crawler.report_extract import extract_pages
from nianbao.crawler.stats import read_stats, read_tables, read_text_tables
from nianbao.crawler.stats.checks import run_checks
from nianbao.crawler.stats.prose import read_prose
from nianbao.demo.stats_tables import (
    INCONSISTENT_2021,
    OTHER_2021,
    REFUSED,
    REQUEST_COLUMNS,
    SAMPLE_2019,
    SAMPLE_2021,
    report_body,
)
from nianbao.storage import Figure

FILES = Path(__file__).parent / "files" / "stats"
SEEDS = Path(__file__).parent / "files" / "seeds"  # the shared seeds, as kept in the repository


def page(body: str) -> str:
    return f"<html><head><meta charset='utf-8'><title>报告</title></head><body><div id='zoom'>{body}</div></body></html>"


def values(figures) -> dict:
    return {f.key: f.value for f in figures if f.source == "table"}


def assert_every_figure(figures, expected: dict) -> None:
    got = values(figures)
    assert {k: got.get(k, "absent") for k in expected} == expected
    # nothing read that the report does not state (blank cells are rows with value None)
    assert {k: v for k, v in got.items() if k not in expected and v is not None} == {}


def checks_of(figures) -> dict[str, str]:
    return {c.check_key: c.result for c in run_checks(figures)}


# -- both formats, every figure ----------------------------------------------------------------


@pytest.mark.parametrize("figures, fmt", [(SAMPLE_2021, "2021"), (SAMPLE_2019, "2019")])
def test_every_figure_of_a_standard_report(figures, fmt):
    stats = read_stats([page(report_body(figures, fmt, "示例市统计局", 2021))], "")
    assert_every_figure(stats.figures, figures)
    assert set(checks_of(stats.figures).values()) <= {"pass", "not_assessable"}
    assert checks_of(stats.figures)["requests_balance"] == "pass"


def test_keys_are_shared_where_the_formats_agree_and_differ_where_they_do_not():
    keys21 = {k for k in values(read_tables([page(report_body(SAMPLE_2021, "2021", "局", 2021))]))}
    keys19 = {k for k in values(read_tables([page(report_body(SAMPLE_2019, "2019", "局", 2019))]))}
    shared = keys21 & keys19
    # section 三's categories and columns, section 四, and the rows of section 二
    assert ("requests", "refused_state_secret", "natural_persons") in shared
    assert ("review_litigation", "litigation_after_reconsideration", "total") in shared
    assert ("disclosure", "licensing", "decisions") in shared
    assert ("disclosure", "normative_documents", "current") in keys21 - keys19
    assert ("disclosure", "normative_documents", "public_total") in keys19 - keys21
    assert ("requests", "other_handling_fees_unpaid", "total") in keys21 - keys19
    assert ("requests", "other_handling", "total") in keys19 - keys21


def test_labels_and_units_are_kept_as_printed():
    figures = {f.key: f for f in read_tables([page(report_body(SAMPLE_2021, "2021", "局", 2021))])}
    fee = figures[("disclosure", "fees", "fee_amount")]
    assert (fee.value, fee.unit, fee.row_label, fee.column_label) == (
        12.5, "万元", "行政事业性收费", "本年收费金额（单位：万元）")
    sub = figures[("requests", "refused_third_party", "commercial_enterprises")]
    assert sub.row_label == "三、本年度办理结果 / （三）不予公开 / 4.保护第三方合法权益"
    assert sub.value is None and sub.raw == ""  # a blank cell is a row with no value


# -- a second fixture of the class: other markup, traditional, full-width, split over parts ----

TRAD_2021 = {
    ("disclosure", "regulations", "issued_this_year"): 0, ("disclosure", "regulations", "repealed_this_year"): 0,
    ("disclosure", "regulations", "current"): 5,
    ("disclosure", "normative_documents", "issued_this_year"): 3,
    ("disclosure", "normative_documents", "repealed_this_year"): 1,
    ("disclosure", "normative_documents", "current"): 27,
    ("disclosure", "licensing", "decisions"): 210, ("disclosure", "penalties", "decisions"): 1024,
    ("disclosure", "coercive_measures", "decisions"): None, ("disclosure", "fees", "fee_amount"): 12.5,
    **{("requests", "new", c): v for c, v in zip(REQUEST_COLUMNS, (13, 3, None, None, None, None, 16))},
    **{("requests", "carried_over", c): v for c, v in zip(REQUEST_COLUMNS, (1, None, None, None, None, None, 1))},
    **{("requests", "granted", c): v for c, v in zip(REQUEST_COLUMNS, (8, 1, None, None, None, None, 9))},
    **{("requests", "partly_granted", c): v for c, v in zip(REQUEST_COLUMNS, (2, None, None, None, None, None, 2))},
    **{("requests", f"refused_{k}", c): None for k, _ in REFUSED for c in REQUEST_COLUMNS},
    ("requests", "refused_third_party", "natural_persons"): 1, ("requests", "refused_third_party", "total"): 1,
    **{("requests", f"unable_to_provide_{k}", c): None for k in ("not_held", "needs_creation", "still_unclear")
       for c in REQUEST_COLUMNS},
    ("requests", "unable_to_provide_not_held", "natural_persons"): 3,
    ("requests", "unable_to_provide_not_held", "total"): 3,
    **{("requests", f"not_processed_{k}", c): None for k in ("petitions", "repeated", "publications",
                                                              "excessive", "confirmation")
       for c in REQUEST_COLUMNS},
    **{("requests", f"other_handling_{k}", c): None for k, _ in OTHER_2021 for c in REQUEST_COLUMNS},
    ("requests", "other_handling_other", "commercial_enterprises"): 1,
    ("requests", "other_handling_other", "total"): 1,
    **{("requests", "handled_total", c): v for c, v in zip(REQUEST_COLUMNS, (14, 2, 0, 0, 0, 0, 16))},
    **{("requests", "carried_forward", c): v for c, v in zip(REQUEST_COLUMNS, (0, 1, 0, 0, 0, 0, 1))},
    **{("review_litigation", b, c): v for b, row in (
        ("reconsideration", (1, 0, 0, 0, 1)), ("litigation_direct", (0, 0, 1, 0, 1)),
        ("litigation_after_reconsideration", (0, 0, 0, 0, 0)))
       for c, v in zip(("upheld", "corrected", "other_result", "pending", "total"), row)},
}


def test_traditional_full_width_table_split_over_two_parts():
    parts = [(FILES / name).read_text(encoding="utf-8")
             for name in ("trad-2021-part1.html", "trad-2021-part2.html")]
    extracted = extract_pages(parts, "https://jtj.example.gov.cn/xxgk/t20220118_5501.shtml")
    assert_every_figure(extracted.figures, TRAD_2021)
    note = next(f for f in extracted.figures if f.key == ("requests", "unable_to_provide_not_held", "natural_persons"))
    assert note.raw == "3（含转办1件）" and note.value == 3  # the note kept, simplified
    labels = " ".join(f.row_label + f.column_label for f in extracted.figures)
    assert "處" not in labels and "轉" not in labels  # stored simplified
    assert {c.check_key: c.result for c in extracted.checks} == {
        "requests_balance": "pass", "handled_total_sum": "pass", "applicant_sum": "pass",
        "review_litigation_sum": "pass", "non_negative": "pass",
        "prose_request_total": "not_assessable"}


DOCX_2019 = {
    **{("disclosure", "regulations", c): 0 for c in ("made_this_year", "published_this_year", "public_total")},
    **{("disclosure", "normative_documents", c): v for c, v in
       zip(("made_this_year", "published_this_year", "public_total"), (4, 4, 19))},
    **{("disclosure", r, c): v for r, row in (("licensing", (28, -3, 517)),
                                               ("other_administrative_services", (2, 0, 9)),
                                               ("penalties", (41, 0, 33)), ("coercive_measures", (3, 1, 0)))
       for c, v in zip(("previous_year_items", "change_this_year", "decisions"), row)},
    ("disclosure", "fees", "previous_year_items"): 1, ("disclosure", "fees", "change_this_year"): 0,
    ("disclosure", "procurement", "procurement_items"): 6,
    ("disclosure", "procurement", "procurement_amount"): 52.8,
    **{("requests", r, c): 0 for r in (
        [f"refused_{k}" for k, _ in REFUSED]
        + [f"unable_to_provide_{k}" for k in ("not_held", "needs_creation", "still_unclear")]
        + [f"not_processed_{k}" for k in ("petitions", "repeated", "publications", "excessive", "confirmation")]
        + ["carried_over", "carried_forward"]) for c in REQUEST_COLUMNS},
    **{("requests", "new", c): v for c, v in zip(REQUEST_COLUMNS, (7, 1, 0, 0, 1, 0, 9))},
    **{("requests", "granted", c): v for c, v in zip(REQUEST_COLUMNS, (4, 1, 0, 0, 0, 0, 5))},
    **{("requests", "partly_granted", c): v for c, v in zip(REQUEST_COLUMNS, (1, 0, 0, 0, 0, 0, 1))},
    ("requests", "refused_process_information", "natural_persons"): 1,
    ("requests", "refused_process_information", "total"): 1,
    ("requests", "unable_to_provide_not_held", "legal_service_agencies"): 1,
    ("requests", "unable_to_provide_not_held", "total"): 1,
    **{("requests", "other_handling", c): v for c, v in zip(REQUEST_COLUMNS, (1, 0, 0, 0, 0, 0, 1))},
    **{("requests", "handled_total", c): v for c, v in zip(REQUEST_COLUMNS, (7, 1, 0, 0, 1, 0, 9))},
    **{("review_litigation", b, c): v for b, row in (
        ("reconsideration", (0, 1, 0, 0, 1)), ("litigation_direct", (0, 0, 0, 0, 0)),
        ("litigation_after_reconsideration", (0, 0, 0, 0, 0)))
       for c, v in zip(("upheld", "corrected", "other_result", "pending", "total"), row)},
}


def test_text_rows_of_a_document_and_section_four_one_number_per_line():
    """The text of a document (attachments: DOCX/PDF tables as `a | b | c` rows, merged cells
    repeated), section 四 flattened to 15 numbers one per line; no DOM at all."""
    text = (FILES / "docx-2019-rows.txt").read_text(encoding="utf-8")
    stats = read_stats([], text)
    assert_every_figure(stats.figures, DOCX_2019)
    assert {c.check_key: c.result for c in stats.checks} == {
        "requests_balance": "pass", "handled_total_sum": "pass", "applicant_sum": "pass",
        "review_litigation_sum": "pass", "non_negative": "pass", "prose_request_total": "pass"}
    unit = next(f for f in stats.figures if f.key == ("disclosure", "procurement", "procurement_amount"))
    assert unit.unit == "万元" and unit.raw == "52.8万元"


@pytest.mark.parametrize("figures, fmt", [(SAMPLE_2021, "2021"), (SAMPLE_2019, "2019")])
def test_text_rows_as_the_extractor_writes_them(figures, fmt):
    """The extractor's own text of the page (spanned cells empty, trailing blanks dropped)
    gives the same figures as the DOM."""
    text = extract_report(page(report_body(figures, fmt, "示例局", 2021)), "https://a.gov.cn/r.html").text
    assert " | " in text
    assert values(read_text_tables(text)) == values(read_tables([page(report_body(figures, fmt, "示例局", 2021))]))


def test_section_four_flattened_into_one_row_of_fifteen_numbers():
    text = "四、政府信息公开行政复议、行政诉讼情况\n3 1 0 1 5 0 0 0 2 2 0 0 0 0 0\n五、存在的主要问题"
    got = values(read_text_tables(text))
    assert got[("review_litigation", "reconsideration", "total")] == 5
    assert got[("review_litigation", "litigation_direct", "pending")] == 2
    assert len(got) == 15


def test_tables_that_are_not_the_standard_ones_give_nothing():
    html = page("<table><tr><td>序号</td><td>项目</td><td>金额</td></tr>"
                "<tr><td>1</td><td>办公费</td><td>12</td></tr><tr><td>2</td><td>予以公开</td><td>3</td></tr></table>"
                "<p>2019年12月31日 联系电话：0551-62345678</p>")
    assert read_stats([html], "2019年12月31日").figures == ()


# -- arithmetic checks, one by one -------------------------------------------------------------


def figures_of(mapping: dict) -> list[Figure]:
    return [Figure(t, r, c, r, c, v, None, "" if v is None else str(v)) for (t, r, c), v in mapping.items()]


def changed(base: dict, **cells) -> dict:
    """base with cells replaced: key 'table__row__column'."""
    out = dict(base)
    for name, value in cells.items():
        out[tuple(name.split("__"))] = value
    return out


CHECK_CASES = [
    # (check, a change that breaks it)
    ("requests_balance", {"requests__carried_forward__total": 5, "requests__carried_forward__natural_persons": 3}),
    ("handled_total_sum", {"requests__handled_total__total": 49, "requests__carried_forward__total": 3}),
    ("applicant_sum", {"requests__granted__natural_persons": 21}),
    ("review_litigation_sum", {"review_litigation__litigation_direct__total": 3}),
    ("non_negative", {"requests__granted__research_institutions": -1, "requests__granted__natural_persons": 21}),
]


@pytest.mark.parametrize("check, breakage", CHECK_CASES, ids=[c for c, _ in CHECK_CASES])
def test_each_check_passes_on_a_consistent_table_and_fails_when_broken(check, breakage):
    assert checks_of(figures_of(SAMPLE_2021))[check] == "pass"
    broken = run_checks(figures_of(changed(SAMPLE_2021, **breakage)))
    result = next(c for c in broken if c.check_key == check)
    assert result.result == "fail"
    assert result.details["rule"] and result.details["failures"]


def test_prose_request_total_check():
    table = figures_of(SAMPLE_2021)
    agree = read_prose("全年共受理政府信息公开申请50件。")
    with_carried = read_prose("全年共受理政府信息公开申请52件。")  # 一 + 二
    differ = read_prose("全年共受理政府信息公开申请57件。")
    assert checks_of(table + agree)["prose_request_total"] == "pass"
    assert checks_of(table + with_carried)["prose_request_total"] == "pass"
    assert checks_of(table + differ)["prose_request_total"] == "fail"
    assert checks_of(table)["prose_request_total"] == "not_assessable"


def test_inconsistent_sample_fails_its_checks():
    results = checks_of(figures_of(INCONSISTENT_2021))
    assert results["requests_balance"] == "fail" and results["applicant_sum"] == "fail"
    assert results["review_litigation_sum"] == "pass"


def test_a_blank_total_whose_parts_are_filled_is_not_assessable_never_a_failure():
    blank_total = changed(SAMPLE_2021, requests__granted__total=None)
    results = run_checks(figures_of(blank_total))
    applicant = next(c for c in results if c.check_key == "applicant_sum")
    assert applicant.result == "pass" and "granted" in applicant.details["not_assessable"]
    handled = next(c for c in results if c.check_key == "handled_total_sum")
    assert handled.result == "pass" and "total" in handled.details["not_assessable"]
    # the grand total left blank: nothing that needs it fails
    no_grand_total = changed(SAMPLE_2021, **{f"requests__handled_total__{c}": None for c in REQUEST_COLUMNS})
    results = checks_of(figures_of(no_grand_total))
    assert results["requests_balance"] == "not_assessable" and results["handled_total_sum"] == "not_assessable"
    # a block of section 四 with parts and no total
    review = checks_of(figures_of(changed(SAMPLE_2021, review_litigation__reconsideration__total=None)))
    assert review["review_litigation_sum"] == "pass"


def test_blank_cells_are_zero_where_the_table_shows_it():
    # SAMPLE_2021 leaves 科研机构 blank in rows whose 总计 is printed, and whole rows blank
    assert SAMPLE_2021[("requests", "new", "research_institutions")] is None
    assert SAMPLE_2021[("requests", "refused_state_secret", "total")] is None
    assert checks_of(figures_of(SAMPLE_2021))["requests_balance"] == "pass"
    # a table with no figure at all is not assessable, not a pass
    empty = {k: None for k in SAMPLE_2021 if k[0] == "requests"}
    results = checks_of(figures_of(empty))
    assert results["requests_balance"] == results["applicant_sum"] == "not_assessable"


def test_a_change_column_may_be_negative():
    assert checks_of(figures_of(SAMPLE_2019))["non_negative"] == "pass"  # 本年增/减 -2


def test_no_checks_without_a_table():
    assert run_checks(read_prose("共受理政府信息公开申请58件")) == []


# -- prose figures -------------------------------------------------------------------------------


def prose(text: str) -> dict:
    return {f.row_key: f.value for f in read_prose(text)}


def test_prose_figures_of_the_issue():
    assert prose("全市主动公开信息数135634条。") == {"proactive_disclosed": 135634}
    assert prose("依申请公开总数为261条。") == {"disclosed_on_request": 261}
    assert prose("共受理政府信息公开申请58件。") == {"requests_received": 58}
    # requests received, not information disclosed on request
    assert prose("全年共受理依申请公开信息12件，依申请公开信息总数为10条。") == {
        "requests_received": 12, "disclosed_on_request": 10}


@pytest.mark.parametrize("text", [
    "根据《关于做好2019年政府信息公开工作的通知》（国办公开办函〔2019〕60号）主动公开",
    "主动公开信息截至2019年12月31日",
    "主动公开信息办结率100%，受理政府信息公开申请答复率100%",
    "依申请公开咨询电话：0551-62345678",
    "全年主动公开政府信息300多条，受理政府信息公开申请约20件",
    "依申请公开信息100余条",
    "共受理行政审批事项280多件",
    "受理政府信息公开申请的时限为15个工作日",
])
def test_prose_false_matches_are_kept_out(text):
    assert read_prose(text) == []


def seed_text(name: str) -> str:
    # as the crawl stores text: ruby debris removed, simplified, full-width digits ASCII
    return normalize_chars((SEEDS / name).read_text(encoding="utf-8"))


def test_prose_figures_of_the_traditional_seed_with_ruby():
    figures = read_prose(seed_text("002_c1329069217d429a.txt"))
    assert {f.row_key: f.value for f in figures} == {"proactive_disclosed": 627, "requests_received": 58}
    assert {f.raw for f in figures} == {"主动公开政府信息627条", "受理政府信息公开申请58件"}
    assert all(f.source == "text" and f.table_key == "prose" for f in figures)


def test_prose_figures_of_the_2014_seed_are_approximations_and_kept_out():
    text = seed_text("000_b737148f3b33eee7.txt")
    assert "300多条" in text and "280多件" in text and "[2014]11号" in text
    assert read_prose(text) == []


def test_a_2019_table_in_other_markup():
    """Item cells rowspanned on the left of section 二 (第二十条 第（一）项 | 规章 | ...), '/' and
    units in cells, a layout table around the report, full-width dots in the labels, and the
    printed 总计 of 一 left blank while its parts are filled."""
    html = (FILES / "layout-2019.html").read_text(encoding="utf-8")
    got = values(read_tables([html]))
    assert {k: got[k] for k in [("disclosure", "regulations", "public_total"),
                                ("disclosure", "normative_documents", "public_total"),
                                ("disclosure", "licensing", "change_this_year"),
                                ("disclosure", "procurement", "procurement_amount")]} == {
        ("disclosure", "regulations", "public_total"): None,
        ("disclosure", "normative_documents", "public_total"): 11,
        ("disclosure", "licensing", "change_this_year"): 1,
        ("disclosure", "procurement", "procurement_amount"): 36000}
    amount = next(f for f in read_tables([html]) if f.key == ("disclosure", "procurement", "procurement_amount"))
    assert amount.unit == "元"
    assert len([k for k in got if k[0] == "disclosure"]) == 3 * 2 + 3 * 4 + 2 + 2
    assert [got[("requests", "new", c)] for c in REQUEST_COLUMNS] == [5, 1, 0, 0, 0, 0, None]
    assert got[("requests", "unable_to_provide_not_held", "total")] == 2
    assert got[("requests", "other_handling", "total")] == 0
    assert [got[("requests", "handled_total", c)] for c in REQUEST_COLUMNS] == [5, 1, 0, 0, 0, 0, 6]
    assert len([k for k in got if k[0] == "requests"]) == 7 * (2 + 2 + 8 + 3 + 5 + 1 + 2)
    assert len([k for k in got if k[0] == "review_litigation"]) == 15
    results = {c.check_key: c for c in run_checks(read_tables([html]))}
    # 一's 总计 is blank: every column but 总计 balances; nothing fails
    assert results["requests_balance"].result == "pass"
    assert results["requests_balance"].details["not_assessable"] == ["total"]
    assert results["applicant_sum"].result == "pass" and "new" in results["applicant_sum"].details["not_assessable"]
    assert all(c.result != "fail" for c in results.values())
