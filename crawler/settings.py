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
# How many links away from a `discover` source the report column is looked for (a site root
# -> 政府信息公开 -> 年报 is 2).
NIANBAO_DISCOVERY_DEPTH = 2
# Re-fetch every report already in the store, even if its listing no longer shows it: that is
# how a taken-down report (404/410) is noticed.
NIANBAO_RECHECK_KNOWN_REPORTS = True
# Processes that extract report text beside the reactor thread (which downloads, parses
# listings and writes the store): 1 keeps both cores of a small machine busy. 0 extracts on
# the reactor thread (tests do: a worker costs a second of start-up per crawl).
NIANBAO_EXTRACT_WORKERS = int(os.environ.get("NIANBAO_EXTRACT_WORKERS", "1"))
# Seconds between commits of the crawl's writes (storage/batch.py: fetch_log rows, reports,
# sightings in one transaction; a killed crawl loses at most that much, and never counts as
# complete). 0 commits every write on its own.
NIANBAO_COMMIT_EVERY = float(os.environ.get("NIANBAO_COMMIT_EVERY", "0.5"))

# --- incremental crawls (README, "Re-crawls that cost little") -------------------------------
# Ask for a known report with If-None-Match / If-Modified-Since (the ETag and Last-Modified
# its current page came with). A 304, or the very bytes of its current page read by the same
# extractor version, is an unchanged sighting without extraction: no version, no finding.
NIANBAO_CONDITIONAL_REQUESTS = True
# The re-check rotation: a known live report is re-fetched when it was not checked for this
# long, or first seen / changed within NIANBAO_RECHECK_RECENT (recent reports change most),
# or has held evidence (a removal or suspect change waiting for confirmation). Reports its
# listings show are rotated the same way. 0s re-fetches every known report on every crawl.
NIANBAO_RECHECK_KNOWN_EVERY = os.environ.get("NIANBAO_RECHECK_KNOWN_EVERY", "3d")
NIANBAO_RECHECK_RECENT = os.environ.get("NIANBAO_RECHECK_RECENT", "30d")
# Listing paging stops early when a page shows report links and all of them are known, but
# only for an agency whose listings were all followed (a full pass) in a complete crawl
# within this interval; otherwise the crawl is a full pass. 0s: every crawl is a full pass.
NIANBAO_FULL_PASS_EVERY = os.environ.get("NIANBAO_FULL_PASS_EVERY", "7d")
# Retention, applied at the end of each crawl: 'unchanged' sightings and fetch_log rows of
# good fetches older than this are deleted (each report keeps its latest sighting, each URL
# its last good fetch; changes, errors, findings and per-crawl summaries are kept). "" or
# "forever" keeps everything.
NIANBAO_KEEP_SIGHTINGS = os.environ.get("NIANBAO_KEEP_SIGHTINGS", "30d")
NIANBAO_KEEP_FETCH_LOG = os.environ.get("NIANBAO_KEEP_FETCH_LOG", "30d")
# Retry backoff: the n-th retry of a request waits BASE * 2**(n-1) seconds (capped at MAX).
NIANBAO_RETRY_BACKOFF_BASE = 2.0
NIANBAO_RETRY_BACKOFF_MAX = 60.0
# The retry of a 429 or 503 with Retry-After (seconds or an HTTP-date) waits as long as the
# server asks, but never more than this many seconds: a waiting retry holds one of
# CONCURRENT_REQUESTS. A longer ask is cut to this (RETRY_TIMES bounds the early retries).
# 0 ignores Retry-After.
NIANBAO_RETRY_AFTER_MAX = 60.0
# Never cry wolf: a report that answers as gone (404/410, a soft 404, a redirect to the home
# page) is removed only when a later crawl, at least this long after the first one that
# counted (the agency's listings answered normally), sees it gone again; a suspect new text
# (a page that shrank, was truncated, changed kind or type) becomes a version only when a
# later crawl at least this long after sees the same text again. Durations: 30m, 12h, 1d, or
# seconds. With the daemon's daily crawls in the reporting season, 12h means "the next day".
NIANBAO_CONFIRM_REMOVAL_AFTER = os.environ.get("NIANBAO_CONFIRM_REMOVAL_AFTER", "12h")
NIANBAO_CONFIRM_CHANGE_AFTER = os.environ.get("NIANBAO_CONFIRM_CHANGE_AFTER", "12h")

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
# Only http(s) is ever fetched (see OriginGuardMiddleware); without these handlers a file:,
# data:, ftp: or s3: request that slipped through could not be downloaded either.
DOWNLOAD_HANDLERS = {"file": None, "data": None, "ftp": None, "s3": None}
# Scrapy's caching resolver, plus: a name not written in the configuration that resolves to a
# loopback, private or link-local address is refused when the connection is made
# (crawler/resolver.py). Not DNS_RESOLVER: Scrapy 2.19 deprecated that name.
TWISTED_DNS_RESOLVER = "nianbao.crawler.resolver.PublicAddressResolver"
# Some gateways answer with a 302 to the same URL that sets a cookie: keep a cookie jar.
COOKIES_ENABLED = True
REDIRECT_MAX_TIMES = 10

# --- nothing listening on a port ------------------------------------------------------------
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# --- components -----------------------------------------------------------------------------
DOWNLOADER_MIDDLEWARES = {
    # First: nothing outside the agency's configured origins (scheme, host, port, private
    # addresses) goes out, redirects included, and no robots.txt is asked for it.
    "nianbao.crawler.middlewares.OriginGuardMiddleware": 40,
    # Replaced by the guard above, which also compares ports and schemes.
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    # Scrapy's, with every request that waited for robots.txt judged by it (see the class).
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "nianbao.crawler.middlewares.RobotsTxtMiddleware": 100,
    # Waits before a retried request goes out (Scrapy's retry middleware has no backoff), as
    # long as a 429/503's Retry-After asks. After RetryMiddleware (550), so that it reads the
    # Retry-After of a response before RetryMiddleware turns the response into a retry.
    "nianbao.crawler.middlewares.RetryBackoffMiddleware": 560,
    # Just outside RedirectMiddleware (600): a redirect to javascript:, file:, ... is refused.
    "nianbao.crawler.middlewares.NonHttpRedirectMiddleware": 610,
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
    "nianbao.crawler.progress.CrawlProgress": 200,
}
# Feed exports (-O x.jsonl) leave out the raw page bytes the items carry for the store.
FEED_EXPORTERS = {
    "json": "nianbao.crawler.exporters.JsonItemExporter",
    "jsonlines": "nianbao.crawler.exporters.JsonLinesItemExporter",
    "jsonl": "nianbao.crawler.exporters.JsonLinesItemExporter",
    "jl": "nianbao.crawler.exporters.JsonLinesItemExporter",
    "csv": "nianbao.crawler.exporters.CsvItemExporter",
    "xml": "nianbao.crawler.exporters.XmlItemExporter",
}
# Progress while crawling (crawler/progress.py): 'auto' (a status line redrawn on a terminal,
# a plain line every NIANBAO_PROGRESS_INTERVAL seconds elsewhere), 'tty', 'plain' or 'off'.
NIANBAO_PROGRESS = os.environ.get("NIANBAO_PROGRESS", "auto")
NIANBAO_PROGRESS_INTERVAL = 30.0

LOG_LEVEL = "INFO"
# Items are logged as one short line, and every log line is cut at NIANBAO_LOG_LINE_MAX
# characters, at most NIANBAO_LOG_MAX_LINES lines a record (tracebacks too): a dropped 8 MB
# page once printed itself, bytes and all, to stderr (see crawler/logformatter.py).
LOG_FORMATTER = "nianbao.crawler.logformatter.BoundedLogFormatter"
NIANBAO_LOG_LINE_MAX = 500

# Documents (crawler/documents, docs/documents.md): how many attachments of one report page are
# fetched, and the caps on reading one file: bytes (a larger file is kept, status too_large),
# pages, seconds and memory of the child process that reads it. Environment variables of the
# same names set the defaults (also for `nianbao reextract`).
NIANBAO_MAX_ATTACHMENTS = int(os.environ.get("NIANBAO_MAX_ATTACHMENTS", 10))
NIANBAO_DOCUMENT_MAX_BYTES = int(os.environ.get("NIANBAO_DOCUMENT_MAX_BYTES", 20 * 1024 * 1024))
NIANBAO_DOCUMENT_MAX_PAGES = int(os.environ.get("NIANBAO_DOCUMENT_MAX_PAGES", 500))
NIANBAO_DOCUMENT_TIMEOUT = float(os.environ.get("NIANBAO_DOCUMENT_TIMEOUT", 60))
NIANBAO_DOCUMENT_MAX_MEMORY = int(os.environ.get("NIANBAO_DOCUMENT_MAX_MEMORY", 1024 * 1024 * 1024))
NIANBAO_LOG_MAX_LINES = 200
FEED_EXPORT_ENCODING = "utf-8"
