"""Keep the crawl log readable: items as one short line, every log line bounded.

Scrapy logs a dropped item as its reason followed by `repr(item)`, and a scraped item (at
DEBUG) the same way. Our items have short reprs (URL and sizes, see crawler.items and
storage.models.ReportFetch); this formatter also cuts the reason and the item to a bounded
length whatever they are, so a dropped 8 MB page is one line, not 144 MB of stderr.

It also bounds every line that reaches the log handlers, from Scrapy, from nianbao, and from
libraries (an exception message can quote a whole page): a line longer than
NIANBAO_LOG_LINE_MAX characters is cut, and a record keeps at most NIANBAO_LOG_MAX_LINES lines
(tracebacks included). Scrapy has no setting for the handler's formatter, so the filter is
installed on the root handlers when Scrapy builds this formatter, after it set them up.
"""

from __future__ import annotations

import logging

from scrapy import logformatter

DEFAULT_LINE_MAX = 500
DEFAULT_MAX_LINES = 200


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: max(0, limit - 30)]}… [{len(text)} characters]"


def bound_lines(text: str, line_max: int, max_lines: int) -> str:
    """`text` with each line cut to `line_max` characters and at most `max_lines` lines."""
    if len(text) <= line_max and "\n" not in text:
        return text
    lines = text.split("\n")
    kept = [shorten(line, line_max) for line in lines[:max_lines]]
    if len(lines) > max_lines:
        kept.append(f"… [{len(lines) - max_lines} more lines]")
    return "\n".join(kept)


class BoundedLines(logging.Filter):
    """A handler filter that bounds the message and the traceback of every record."""

    def __init__(self, line_max: int, max_lines: int):
        super().__init__()
        self.line_max = line_max
        self.max_lines = max_lines

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let the handler report it as usual
            return True
        bounded = bound_lines(message, self.line_max, self.max_lines)
        if bounded is not message:
            record.msg, record.args = bounded, None
        if record.exc_info:
            # another handler may have formatted the traceback already: bound it all the same
            trace = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_text = bound_lines(trace, self.line_max, self.max_lines)
        return True


def install(line_max: int, max_lines: int) -> None:
    """Add one BoundedLines filter to each root handler (once per handler)."""
    for handler in logging.root.handlers:
        if not any(isinstance(f, BoundedLines) for f in handler.filters):
            handler.addFilter(BoundedLines(line_max, max_lines))


class _Summary:
    """Formats as a bounded repr of the item, computed only if the line is logged."""

    def __init__(self, item, limit: int):
        self.item = item
        self.limit = limit

    def __str__(self) -> str:
        return shorten(repr(self.item), self.limit)


class BoundedLogFormatter(logformatter.LogFormatter):
    """Scrapy's messages with items and drop reasons cut to a bounded length."""

    def __init__(self, line_max: int = DEFAULT_LINE_MAX, max_lines: int = DEFAULT_MAX_LINES):
        self.line_max = line_max
        install(line_max, max_lines)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(
            crawler.settings.getint("NIANBAO_LOG_LINE_MAX", DEFAULT_LINE_MAX),
            crawler.settings.getint("NIANBAO_LOG_MAX_LINES", DEFAULT_MAX_LINES),
        )

    def _bounded(self, result):
        args = dict(result["args"])
        if "item" in args:
            args["item"] = _Summary(args["item"], self.line_max)
        if "exception" in args:
            args["exception"] = shorten(str(args["exception"]), self.line_max)
        return {**result, "args": args}

    def scraped(self, item, response, spider):
        return self._bounded(super().scraped(item, response, spider))

    def dropped(self, item, exception, response, spider):
        return self._bounded(super().dropped(item, exception, response, spider))

    def item_error(self, item, exception, response, spider):
        return self._bounded(super().item_error(item, exception, response, spider))
