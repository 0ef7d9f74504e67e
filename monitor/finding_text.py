"""What a finding says to people: Chinese labels, China time, links, and the structured fields.

One place for the words, so that a notification, its digest line, the Atom feed and the
`nianbao report` workbook say the same thing the same way:

- `KIND_LABELS`: a Chinese label for every finding kind (the store's and the kinds other
  parts add: moved, column_moved, inconsistent); an unknown kind shows as itself.
- times: the store keeps UTC (`2026-11-21T21:30:05Z`); people read China time
  (Asia/Shanghai): `china_time` -> '2026-11-22 05:30 (北京时间)'.
- `finding_fields`: the structured form of one finding (for json:// receivers, feeds):
  finding_id, kind, kind_label, agency_id, agency_name, year, url (the report's), report_id,
  detected_at (UTC, as stored), detected_at_china (ISO with +08:00), deadline, link (the
  finding's page in the served store), report_link, summary (one Chinese sentence), details.
- `sentence`: one Chinese sentence per finding, built from its fields; `site_failing` and the
  other kinds are said in words, never as raw JSON.

Pure functions of a finding row (a dict with the findings columns, `details` decoded, and
agency_name / report_url / report_title when the caller joined them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from nianbao.monitor.links import finding_link, report_link

CHINA = ZoneInfo("Asia/Shanghai")
CHINA_TIME_LABEL = "北京时间"

KIND_LABELS = {
    "new": "新发现年报",
    "changed": "年报发布后被修改",
    "removed": "年报已被撤下",
    "restored": "年报已恢复",
    "missing": "逾期未发布",
    "late": "逾期发布",
    "turned_up": "逾期年报已出现",
    "site_failing": "网站持续无法访问",
    "moved": "年报网址已变更",
    "column_moved": "年报栏目已迁移",
    "inconsistent": "统计表数据不一致",
}

# Chinese names of the detail keys a message may show (others show under their own name).
DETAIL_LABELS = {
    "title": "标题",
    "url": "报告网址",
    "deadline": "截止日期",
    "published_date": "发布日期",
    "published_basis": "发布日期依据",
    "days_late": "逾期天数",
    "as_of": "核查日期",
    "http_status": "HTTP 状态",
    "reason": "原因",
    "from_version": "原版本",
    "to_version": "新版本",
    "lines_added": "新增行数",
    "lines_removed": "删除行数",
    "removed_at": "撤下时间",
    "status": "状态",
    "report_status": "报告状态",
    "hosted_by": "发布网站所属机构",
    "crawls_in_a_row": "连续失败次数",
    "since": "开始于",
    "old_url": "原网址",
    "new_url": "新网址",
    "from_url": "原网址",
    "to_url": "新网址",
    "old_column": "原栏目",
    "new_column": "新栏目",
    "source_url": "发现起点",
    "similarity": "文本相似度",
    "rule": "校验规则",
    "version": "版本",
}
# Details a message never shows as a line: said elsewhere, or structures that are no reading.
DETAIL_HIDDEN = {"agency_name", "agency_id", "year", "diff", "diff_truncated", "summary",
                 "crawls", "held", "threshold", "text_changed", "report_id"}
TIME_KEYS = {"removed_at", "since"}  # UTC times in details, shown in China time
PUBLISHED_BASIS_LABELS = {"printed": "页面印发日期", "meta": "页面元数据", "listing": "列表日期",
                          "written": "成文日期", "first_seen": "首次发现日期", "page": "页面日期"}
DETAIL_VALUE_CHARS = 300
DIFF_EXCERPT_CHARS = 800


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def parse_utc(text: str | None) -> dt.datetime | None:
    """'2026-11-21T21:30:05Z' (or any ISO text with an offset) -> aware UTC; None if unreadable."""
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)  # the store's times are UTC
    return moment.astimezone(dt.UTC)


def china_iso(text: str | None) -> str | None:
    """A stored UTC time as ISO-8601 in China time: '2026-11-22T05:30:05+08:00'."""
    moment = parse_utc(text)
    return moment.astimezone(CHINA).isoformat(timespec="seconds") if moment else None


def china_time(text: str | None) -> str:
    """A stored UTC time for people: '2026-11-22 05:30 (北京时间)'; the text itself if unreadable."""
    moment = parse_utc(text)
    if moment is None:
        return str(text or "")
    return f"{moment.astimezone(CHINA):%Y-%m-%d %H:%M} ({CHINA_TIME_LABEL})"


def agency_label(finding: Mapping[str, Any]) -> str:
    details = finding.get("details") or {}
    return (finding.get("agency_name") or details.get("agency_name")
            or finding.get("agency_id") or "(未知机构)")


def report_url(finding: Mapping[str, Any]) -> str | None:
    details = finding.get("details") or {}
    return details.get("url") or details.get("new_url") or finding.get("report_url") or None


def _year_words(finding: Mapping[str, Any]) -> str:
    return f"{finding['year']}年度" if finding.get("year") else ""


def sentence(finding: Mapping[str, Any]) -> str:
    """One Chinese sentence saying what was found."""
    details = finding.get("details") or {}
    kind = finding["kind"]
    agency = agency_label(finding)
    year = _year_words(finding)
    title = details.get("title") or finding.get("report_title")
    named = f"《{title}》" if title else f"{year}政府信息公开工作年度报告"
    deadline = details.get("deadline")
    if kind == "new":
        return f"{agency}发布了{named}。"
    if kind == "changed":
        counts = ""
        if details.get("lines_added") is not None or details.get("lines_removed") is not None:
            counts = (f"，新增{details.get('lines_added', 0)}行、"
                      f"删除{details.get('lines_removed', 0)}行")
        versions = ""
        if details.get("from_version") and details.get("to_version"):
            versions = f"（第{details['from_version']}版改为第{details['to_version']}版{counts}）"
        elif counts:
            versions = f"（{counts.lstrip('，')}）"
        return f"{agency}的{named}在发布后被修改{versions}。"
    if kind == "removed":
        why = details.get("reason") or (f"HTTP {details['http_status']}"
                                        if details.get("http_status") else "")
        return f"{agency}的{named}已无法访问{f'（{why}）' if why else ''}，已被撤下。"
    if kind == "restored":
        return f"{agency}此前被撤下的{named}已恢复访问。"
    if kind == "missing":
        return f"{agency}的{year}政府信息公开工作年度报告截止日期{deadline or '已'}已过，至今未发现。"
    if kind == "late":
        days = f"，晚{details['days_late']}天" if details.get("days_late") is not None else ""
        return (f"{agency}的{year}政府信息公开工作年度报告于{details.get('published_date') or '截止日期后'}"
                f"发布，超过截止日期{deadline or ''}{days}。")
    if kind == "turned_up":
        published = details.get("published_date")
        return (f"{agency}此前被报告未发布的{year}政府信息公开工作年度报告已出现"
                f"{f'（发布日期{published}）' if published else ''}。")
    if kind == "site_failing":
        runs = details.get("crawls_in_a_row")
        since = details.get("since")
        example = _failing_example(details)
        return (f"{agency}的年报栏目{f'连续{runs}次' if runs else '多次'}抓取失败"
                f"{f'（自{china_time(since)}起）' if since else ''}{example}。"
                "在恢复之前无法发现新报告，显示为逾期未发布的报告可能并非真的未发布。")
    if kind == "moved":
        new_url = details.get("to_url") or details.get("new_url") or details.get("url")
        changed = "（文本同时有修改）" if details.get("lines_added") or details.get("lines_removed") else ""
        return f"{agency}的{named}已迁移到新网址{f' {new_url}' if new_url else ''}{changed}。"
    if kind == "column_moved":
        new_column = details.get("new_column")
        return (f"{agency}的年报栏目已迁移（网站改版），已重新找到栏目"
                f"{f' {new_column}' if new_column else ''}。")
    if kind == "inconsistent":
        rule = details.get("rule") or "；".join(
            c.get("rule") or c.get("check", "") for c in details.get("checks") or ())
        return f"{agency}的{named}中统计表数据前后不一致{f'（{rule}）' if rule else ''}。"
    summary = details.get("summary")
    return f"{agency}{year}：{kind_label(kind)}{f'。{summary}' if summary else '。'}"


def _failing_example(details: Mapping[str, Any]) -> str:
    """'，例如 URL：reason' from the streak's crawls, when they name a failed request."""
    for crawl in details.get("crawls") or ():
        if not isinstance(crawl, Mapping):
            continue
        for error in crawl.get("errors") or ():
            if isinstance(error, Mapping) and error.get("url"):
                reason = error.get("error") or (f"HTTP {error['status']}" if error.get("status")
                                                else "无响应")
                return f"，例如 {error['url']}：{str(reason)[:120]}"
    return ""


def finding_fields(finding: Mapping[str, Any], public_url: str | None) -> dict[str, Any]:
    """The structured form of one finding (see the module docstring)."""
    details = dict(finding.get("details") or {})
    return {
        "finding_id": finding["id"],
        "kind": finding["kind"],
        "kind_label": kind_label(finding["kind"]),
        "agency_id": finding.get("agency_id"),
        "agency_name": agency_label(finding),
        "year": finding.get("year"),
        "url": report_url(finding),
        "report_id": finding.get("report_id"),
        "detected_at": finding.get("detected_at"),
        "detected_at_china": china_iso(finding.get("detected_at")),
        "deadline": details.get("deadline"),
        "link": finding_link(public_url, finding["id"]),
        "report_link": report_link(public_url, finding.get("report_id")),
        "summary": sentence(finding),
        "details": details,
    }


def detail_lines(finding: Mapping[str, Any]) -> list[str]:
    """'标签：值' lines of the details worth reading, known ones first, in words."""
    details = finding.get("details") or {}
    shown = [k for k in DETAIL_LABELS if k in details]
    shown += sorted(k for k in details if k not in DETAIL_LABELS)
    lines = []
    for key in shown:
        value = details[key]
        if key in DETAIL_HIDDEN or value is None or value == "" or isinstance(value, (dict, list)):
            continue
        if key == "url":
            continue  # shown as the report's URL
        if key in TIME_KEYS:
            value = china_time(value)
        elif key == "published_basis":
            value = PUBLISHED_BASIS_LABELS.get(value, value)
        value = str(value)
        if len(value) > DETAIL_VALUE_CHARS:
            value = value[:DETAIL_VALUE_CHARS] + "…"
        lines.append(f"{DETAIL_LABELS.get(key, key)}：{value}")
    return lines


def _year_suffix(finding: Mapping[str, Any]) -> str:
    return f" {finding['year']}年度" if finding.get("year") else ""


def message_text(finding: Mapping[str, Any], public_url: str | None) -> str:
    """The full text of one finding, as a notification's body and a feed entry's content:
    the label, the sentence, then 机构/年度/报告网址/details/发现时间/links/编号 lines."""
    details = finding.get("details") or {}
    agency = agency_label(finding)
    if finding.get("agency_id") and agency != finding["agency_id"]:
        agency = f"{agency}（{finding['agency_id']}）"
    lines = [f"【{kind_label(finding['kind'])}】{agency_label(finding)}{_year_suffix(finding)}",
             sentence(finding), "", f"机构：{agency}"]
    if finding.get("year"):
        lines.append(f"年度：{finding['year']}")
    url = report_url(finding)
    if url:
        lines.append(f"报告网址：{url}")
    lines += detail_lines(finding)
    lines.append(f"发现时间：{china_time(finding.get('detected_at'))}")
    link = finding_link(public_url, finding["id"])
    if link:
        lines.append(f"详情：{link}")
    page = report_link(public_url, finding.get("report_id"))
    if page:
        lines.append(f"报告页面：{page}")
    lines.append(f"编号：#{finding['id']}")
    diff = details.get("diff")
    if diff:
        lines += ["", "变更内容：", str(diff)[:DIFF_EXCERPT_CHARS]]
    return "\n".join(lines)
