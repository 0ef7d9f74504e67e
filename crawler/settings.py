"""Scrapy settings of the nianbao crawler.

Used by both `scrapy crawl reports` (via scrapy.cfg) and `nianbao crawl`, so the two run the
same crawl. Values are polite defaults for crawling government portals; tests and the demo
override the delays for a portal on 127.0.0.1.
"""

import os

BOT_NAME = "nianbao"
SPIDER_MODULES = ["nianbao.crawler.spiders"]
NEWSPIDER_MODULE = "nianbao.crawler.spiders"

# --- nianbao's own settings -------------------------------------------------------------
# Where the agency registry and the SQLite store are. `nianbao` passes its --config/--db here;
# `scrapy crawl` honours the same environment variables.
NIANBAO_CONFIG = os.environ.get("NIANBAO_CONFIG", "config/agencies.yaml")
NIANBAO_DB = os.environ.get("NIANBAO_DB", "nianbao.db")
# A page where site operators can learn who crawls them and ask us to stop.
NIANBAO_CONTACT_URL = os.environ.get("NIANBAO_CONTACT_URL", "https://github.com/nianbao/nianbao")
# Listing pages followed per source URL (pagination of every kind counts). A column of
# annual reports needs a handful; a cap stops a runaway pager on a broken site.
NIANBAO_MAX_LISTING_PAGES = 50
# Re-fetch every report already in the store, even if its listing no longer shows it: that is
# how a taken-down report (404/410) is noticed.
NIANBAO_RECHECK_KNOWN_REPORTS = True
# Retry backoff: the n-th retry of a request waits BASE * 2**(n-1) seconds (capped at MAX).
NIANBAO_RETRY_BACKOFF_BASE = 2.0
NIANBAO_RETRY_BACKOFF_MAX = 60.0

# --- identity and politeness --------------------------------------------------------------
# The reports spider rebuilds this from NIANBAO_CONTACT_URL (so `-s NIANBAO_CONTACT_URL=...`
# works); set USER_AGENT itself with `-s` to replace it entirely.
USER_AGENT = f"nianbao/0.1 (+{NIANBAO_CONTACT_URL})"
ROBOTSTXT_OBEY = True
# Many hosts per crawl (a batch of agencies), at most 2 requests each; a retry waiting out its
# backoff holds one of these, so keep the total well above the per-host limit.
CONCURRENT_REQUESTS = 64
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5  # each delay is DOWNLOAD_DELAY ±50%
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# --- robustness ---------------------------------------------------------------------------
DOWNLOAD_TIMEOUT = 30
DNS_TIMEOUT = 20
RETRY_ENABLED = True
RETRY_TIMES = 2
# A dead site is an expected event, reported in the fetch log and the summary.
RETRY_GIVE_UP_LOG_LEVEL = "WARNING"
# Anti-bot answers (412, 521, ...) are not retried: repeating them only looks more like a bot.
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# Annual reports are small; attachments can be large PDFs. Anything bigger is not a report.
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024
# Some gateways answer with a 302 to the same URL that sets a cookie: keep a cookie jar.
COOKIES_ENABLED = True
REDIRECT_MAX_TIMES = 10

# --- nothing listening on a port ------------------------------------------------------------
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# --- components -----------------------------------------------------------------------------
DOWNLOADER_MIDDLEWARES = {
    # Waits before a retried request goes out (Scrapy's retry middleware has no backoff).
    "nianbao.crawler.middlewares.RetryBackoffMiddleware": 540,
    # After decompression (590), before the spider: fix the charset the page lied about.
    "nianbao.crawler.middlewares.EncodingRepairMiddleware": 580,
    # Innermost: sees every attempt on the wire, retries included.
    "nianbao.crawler.middlewares.FetchLogMiddleware": 990,
}
ITEM_PIPELINES = {
    "nianbao.crawler.pipelines.ExtractPipeline": 300,
    "nianbao.crawler.pipelines.StorePipeline": 800,
}
EXTENSIONS = {
    "nianbao.crawler.extensions.CrawlRecorder": 100,
}

LOG_LEVEL = "INFO"
# Items are logged as one short line, and every log line is cut at NIANBAO_LOG_LINE_MAX
# characters, at most NIANBAO_LOG_MAX_LINES lines a record (tracebacks too): a dropped 8 MB
# page once printed itself, bytes and all, to stderr (see crawler/logformatter.py).
LOG_FORMATTER = "nianbao.crawler.logformatter.BoundedLogFormatter"
NIANBAO_LOG_LINE_MAX = 500
NIANBAO_LOG_MAX_LINES = 200
FEED_EXPORT_ENCODING = "utf-8"
