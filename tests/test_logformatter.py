"""The crawl log stays bounded: long lines are cut, items and drop reasons are summaries."""

from __future__ import annotations

import io
import logging

from scrapy import Spider
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from nianbao.crawler.logformatter import BoundedLines, BoundedLogFormatter


def handler_output(record_maker) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    handler.addFilter(BoundedLines(line_max=100, max_lines=5))
    logger = logging.getLogger("nianbao.test.bounded")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        record_maker(logger)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_long_message_and_many_lines_are_cut():
    out = handler_output(lambda log: log.warning("page %s\n%s", "报" * 100_000, "\n".join(["x"] * 50)))
    lines = out.splitlines()
    assert len(lines) == 6 and lines[-1] == "… [46 more lines]"
    assert max(len(line) for line in lines) <= 100 + len("WARNING: ")
    assert lines[0].endswith("… [100005 characters]")


def test_traceback_with_a_huge_exception_message_is_cut():
    def log_exception(log):
        try:
            raise ValueError("bad page: " + "<p>正文</p>" * 50_000)
        except ValueError:
            log.exception("extraction crashed")

    out = handler_output(log_exception)
    assert len(out) < 2_000 and "ValueError: bad page: <p>正文</p>" in out


def test_dropped_item_is_a_bounded_summary():
    crawler = get_crawler(Spider, settings_dict={"NIANBAO_LOG_LINE_MAX": 300})
    formatter = BoundedLogFormatter.from_crawler(crawler)
    item = {"url": "http://x.gov.cn/a.html", "body": b"\xff" * 1_000_000}  # an item without a short repr
    spider = Spider.from_crawler(crawler, name="reports")
    result = formatter.dropped(item, DropItem("extraction failed: " + "x" * 10_000), None, spider)
    message = result["msg"] % result["args"]
    assert len(message) < 700 and message.startswith("Dropped: extraction failed: xxx")
