"""Scrapy settings for newscrawl: the only module that reads the environment.

Production defaults are polite and safe. Tests and benchmarks override the
politeness knobs with ``-s NAME=VALUE`` when they crawl a local mirror.
"""

import os

from newscrawl import __version__
from newscrawl.dates import EARLIEST_YEAR, FUTURE_SLACK_HOURS
from newscrawl.db.engine import resolve_database_url

BOT_NAME = "newscrawl"
SPIDER_MODULES = ["newscrawl.spiders"]
NEWSPIDER_MODULE = "newscrawl.spiders"
# Our `crawl` checks arguments and the database before the first request.
COMMANDS_MODULE = "newscrawl.commands"

# --- Identity and politeness -------------------------------------------------
# An honest User-Agent: the operator's own contact page, never a made-up one. Unset, requests
# name only the crawler, and every crawl logs one WARNING until it is set.
CONTACT_URL = os.environ.get("NEWSCRAWL_CONTACT_URL", "").strip() or None
USER_AGENT = f"newscrawl/{__version__}" + (f" (+{CONTACT_URL})" if CONTACT_URL else "")
ROBOTSTXT_OBEY = True
COOKIES_ENABLED = False
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# --- Robustness --------------------------------------------------------------
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# A 429/503 with Retry-After waits that long before the retry; a longer wait is not retried.
RETRY_AFTER_MAX_SECONDS = 60
DOWNLOADER_MIDDLEWARES = {
    # Between RetryMiddleware (550) and the downloader: sees responses before it retries them.
    "newscrawl.middlewares.retry_after.RetryAfterMiddleware": 560,
    # Scrapy's decompression, plus oversize/* stats naming responses over DOWNLOAD_MAXSIZE.
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "newscrawl.middlewares.oversize.OversizeMiddleware": 590,
    # Below Retry (550) and Redirect (600): counts each request's final outcome for health.
    "newscrawl.middlewares.outcomes.OutcomeMiddleware": 540,
    # Counts listings, feeds and sitemaps that robots.txt forbids (first to see the exception).
    "newscrawl.middlewares.robots.ListingRobotsMiddleware": 950,
    # Scrapy's redirects, counting the requests lost to a loop.
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "newscrawl.middlewares.redirect.RedirectLoopMiddleware": 600,
    # Next to the downloader (above decompression, redirects, retries): archives responses as received.
    "newscrawl.archive.middleware.ArchiveMiddleware": 890,
}
# Scrapy's HTTP/1.1 handler, with the response header section capped (DOWNLOAD_MAXHEADERS*).
DOWNLOAD_HANDLERS = {
    "http": "newscrawl.handlers.BoundedHTTPDownloadHandler",
    "https": "newscrawl.handlers.BoundedHTTPDownloadHandler",
}
DOWNLOAD_TIMEOUT = 30
# Article pages are ~100-300 KB; anything far larger is not an article (also after gunzip,
# whether HTTP Content-Encoding or a raw .gz feed or sitemap).
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
# Nor may a body inflate to more than 100x its compressed size (past 1 MiB): real pages and
# sitemaps compress 5-30x, a gzip bomb ~1000x. Bounds inflation even with DOWNLOAD_MAXSIZE 0.
DECOMPRESSION_MAX_RATIO = 100
# Response header lines and bytes (Twisted keeps all of them; DOWNLOAD_MAXSIZE counts the body
# only). Real responses send 10-60 headers, a few KB; nginx refuses requests past 32 KB.
DOWNLOAD_MAXHEADERS = 500
DOWNLOAD_MAXHEADERSIZE = 256 * 1024
# Redirects stay on; the offsite middleware drops redirects to other domains.
REDIRECT_MAX_TIMES = 5

# --- Security ----------------------------------------------------------------
# Scrapy 2.19's RemoteControl runs Python code sent to a local port; the telnet
# console is a remote shell. A scheduled crawler needs neither.
REMOTE_CONTROL_ENABLED = False
TELNETCONSOLE_ENABLED = False

# --- Items -------------------------------------------------------------------
# Scrapy starts CONCURRENT_ITEMS worker tasks per response, and an article page yields one
# item. Measured on an idle machine (bench/throughput.py, 2,000 pages): 264 pages/s at 10,
# 246 at 2, 212 at 100 (an earlier run at 100 on a loaded machine had misled us).
CONCURRENT_ITEMS = 10
ITEM_PIPELINES = {
    "newscrawl.pipelines.CleanPipeline": 100,
    "newscrawl.pipelines.ValidatePipeline": 200,
    "newscrawl.pipelines.DeduplicatePipeline": 300,
    "newscrawl.pipelines.StorePipeline": 400,
}
EXTENSIONS = {
    # Owns the crawl's database (one engine, disposed when the crawl has ended); first, since
    # the store, the incremental middleware and the extensions below all use it.
    "newscrawl.extensions.database.Database": 100,
    # The health monitor must close before the recorder, which stores its verdict.
    "newscrawl.extensions.health.HealthMonitor": 400,
    "newscrawl.extensions.crawlrun.CrawlRunRecorder": 500,
    # After both: its summary line shows the health verdict.
    "newscrawl.extensions.console.ConsoleReporter": 600,
    # Start-up objects frozen out of the garbage collector's scans during the crawl.
    "newscrawl.extensions.gctuning.GcTuning": 700,
}
# The articles table is the seen-state: known articles are not fetched again.
SPIDER_MIDDLEWARES = {
    "newscrawl.middlewares.incremental.IncrementalMiddleware": 600,
    # Each article gets the WARC file and offset of the response it was read from.
    "newscrawl.archive.location.ArchiveLocationMiddleware": 650,
}
INCREMENTAL_REFRESH_HOURS = 48
INCREMENTAL_STOP_AFTER_KNOWN = 5

# --- Discovery (feeds and sitemaps) -------------------------------------------
# Entries read from one sitemap or sitemap index: the sitemaps.org protocol's own limit.
SITEMAP_MAX_URLS = 50_000
# Child sitemaps followed from sitemap indexes in one crawl, however deep they nest.
SITEMAP_MAX_DOCUMENTS = 50

# --- WARC archive --------------------------------------------------------------
# Every article and listing response, as received, in gzip-per-record WARC files
# (newscrawl/archive/): newscrawl-archive/ beside the SQLite file, else in the working
# directory (ARCHIVE_DIR to choose); a new file per crawl and per ARCHIVE_MAX_SIZE bytes.
ARCHIVE_ENABLED = True
ARCHIVE_MAX_SIZE = 1_000_000_000

# --- Database ----------------------------------------------------------------
# Any SQLAlchemy URL; SQLite file newscrawl.db in the working directory by default.
DATABASE_URL = resolve_database_url()
VALIDATE_EARLIEST_YEAR = EARLIEST_YEAR
VALIDATE_FUTURE_SLACK_HOURS = FUTURE_SLACK_HOURS

# --- Several machines (newscrawl worker / enqueue) ----------------------------
# Redis shared by the workers and `newscrawl enqueue`; read only by those commands.
DISTRIBUTED_REDIS_URL = os.environ.get("NEWSCRAWL_REDIS_URL", "").strip() or None
DISTRIBUTED_REDIS_PREFIX = "newscrawl"
# Requests at once to one host from all workers together (0: CONCURRENT_REQUESTS_PER_DOMAIN).
DISTRIBUTED_HOST_CONCURRENCY = 0
# A worker's heartbeat; one silent for DISTRIBUTED_WORKER_TTL seconds is taken as dead.
DISTRIBUTED_HEARTBEAT_SECONDS = 2
DISTRIBUTED_WORKER_TTL = 10
DISTRIBUTED_POLL_SECONDS = 0.5

# --- Logging -----------------------------------------------------------------
# The crawl commands show a short console (start line, progress, one line per warning or
# error, the summary; everything at -L DEBUG); LOG_FILE / --logfile gets every record in
# full, tracebacks included (newscrawl/logs.py).
LOG_LEVEL = os.environ.get("NEWSCRAWL_LOG_LEVEL", "INFO")
CONSOLE_PROGRESS_INTERVAL = 10
FEED_EXPORT_ENCODING = "utf-8"
