"""The standard statistical tables of annual reports, as real portals print them.

Built from the labels of 国办公开办函〔2019〕60号 and 〔2021〕30号 (see ../shared/portals.md)
with the spans of the official templates: section 二 as one table (2019) or four small ones
(2021), section 三 with its three-row header and rowspanned category cells, section 四 with
its two-level header over one row of fifteen numbers. Figures are given under the canonical
keys nianbao stores (`(table_key, row_key, column_key) -> value`, None for a blank cell), so
the demo and the tests say exactly what a report states.
"""

from __future__ import annotations

import html

REQUEST_COLUMNS = ("natural_persons", "commercial_enterprises", "research_institutions",
                   "public_interest_organisations", "legal_service_agencies",
                   "other_organisations", "total")
REVIEW_BLOCKS = ("reconsideration", "litigation_direct", "litigation_after_reconsideration")
REVIEW_COLUMNS = ("upheld", "corrected", "other_result", "pending", "total")

# (row_key, printed label) of section 三's sub-rows.
REFUSED = (("state_secret", "1.属于国家秘密"), ("prohibited_by_law", "2.其他法律行政法规禁止公开"),
           ("security_stability", "3.危及“三安全一稳定”"), ("third_party", "4.保护第三方合法权益"),
           ("internal_affairs", "5.属于三类内部事务信息"), ("process_information", "6.属于四类过程性信息"),
           ("enforcement_files", "7.属于行政执法案卷"), ("query_matters", "8.属于行政查询事项"))
UNABLE = (("not_held", "1.本机关不掌握相关政府信息"), ("needs_creation", "2.没有现成信息需要另行制作"),
          ("still_unclear", "3.补正后申请内容仍不明确"))
NOT_PROCESSED = (("petitions", "1.信访举报投诉类申请"), ("repeated", "2.重复申请"),
                 ("publications", "3.要求提供公开出版物"), ("excessive", "4.无正当理由大量反复申请"),
                 ("confirmation", "5.要求行政机关确认或重新出具已获取信息"))
OTHER_2021 = (("no_correction", "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"),
              ("fees_unpaid", "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请"),
              ("other", "3.其他"))

TABLE = '<table border="1" cellspacing="0" cellpadding="0" style="width:100%">'


def _cell(value) -> str:
    return "" if value is None else html.escape(str(value))


def _td(text: str, rowspan: int = 1, colspan: int = 1) -> str:
    spans = (f' rowspan="{rowspan}"' if rowspan > 1 else "") + (f' colspan="{colspan}"' if colspan > 1 else "")
    return f"<td{spans}>{text}</td>"


def _values(figures: dict, table: str, row: str, columns) -> str:
    return "".join(_td(_cell(figures.get((table, row, c)))) for c in columns)


def requests_table(figures: dict, fmt: str) -> str:
    """Section 三's table: 3 header rows, 一 and 二, 三 with its categories, 四."""
    def row(key: str) -> str:
        return _values(figures, "requests", key, REQUEST_COLUMNS)

    other_rows = OTHER_2021 if fmt == "2021" else ()
    result_rows = 2 + len(REFUSED) + len(UNABLE) + len(NOT_PROCESSED) + (len(other_rows) or 1) + 1
    out = [TABLE,
           "<tr>" + _td("（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", 3, 3)
           + _td("申请人情况", 1, 7) + "</tr>",
           "<tr>" + _td("自然人", 2) + _td("法人或其他组织", 1, 5) + _td("总计", 2) + "</tr>",
           "<tr>" + "".join(_td(x) for x in ("商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他")) + "</tr>",
           "<tr>" + _td("一、本年新收政府信息公开申请数量", 1, 3) + row("new") + "</tr>",
           "<tr>" + _td("二、上年结转政府信息公开申请数量", 1, 3) + row("carried_over") + "</tr>",
           "<tr>" + _td("三、本年度办理结果", result_rows) + _td("（一）予以公开", 1, 2) + row("granted") + "</tr>",
           "<tr>" + _td("（二）部分公开（区分处理的，只计这一情形，不计其他情形）", 1, 2) + row("partly_granted") + "</tr>"]
    for category, label, subs in (("refused", "（三）不予公开", REFUSED),
                                  ("unable_to_provide", "（四）无法提供", UNABLE),
                                  ("not_processed", "（五）不予处理", NOT_PROCESSED),
                                  ("other_handling", "（六）其他处理", other_rows)):
        if not subs:
            out.append("<tr>" + _td(label, 1, 2) + row(category) + "</tr>")
            continue
        for i, (sub, sub_label) in enumerate(subs):
            head = _td(label, len(subs)) if i == 0 else ""
            out.append("<tr>" + head + _td(sub_label) + row(f"{category}_{sub}") + "</tr>")
    out.append("<tr>" + _td("（七）总计", 1, 2) + row("handled_total") + "</tr>")
    out.append("<tr>" + _td("四、结转下年度继续办理", 1, 3) + row("carried_forward") + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def review_table(figures: dict) -> str:
    """Section 四: 行政复议 (5) | 行政诉讼 (未经复议直接起诉 5, 复议后起诉 5); one row of 15."""
    outcomes = ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")
    values = "".join(_values(figures, "review_litigation", b, REVIEW_COLUMNS) for b in REVIEW_BLOCKS)
    return "\n".join([
        TABLE,
        "<tr>" + _td("行政复议", 1, 5) + _td("行政诉讼", 1, 10) + "</tr>",
        "<tr>" + "".join(_td(o, 2) for o in outcomes) + _td("未经复议直接起诉", 1, 5)
        + _td("复议后起诉", 1, 5) + "</tr>",
        "<tr>" + "".join(_td(o) for o in outcomes * 2) + "</tr>",
        "<tr>" + values + "</tr>",
        "</table>"])


def disclosure_tables_2021(figures: dict) -> str:
    """Section 二, 2021: four small tables （一）（五）（六）（八）."""
    def rows(items, columns):
        return "".join("<tr>" + _td(label) + _values(figures, "disclosure", key, columns) + "</tr>"
                       for key, label in items)
    doc = ("issued_this_year", "repealed_this_year", "current")
    return "\n".join([
        TABLE + "<tr>" + _td("第二十条第（一）项", 1, 4) + "</tr>"
        "<tr><td>信息内容</td><td>本年制发件数</td><td>本年废止件数</td><td>现行有效件数</td></tr>"
        + rows((("regulations", "规章"), ("normative_documents", "行政规范性文件")), doc) + "</table>",
        TABLE + "<tr>" + _td("第二十条第（五）项", 1, 2) + "</tr><tr><td>信息内容</td><td>本年处理决定数量</td></tr>"
        + rows((("licensing", "行政许可"),), ("decisions",)) + "</table>",
        TABLE + "<tr>" + _td("第二十条第（六）项", 1, 2) + "</tr><tr><td>信息内容</td><td>本年处理决定数量</td></tr>"
        + rows((("penalties", "行政处罚"), ("coercive_measures", "行政强制")), ("decisions",)) + "</table>",
        TABLE + "<tr>" + _td("第二十条第（八）项", 1, 2) + "</tr><tr><td>信息内容</td><td>本年收费金额（单位：万元）</td></tr>"
        + rows((("fees", "行政事业性收费"),), ("fee_amount",)) + "</table>",
    ])


def disclosure_table_2019(figures: dict) -> str:
    """Section 二, 2019: one table, a header row per article-20 item."""
    def data(key, label, columns, last_span=1):
        cells = [_cell(figures.get(("disclosure", key, c))) for c in columns]
        tds = "".join(_td(c) for c in cells[:-1]) + _td(cells[-1], 1, last_span)
        return "<tr>" + _td(label) + tds + "</tr>"
    yearly = ("previous_year_items", "change_this_year", "decisions")
    return "\n".join([
        TABLE,
        "<tr>" + _td("第二十条第（一）项", 1, 4) + "</tr>",
        "<tr><td>信息内容</td><td>本年新制作数量</td><td>本年新公开数量</td><td>对外公开总数量</td></tr>",
        data("regulations", "规章", ("made_this_year", "published_this_year", "public_total")),
        data("normative_documents", "规范性文件", ("made_this_year", "published_this_year", "public_total")),
        "<tr>" + _td("第二十条第（五）项", 1, 4) + "</tr>",
        "<tr><td>信息内容</td><td>上一年项目数量</td><td>本年增/减</td><td>处理决定数量</td></tr>",
        data("licensing", "行政许可", yearly),
        data("other_administrative_services", "其他对外管理服务事项", yearly),
        "<tr>" + _td("第二十条第（六）项", 1, 4) + "</tr>",
        "<tr><td>信息内容</td><td>上一年项目数量</td><td>本年增/减</td><td>处理决定数量</td></tr>",
        data("penalties", "行政处罚", yearly),
        data("coercive_measures", "行政强制", yearly),
        "<tr>" + _td("第二十条第（八）项", 1, 4) + "</tr>",
        "<tr><td>信息内容</td><td>上一年项目数量</td>" + _td("本年增/减", 1, 2) + "</tr>",
        data("fees", "行政事业性收费", ("previous_year_items", "change_this_year"), 2),
        "<tr>" + _td("第二十条第（九）项", 1, 4) + "</tr>",
        "<tr><td>信息内容</td><td>采购项目数量</td>" + _td("采购总金额", 1, 2) + "</tr>",
        data("procurement", "政府集中采购", ("procurement_items", "procurement_amount"), 2),
        "</table>"])


def report_body(figures: dict, fmt: str, agency: str, year: int, prose_requests: int | None = None) -> str:
    """A whole report body in the standard six sections, tables included."""
    received = (f"全年共受理政府信息公开申请{prose_requests}件，均在法定期限内答复。"
                if prose_requests is not None else "")
    disclosure = disclosure_tables_2021(figures) if fmt == "2021" else disclosure_table_2019(figures)
    return "\n".join([
        f"<p>本报告根据《中华人民共和国政府信息公开条例》（以下简称《条例》）和国务院办公厅政府信息与政务公开办公室"
        f"《关于印发〈中华人民共和国政府信息公开工作年度报告格式〉的通知》（国办公开办函〔{'2021〕30号' if fmt == '2021' else '2019〕60号'}）"
        f"要求，由{html.escape(agency)}编制。本报告中所列数据的统计期限自{year}年1月1日起至{year}年12月31日止。</p>",
        "<p><strong>一、总体情况</strong></p>",
        f"<p>{year}年，{html.escape(agency)}认真贯彻落实《条例》，{received}政府信息公开工作有序推进。</p>",
        "<p><strong>二、主动公开政府信息情况</strong></p>", disclosure,
        "<p><strong>三、收到和处理政府信息公开申请情况</strong></p>", requests_table(figures, fmt),
        "<p><strong>四、政府信息公开行政复议、行政诉讼情况</strong></p>", review_table(figures),
        "<p><strong>五、存在的主要问题及改进情况</strong></p>",
        "<p>公开内容的规范性有待提高。下一步将加强培训，提升工作水平。</p>",
        "<p><strong>六、其他需要报告的事项</strong></p>",
        "<p>本机关未收取信息处理费。</p>"])


def _requests(rows: dict[str, tuple]) -> dict:
    return {("requests", row, col): v for row, values in rows.items()
            for col, v in zip(REQUEST_COLUMNS, values)}


def _review(blocks: dict[str, tuple]) -> dict:
    return {("review_litigation", b, c): v for b, values in blocks.items()
            for c, v in zip(REVIEW_COLUMNS, values)}


def _zero_rows(keys) -> dict[str, tuple]:
    return {k: (None,) * 7 for k in keys}


# A 2021-format report whose figures add up, with realistic blanks: empty rows, and blank
# cells in rows whose 总计 is printed.
SAMPLE_2021 = {
    **{("disclosure", "regulations", c): v for c, v in zip(("issued_this_year", "repealed_this_year", "current"), (1, 0, 12))},
    **{("disclosure", "normative_documents", c): v for c, v in zip(("issued_this_year", "repealed_this_year", "current"), (6, 2, 48))},
    ("disclosure", "licensing", "decisions"): 1356,
    ("disclosure", "penalties", "decisions"): 87,
    ("disclosure", "coercive_measures", "decisions"): 3,
    ("disclosure", "fees", "fee_amount"): 12.5,
    **_requests({
        "new": (41, 6, None, None, 1, 2, 50),
        "carried_over": (2, None, None, None, None, None, 2),
        "granted": (20, 3, None, None, None, 1, 24),
        "partly_granted": (4, 1, None, None, None, None, 5),
        **_zero_rows(f"refused_{k}" for k, _ in REFUSED),
        "refused_third_party": (1, None, None, None, None, None, 1),
        "refused_process_information": (2, None, None, None, None, None, 2),
        **_zero_rows(f"unable_to_provide_{k}" for k, _ in UNABLE),
        "unable_to_provide_not_held": (9, 1, None, None, 1, None, 11),
        **_zero_rows(f"not_processed_{k}" for k, _ in NOT_PROCESSED),
        "not_processed_petitions": (3, None, None, None, None, None, 3),
        "not_processed_repeated": (1, None, None, None, None, None, 1),
        **_zero_rows(f"other_handling_{k}" for k, _ in OTHER_2021),
        "other_handling_no_correction": (1, None, None, None, None, None, 1),
        "handled_total": (41, 5, 0, 0, 1, 1, 48),
        "carried_forward": (2, 1, 0, 0, 0, 1, 4),
    }),
    **_review({"reconsideration": (2, 1, 0, 0, 3), "litigation_direct": (1, 0, 0, 1, 2),
               "litigation_after_reconsideration": (0, 0, 0, 0, 0)}),
}

# A 2019-format report that adds up.
SAMPLE_2019 = {
    **{("disclosure", "regulations", c): v for c, v in zip(("made_this_year", "published_this_year", "public_total"), (0, 0, 3))},
    **{("disclosure", "normative_documents", c): v for c, v in zip(("made_this_year", "published_this_year", "public_total"), (7, 7, 41))},
    **{("disclosure", "licensing", c): v for c, v in zip(("previous_year_items", "change_this_year", "decisions"), (35, -2, 820))},
    **{("disclosure", "other_administrative_services", c): v for c, v in zip(("previous_year_items", "change_this_year", "decisions"), (4, 0, 16))},
    **{("disclosure", "penalties", c): v for c, v in zip(("previous_year_items", "change_this_year", "decisions"), (120, 5, 64))},
    **{("disclosure", "coercive_measures", c): v for c, v in zip(("previous_year_items", "change_this_year", "decisions"), (6, None, 2))},
    ("disclosure", "fees", "previous_year_items"): 2, ("disclosure", "fees", "change_this_year"): -1,
    ("disclosure", "procurement", "procurement_items"): 14, ("disclosure", "procurement", "procurement_amount"): 386.2,
    **_requests({
        "new": (18, 2, 0, 0, 0, 0, 20),
        "carried_over": (0, 0, 0, 0, 0, 0, 0),
        "granted": (9, 1, 0, 0, 0, 0, 10),
        "partly_granted": (2, 0, 0, 0, 0, 0, 2),
        **{f"refused_{k}": (0, 0, 0, 0, 0, 0, 0) for k, _ in REFUSED},
        "refused_state_secret": (1, 0, 0, 0, 0, 0, 1),
        **{f"unable_to_provide_{k}": (0, 0, 0, 0, 0, 0, 0) for k, _ in UNABLE},
        "unable_to_provide_not_held": (4, 1, 0, 0, 0, 0, 5),
        **{f"not_processed_{k}": (0, 0, 0, 0, 0, 0, 0) for k, _ in NOT_PROCESSED},
        "not_processed_petitions": (1, 0, 0, 0, 0, 0, 1),
        "other_handling": (0, 0, 0, 0, 0, 0, 0),
        "handled_total": (17, 2, 0, 0, 0, 0, 19),
        "carried_forward": (1, 0, 0, 0, 0, 0, 1),
    }),
    **_review({"reconsideration": (1, 0, 0, 0, 1), "litigation_direct": (0, 0, 0, 0, 0),
               "litigation_after_reconsideration": (0, 0, 0, 0, 0)}),
}

# A 2021-format report whose figures do not add up: 一 + 二 (30 + 1) but 三（七） + 四 = 29 + 1,
# and 予以公开's 总计 says 16 where its parts make 15.
INCONSISTENT_2021 = {
    **{k: v for k, v in SAMPLE_2021.items() if k[0] != "requests"},
    **_requests({
        "new": (25, 5, None, None, None, None, 30),
        "carried_over": (1, None, None, None, None, None, 1),
        "granted": (12, 3, None, None, None, None, 16),
        "partly_granted": (2, None, None, None, None, None, 2),
        **_zero_rows(f"refused_{k}" for k, _ in REFUSED),
        **_zero_rows(f"unable_to_provide_{k}" for k, _ in UNABLE),
        "unable_to_provide_not_held": (6, 1, None, None, None, None, 7),
        **_zero_rows(f"not_processed_{k}" for k, _ in NOT_PROCESSED),
        "not_processed_repeated": (4, None, None, None, None, None, 4),
        **_zero_rows(f"other_handling_{k}" for k, _ in OTHER_2021),
        "handled_total": (24, 5, 0, 0, 0, 0, 29),
        "carried_forward": (1, 0, 0, 0, 0, 0, 1),
    }),
}
