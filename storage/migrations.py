"""The schema, as an ordered set of migrations ("nianbao").

Each step is a function that takes a `sqlite_utils.Database`; sqlite-utils runs it in a
transaction together with the row recording it in `_sqlite_migrations`. Steps that are applied
are never edited: change the schema by appending a new step. Table and column names are a
public interface (Datasette users query them); keep storage/metadata.yml and SCHEMA.md in step.

Foreign keys are on while migrations run; a step that rebuilds a referenced table must
handle that itself.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

MIGRATIONS = Migrations("nianbao")


def _run(db: Database, *statements: str) -> None:
    # db.execute, not executescript: executescript would commit the migration's transaction.
    for sql in statements:
        db.execute(sql)


@MIGRATIONS()
def m001_tables(db: Database) -> None:
    """Agencies, crawls, reports with their versions, findings, sightings and the fetch log."""
    _run(
        db,
        """
        CREATE TABLE agencies (
            id          TEXT PRIMARY KEY,
            name        TEXT NOT NULL,
            kind        TEXT NOT NULL,
            region      TEXT,
            start_year  INTEGER NOT NULL,
            sources     TEXT NOT NULL DEFAULT '[]',
            updated_at  TEXT NOT NULL
        )""",
        """
        CREATE TABLE crawls (
            id             INTEGER PRIMARY KEY,
            started_at     TEXT NOT NULL,
            finished_at    TEXT,
            agency_ids     TEXT NOT NULL DEFAULT '[]',
            finish_reason  TEXT,
            stats          TEXT
        )""",
        """
        CREATE TABLE reports (
            id               INTEGER PRIMARY KEY,
            agency_id        TEXT NOT NULL REFERENCES agencies(id),
            year             INTEGER,
            kind             TEXT NOT NULL,
            title            TEXT NOT NULL,
            url              TEXT NOT NULL,
            published_date   TEXT,
            status           TEXT NOT NULL DEFAULT 'live' CHECK (status IN ('live', 'removed')),
            first_seen       TEXT NOT NULL,
            last_seen        TEXT NOT NULL,
            text             TEXT NOT NULL,
            current_version  INTEGER NOT NULL,
            content_hash     TEXT NOT NULL,
            removed_at       TEXT,
            last_crawl_id    INTEGER REFERENCES crawls(id),
            attachments      TEXT NOT NULL DEFAULT '[]',
            final_url        TEXT,
            UNIQUE (agency_id, url)
        )""",
        """
        CREATE TABLE versions (
            id            INTEGER PRIMARY KEY,
            report_id     INTEGER NOT NULL REFERENCES reports(id),
            version       INTEGER NOT NULL,
            fetched_at    TEXT NOT NULL,
            content_hash  TEXT NOT NULL,
            text          TEXT NOT NULL,
            title         TEXT NOT NULL,
            raw_page      BLOB,
            raw_encoding  TEXT,
            raw_size      INTEGER,
            final_url     TEXT,
            crawl_id      INTEGER REFERENCES crawls(id),
            UNIQUE (report_id, version)
        )""",
        """
        CREATE TABLE findings (
            id           INTEGER PRIMARY KEY,
            kind         TEXT NOT NULL,
            agency_id    TEXT REFERENCES agencies(id),
            year         INTEGER,
            report_id    INTEGER REFERENCES reports(id),
            detected_at  TEXT NOT NULL,
            details      TEXT NOT NULL DEFAULT '{}',
            crawl_id     INTEGER REFERENCES crawls(id)
        )""",
        """
        CREATE TABLE sightings (
            id         INTEGER PRIMARY KEY,
            crawl_id   INTEGER REFERENCES crawls(id),
            report_id  INTEGER NOT NULL REFERENCES reports(id),
            agency_id  TEXT NOT NULL REFERENCES agencies(id),
            seen_at    TEXT NOT NULL,
            outcome    TEXT NOT NULL,
            version    INTEGER NOT NULL
        )""",
        """
        CREATE TABLE fetch_log (
            id           INTEGER PRIMARY KEY,
            crawl_id     INTEGER REFERENCES crawls(id),
            agency_id    TEXT REFERENCES agencies(id),
            url          TEXT NOT NULL,
            method       TEXT NOT NULL DEFAULT 'GET',
            status       INTEGER,
            error        TEXT,
            fetched_at   TEXT NOT NULL,
            duration_ms  INTEGER,
            size_bytes   INTEGER,
            purpose      TEXT
        )""",
    )


@MIGRATIONS()
def m002_indexes(db: Database) -> None:
    """Indexes for the usual questions: an agency's reports by year, findings, a crawl's log."""
    _run(
        db,
        "CREATE INDEX idx_reports_agency_year ON reports (agency_id, year)",
        "CREATE INDEX idx_reports_year_kind ON reports (year, kind)",
        "CREATE INDEX idx_findings_agency_year ON findings (agency_id, year)",
        "CREATE INDEX idx_findings_crawl ON findings (crawl_id)",
        "CREATE INDEX idx_findings_detected ON findings (detected_at)",
        "CREATE INDEX idx_findings_report ON findings (report_id)",
        "CREATE INDEX idx_sightings_crawl ON sightings (crawl_id)",
        "CREATE INDEX idx_sightings_report ON sightings (report_id)",
        "CREATE INDEX idx_fetch_log_crawl ON fetch_log (crawl_id)",
    )


@MIGRATIONS()
def m003_views(db: Database) -> None:
    """annual_reports (no text) and latest_fetch_errors (errors of the most recent crawl)."""
    _run(
        db,
        """
        CREATE VIEW annual_reports AS
        SELECT r.id, r.agency_id, a.name AS agency_name, a.region, r.year, r.title, r.url,
               r.published_date, r.status, r.first_seen, r.last_seen, r.removed_at,
               r.current_version, length(r.text) AS text_length
        FROM reports r JOIN agencies a ON a.id = r.agency_id
        WHERE r.kind = 'annual_report'""",
        """
        CREATE VIEW latest_fetch_errors AS
        SELECT f.id, f.crawl_id, f.agency_id, a.name AS agency_name, f.purpose, f.url,
               f.method, f.status, f.error, f.fetched_at, f.duration_ms
        FROM fetch_log f LEFT JOIN agencies a ON a.id = f.agency_id
        WHERE f.crawl_id = (SELECT max(id) FROM crawls)
          AND (f.error IS NOT NULL OR f.status >= 400)""",
    )


@MIGRATIONS()
def m004_monitor(db: Database) -> None:
    """The monitor: deadlines, year evidence, findings raised once, schedule, deliveries.

    - agencies.deadline: the registry's "MM-DD" override of the legal deadline.
    - reports.title_year / text_year / year_basis: the year a report's title names, the year
      its text's statistics cover, and which of them `year` was taken from ('title'|'text').
    - findings.dedup_key: a finding that must be raised once (e.g. 'missing:agency:2019')
      carries a key; the unique index makes a second insert a no-op, whoever runs it.
    - deadline_rules: the legal table of config/deadlines.py, synced on every crawl/check, so
      the `coverage` view can compute due dates in SQL.
    - agency_schedule: when each agency was last and will next be crawled (survives restarts).
    - crawl_agencies: what each crawl did for each of its agencies (listing fetches, listing
      errors, outcome), so "was this agency crawled successfully after the deadline?" and
      "has it failed N crawls in a row?" are one indexed lookup, at 150,000 agencies too.
    - agencies.in_registry: 0 once the registry no longer lists the agency.
    - deliveries: one row per finding and notification target; claimed ('sending') before the
      send, so two senders never send the same finding twice; retried on failure.
    - daemon_heartbeat: the running daemon's pid and last beat (one row).
    """
    _run(
        db,
        "ALTER TABLE agencies ADD COLUMN deadline TEXT",
        # 0 once the agency is no longer in the registry (its history stays).
        "ALTER TABLE agencies ADD COLUMN in_registry INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE reports ADD COLUMN title_year INTEGER",
        "ALTER TABLE reports ADD COLUMN text_year INTEGER",
        "ALTER TABLE reports ADD COLUMN year_basis TEXT",
        "ALTER TABLE findings ADD COLUMN dedup_key TEXT",
        "CREATE UNIQUE INDEX idx_findings_dedup ON findings (dedup_key) WHERE dedup_key IS NOT NULL",
        "CREATE INDEX idx_findings_kind ON findings (kind)",
        """
        CREATE TABLE crawl_agencies (
            crawl_id         INTEGER NOT NULL REFERENCES crawls(id),
            agency_id        TEXT NOT NULL REFERENCES agencies(id),
            started_at       TEXT NOT NULL,
            finished_at      TEXT NOT NULL,
            finish_reason    TEXT,
            listing_fetches  INTEGER NOT NULL,
            listing_errors   INTEGER NOT NULL,
            outcome          TEXT NOT NULL CHECK (outcome IN ('ok', 'errors', 'failed', 'unknown')),
            PRIMARY KEY (crawl_id, agency_id)
        )""",
        "CREATE INDEX idx_crawl_agencies_agency ON crawl_agencies (agency_id, crawl_id)",
        """
        CREATE TABLE deadline_rules (
            first_year   INTEGER NOT NULL,
            last_year    INTEGER,
            agency_kind  TEXT,
            month        INTEGER NOT NULL,
            day          INTEGER NOT NULL,
            basis        TEXT NOT NULL
        )""",
        """
        CREATE TABLE agency_schedule (
            agency_id          TEXT PRIMARY KEY REFERENCES agencies(id),
            last_crawl_at      TEXT,
            last_crawl_id      INTEGER REFERENCES crawls(id),
            last_outcome       TEXT,
            next_crawl_at      TEXT NOT NULL,
            running_since      TEXT,
            running_pid        INTEGER,
            failures_in_a_row  INTEGER NOT NULL DEFAULT 0,
            last_error         TEXT
        )""",
        "CREATE INDEX idx_agency_schedule_next ON agency_schedule (next_crawl_at)",
        """
        CREATE TABLE deliveries (
            id               INTEGER PRIMARY KEY,
            finding_id       INTEGER NOT NULL REFERENCES findings(id),
            target_key       TEXT NOT NULL,
            target           TEXT NOT NULL,
            status           TEXT NOT NULL CHECK (status IN ('sending', 'delivered', 'failed')),
            claimed_by       INTEGER,
            claimed_at       TEXT,
            attempts         INTEGER NOT NULL DEFAULT 0,
            first_attempt_at TEXT NOT NULL,
            last_attempt_at  TEXT NOT NULL,
            delivered_at     TEXT,
            error            TEXT,
            UNIQUE (finding_id, target_key)
        )""",
        """
        CREATE TABLE daemon_heartbeat (
            id          INTEGER PRIMARY KEY CHECK (id = 1),
            pid         INTEGER NOT NULL,
            hostname    TEXT NOT NULL,
            started_at  TEXT NOT NULL,
            beat_at     TEXT NOT NULL,
            state       TEXT NOT NULL
        )""",
        # One row per agency of the registry and year from start_year through the latest year
        # whose report is due or has already appeared, as of today in China (UTC+8: the
        # deadlines are Chinese dates); same rules as `nianbao check`.
        """
        CREATE VIEW coverage AS
        WITH RECURSIVE
          years (agency_id, kind, deadline_override, year) AS (
            SELECT id, kind, deadline, start_year FROM agencies WHERE in_registry = 1
            UNION ALL
            SELECT agency_id, kind, deadline_override, year + 1 FROM years
            WHERE year + 1 <= CAST(strftime('%Y', 'now', '+8 hours') AS INTEGER)
          ),
          firsts AS (
            SELECT agency_id, year, id AS report_id,
                   coalesce(published_date, date(first_seen, '+8 hours')) AS published_date,
                   row_number() OVER (
                     PARTITION BY agency_id, year
                     ORDER BY coalesce(published_date, date(first_seen, '+8 hours')), id
                   ) AS rank
            FROM reports WHERE kind = 'annual_report' AND year IS NOT NULL
          ),
          due AS (
            SELECT y.agency_id, y.year, f.report_id, f.published_date,
                   CASE WHEN y.deadline_override IS NOT NULL
                        THEN printf('%04d-', y.year + 1) || y.deadline_override
                        ELSE (SELECT printf('%04d-%02d-%02d', y.year + 1, r.month, r.day)
                              FROM deadline_rules r
                              WHERE y.year >= r.first_year
                                AND (r.last_year IS NULL OR y.year <= r.last_year)
                                AND (r.agency_kind IS NULL OR r.agency_kind = y.kind)
                              ORDER BY r.agency_kind IS NULL LIMIT 1)
                   END AS deadline
            FROM years y
            LEFT JOIN firsts f ON f.agency_id = y.agency_id AND f.year = y.year AND f.rank = 1
          )
        SELECT agency_id, year,
               CASE WHEN published_date IS NOT NULL AND published_date <= deadline THEN 'on_time'
                    WHEN published_date IS NOT NULL THEN 'late'
                    WHEN date('now', '+8 hours') > deadline THEN 'missing'
                    ELSE 'not_due' END AS status,
               deadline, report_id, published_date
        FROM due
        WHERE year < CAST(strftime('%Y', 'now', '+8 hours') AS INTEGER) OR report_id IS NOT NULL""",
    )


@MIGRATIONS()
def m005_reliability(db: Database) -> None:
    """Findings that are facts: listing pages checked against their last good fetch, report
    fetch failures in a crawl's completeness, removals and suspect changes confirmed later.

    - crawl_agencies.report_errors: report pages of the agency not yet in the store that the
      crawl could not read (a missed report makes the crawl incomplete for `missing`).
    - crawl_agencies.gone_reports: known reports that answered as gone (404/410, soft 404,
      redirect home) in the crawl; many at once is a site problem, not removals.
    - crawl_agencies.note: why the outcome is not 'ok', for people.
    - listing_pages: the last good fetch of each listing page (how many entries, its template).
    - pending_findings: a removal or a changed text seen once, waiting for a later crawl to
      confirm it before it becomes a `removed` finding or a new version.
    """
    _run(
        db,
        "ALTER TABLE crawl_agencies ADD COLUMN report_errors INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE crawl_agencies ADD COLUMN gone_reports INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE crawl_agencies ADD COLUMN note TEXT",
        """
        CREATE TABLE listing_pages (
            agency_id      TEXT NOT NULL REFERENCES agencies(id),
            url            TEXT NOT NULL,
            last_good_at   TEXT NOT NULL,
            last_crawl_id  INTEGER REFERENCES crawls(id),
            entries        INTEGER NOT NULL,
            pages          INTEGER NOT NULL,
            signature      TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (agency_id, url)
        )""",
        """
        CREATE TABLE pending_findings (
            id                 INTEGER PRIMARY KEY,
            report_id          INTEGER NOT NULL REFERENCES reports(id),
            agency_id          TEXT NOT NULL REFERENCES agencies(id),
            kind               TEXT NOT NULL CHECK (kind IN ('removal', 'change')),
            reason             TEXT NOT NULL,
            content_hash       TEXT,
            details            TEXT NOT NULL DEFAULT '{}',
            first_seen_at      TEXT NOT NULL,
            first_crawl_id     INTEGER REFERENCES crawls(id),
            last_seen_at       TEXT NOT NULL,
            last_crawl_id      INTEGER REFERENCES crawls(id),
            times_seen         INTEGER NOT NULL DEFAULT 1,
            counted_since      TEXT,
            counted_crawl_id   INTEGER REFERENCES crawls(id),
            resolved_at        TEXT,
            resolution         TEXT CHECK (resolution IN ('confirmed', 'cleared')),
            finding_id         INTEGER REFERENCES findings(id)
        )""",
        "CREATE UNIQUE INDEX idx_pending_open ON pending_findings (report_id, kind) "
        "WHERE resolved_at IS NULL",
        "CREATE INDEX idx_pending_agency ON pending_findings (agency_id, resolved_at)",
    )


@MIGRATIONS()
def m006_coverage_verified(db: Database) -> None:
    """The `coverage` view says all that `nianbao check --json` says of a row.

    Added columns (the first six stay as they were): published_basis, report_status, title,
    url, year_basis, title_year and verified. `verified` keeps an office browsing the store
    from crying wolf: a missing row is a fact (1) only when a complete crawl (every listing
    page read as a listing, every new report page read: outcome 'ok' and no report_errors)
    started after the deadline day ended in China, as in
    monitor.findings.verify_missing; 0 until then; NULL for rows that are not missing.

    Rows and statuses are m004's (except that an agency whose start_year is after this year
    no longer shows a row for a report of that year: check shows none). The report that counts is now found per (agency, year) by
    an indexed ORDER BY ... LIMIT 1, no longer by ranking every annual report of the store
    with a window function first, so `WHERE year = ...` (or agency_id) on the view narrows
    the cells before any report is looked at.
    """
    _run(
        db,
        "DROP VIEW IF EXISTS coverage",
        # China's dates (UTC+8, no daylight saving), as in monitor/findings.py: "today" is
        # date('now', '+8 hours'); a report without a date of its own was published the day
        # it was first seen in China; the deadline day ends at 16:00 UTC (end_of_day_utc),
        # written like the store's times so that it compares with started_at as a string.
        # The correlated subqueries sit in ON clauses, where SQLite evaluates them once per
        # cell (a subquery in a flattened CTE's result columns is copied to every use).
        # `+f.kind`: keeps the planner on idx_reports_agency_year (without ANALYZE it may
        # take idx_reports_year_kind and read every report of the year for each agency).
        """
        CREATE VIEW coverage AS
        WITH RECURSIVE
          this_year (year) AS (SELECT CAST(strftime('%Y', 'now', '+8 hours') AS INTEGER)),
          years (year) AS (
            SELECT min(start_year) FROM agencies WHERE in_registry = 1
            UNION ALL
            SELECT year + 1 FROM years WHERE year < (SELECT year FROM this_year)
          ),
          cells AS (
            SELECT a.id AS agency_id, a.kind, a.deadline AS deadline_override, y.year
            FROM years y JOIN agencies a ON a.start_year <= y.year
            WHERE a.in_registry = 1
          ),
          due AS (
            SELECT c.agency_id, c.year, r.id AS report_id,
                   coalesce(r.published_date, date(r.first_seen, '+8 hours')) AS published_date,
                   CASE WHEN r.published_date IS NOT NULL THEN 'page'
                        WHEN r.id IS NOT NULL THEN 'first_seen' END AS published_basis,
                   r.status AS report_status, r.title, r.url, r.year_basis, r.title_year,
                   CASE WHEN c.deadline_override IS NOT NULL
                          THEN printf('%04d-', c.year + 1) || c.deadline_override
                        WHEN d.rowid IS NOT NULL
                          THEN printf('%04d-%02d-%02d', c.year + 1, d.month, d.day)
                   END AS deadline
            FROM cells c
            -- the report that counts: the agency's earliest published annual report of the year
            LEFT JOIN reports r ON r.id = (
              SELECT f.id FROM reports f
              WHERE f.agency_id = c.agency_id AND f.year = c.year AND +f.kind = 'annual_report'
              ORDER BY coalesce(f.published_date, date(f.first_seen, '+8 hours')), f.id
              LIMIT 1)
            -- the law, unless the agency has its own deadline; a kind's own rule first
            LEFT JOIN deadline_rules d ON c.deadline_override IS NULL AND d.rowid = (
              SELECT e.rowid FROM deadline_rules e
              WHERE c.year >= e.first_year AND (e.last_year IS NULL OR c.year <= e.last_year)
                AND (e.agency_kind IS NULL OR e.agency_kind = c.kind)
              ORDER BY e.agency_kind IS NULL LIMIT 1)
            -- the years before this one; this year's once its report is out (expected_years)
            WHERE c.year < (SELECT year FROM this_year)
               OR (c.year = (SELECT year FROM this_year) AND r.id IS NOT NULL)
          ),
          judged AS (
            SELECT *,
                   CASE WHEN published_date IS NOT NULL AND published_date <= deadline
                          THEN 'on_time'
                        WHEN published_date IS NOT NULL THEN 'late'
                        WHEN date('now', '+8 hours') > deadline THEN 'missing'
                        ELSE 'not_due' END AS status
            FROM due
          )
        SELECT agency_id, year, status, deadline, report_id, published_date,
               published_basis, report_status, title, url, year_basis, title_year,
               CASE WHEN status = 'missing' THEN EXISTS (
                 SELECT 1 FROM crawl_agencies g
                 WHERE g.agency_id = judged.agency_id AND g.outcome = 'ok' AND g.report_errors = 0
                   AND g.started_at > strftime('%Y-%m-%dT%H:%M:%SZ', deadline, '+1 day',
                                               '-8 hours'))
               END AS verified
        FROM judged""",
    )


@MIGRATIONS()
def m007_real_portals(db: Database) -> None:
    """Which date counts and why, whose report it is, and which extractor made each text.

    - reports.published_basis: where published_date came from: 'printed' (the page's article
      info block, 发布日期), 'meta' (a PubDate-like meta tag), 'listing' (the listing's date),
      'written' (成文日期/生成日期: a date of writing, used only when nothing else dates it);
      NULL when the page gave no date (coverage then uses first_seen). Rows stored before this
      step with a date get 'page' (the old rule: a meta date first, else a printed line, else
      the listing's; which one is not known) or 'listing' for a document file, until the next
      crawl or `nianbao reextract` re-reads their stored pages.
    - reports.date_evidence: JSON list of every date candidate ({source, date, label}); for
      old rows the stored date alone, labelled 'before m007'.
    - reports.issuer: the issuer the title or first lines name (NULL: none named, the host's).
    - reports.counts_for: the registry agency whose coverage the report counts toward; the
      host (agency_id) when no other issuer is named, NULL when the issuer is outside the
      registry. Old rows: the host.
    - versions.extractor_version: crawler.extract.EXTRACTOR_VERSION of the extraction that
      produced the text (1 for every version before this step).
    - versions.source: 'crawl' (a fetched page) or 'reextract' (the text of an earlier
      version's raw page, extracted again by a newer extractor: not a change of the source).
    - versions.raw_version_id: for a re-extraction, the version whose raw_page it read (the
      bytes are not stored twice). versions.extracted_at: when the text was extracted.
    - versions.listing_title / listing_date: what the listing said, the extraction's input
      besides the page, so a re-extraction is the same computation (NULL before this step;
      a re-check of a known report hands on its stored title and no date).
    - coverage view: counts reports by counts_for; hosted_by names the agency on whose site
      the counted report was found when that is another agency.
    """
    _run(
        db,
        "ALTER TABLE reports ADD COLUMN published_basis TEXT",
        "ALTER TABLE reports ADD COLUMN date_evidence TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE reports ADD COLUMN issuer TEXT",
        "ALTER TABLE reports ADD COLUMN counts_for TEXT REFERENCES agencies(id)",
        "ALTER TABLE versions ADD COLUMN extractor_version INTEGER",
        "ALTER TABLE versions ADD COLUMN source TEXT NOT NULL DEFAULT 'crawl'",
        "ALTER TABLE versions ADD COLUMN raw_version_id INTEGER REFERENCES versions(id)",
        "ALTER TABLE versions ADD COLUMN extracted_at TEXT",
        "ALTER TABLE versions ADD COLUMN listing_title TEXT",
        "ALTER TABLE versions ADD COLUMN listing_date TEXT",
        "UPDATE versions SET extractor_version = 1, extracted_at = fetched_at",
        "UPDATE reports SET counts_for = agency_id",
        """UPDATE reports SET published_basis = CASE
               WHEN (SELECT raw_encoding FROM versions v WHERE v.report_id = reports.id
                     AND v.version = reports.current_version) = 'binary' THEN 'listing'
               ELSE 'page' END
           WHERE published_date IS NOT NULL""",
        """UPDATE reports SET date_evidence = json_array(json_object(
               'source', published_basis, 'date', published_date, 'label', 'before m007'))
           WHERE published_date IS NOT NULL""",
        "CREATE INDEX idx_reports_counts_for ON reports (counts_for, year)",
        "DROP VIEW IF EXISTS annual_reports",
        """
        CREATE VIEW annual_reports AS
        SELECT r.id, r.agency_id, a.name AS agency_name, a.region, r.year, r.title, r.url,
               r.published_date, r.status, r.first_seen, r.last_seen, r.removed_at,
               r.current_version, length(r.text) AS text_length,
               r.published_basis, r.issuer, r.counts_for
        FROM reports r JOIN agencies a ON a.id = r.agency_id
        WHERE r.kind = 'annual_report'""",
        "DROP VIEW IF EXISTS coverage",
        # As m006 (see its comments), except that the report that counts for an agency is
        # looked up by counts_for (so another agency's report on its site does not count for
        # it, and its own report on another site does), the basis is the stored one, and
        # hosted_by is added. `+f.kind` keeps the planner on idx_reports_counts_for.
        """
        CREATE VIEW coverage AS
        WITH RECURSIVE
          this_year (year) AS (SELECT CAST(strftime('%Y', 'now', '+8 hours') AS INTEGER)),
          years (year) AS (
            SELECT min(start_year) FROM agencies WHERE in_registry = 1
            UNION ALL
            SELECT year + 1 FROM years WHERE year < (SELECT year FROM this_year)
          ),
          cells AS (
            SELECT a.id AS agency_id, a.kind, a.deadline AS deadline_override, y.year
            FROM years y JOIN agencies a ON a.start_year <= y.year
            WHERE a.in_registry = 1
          ),
          due AS (
            SELECT c.agency_id, c.year, r.id AS report_id,
                   coalesce(r.published_date, date(r.first_seen, '+8 hours')) AS published_date,
                   CASE WHEN r.published_date IS NOT NULL THEN coalesce(r.published_basis, 'page')
                        WHEN r.id IS NOT NULL THEN 'first_seen' END AS published_basis,
                   r.status AS report_status, r.title, r.url, r.year_basis, r.title_year,
                   CASE WHEN r.agency_id <> c.agency_id THEN r.agency_id END AS hosted_by,
                   CASE WHEN c.deadline_override IS NOT NULL
                          THEN printf('%04d-', c.year + 1) || c.deadline_override
                        WHEN d.rowid IS NOT NULL
                          THEN printf('%04d-%02d-%02d', c.year + 1, d.month, d.day)
                   END AS deadline
            FROM cells c
            -- the report that counts: the earliest published annual report counted for the
            -- agency and year, wherever it was found
            LEFT JOIN reports r ON r.id = (
              SELECT f.id FROM reports f
              WHERE f.counts_for = c.agency_id AND f.year = c.year AND +f.kind = 'annual_report'
              ORDER BY coalesce(f.published_date, date(f.first_seen, '+8 hours')), f.id
              LIMIT 1)
            LEFT JOIN deadline_rules d ON c.deadline_override IS NULL AND d.rowid = (
              SELECT e.rowid FROM deadline_rules e
              WHERE c.year >= e.first_year AND (e.last_year IS NULL OR c.year <= e.last_year)
                AND (e.agency_kind IS NULL OR e.agency_kind = c.kind)
              ORDER BY e.agency_kind IS NULL LIMIT 1)
            WHERE c.year < (SELECT year FROM this_year)
               OR (c.year = (SELECT year FROM this_year) AND r.id IS NOT NULL)
          ),
          judged AS (
            SELECT *,
                   CASE WHEN published_date IS NOT NULL AND published_date <= deadline
                          THEN 'on_time'
                        WHEN published_date IS NOT NULL THEN 'late'
                        WHEN date('now', '+8 hours') > deadline THEN 'missing'
                        ELSE 'not_due' END AS status
            FROM due
          )
        SELECT agency_id, year, status, deadline, report_id, published_date,
               published_basis, report_status, title, url, year_basis, title_year,
               CASE WHEN status = 'missing' THEN EXISTS (
                 SELECT 1 FROM crawl_agencies g
                 WHERE g.agency_id = judged.agency_id AND g.outcome = 'ok' AND g.report_errors = 0
                   AND g.started_at > strftime('%Y-%m-%dT%H:%M:%SZ', deadline, '+1 day',
                                               '-8 hours'))
               END AS verified,
               hosted_by
        FROM judged""",
    )


@MIGRATIONS()
def m008_attachments(db: Database) -> None:
    """Reports' files, each stored once by content hash (storage/attachments.py)."""
    _run(
        db,
        """
        CREATE TABLE attachment_files (
            sha256      TEXT PRIMARY KEY,
            file_name   TEXT NOT NULL,
            kind        TEXT NOT NULL,
            size        INTEGER NOT NULL,
            content     BLOB NOT NULL,
            first_seen  TEXT NOT NULL
        )""",
        """
        CREATE TABLE attachments (
            id                 INTEGER PRIMARY KEY,
            report_id          INTEGER NOT NULL REFERENCES reports(id),
            version            INTEGER NOT NULL,
            url                TEXT NOT NULL,
            final_url          TEXT,
            sha256             TEXT NOT NULL REFERENCES attachment_files(sha256),
            content_type       TEXT,
            kind               TEXT NOT NULL,
            size               INTEGER NOT NULL,
            extraction_status  TEXT NOT NULL CHECK (extraction_status IN
                ('ok', 'empty', 'scanned', 'encrypted', 'unsupported', 'too_large', 'malformed')),
            reason             TEXT,
            pages              INTEGER,
            text_chars         INTEGER NOT NULL DEFAULT 0,
            text               TEXT NOT NULL DEFAULT '',
            extractor_version  INTEGER,
            fetched_at         TEXT NOT NULL,
            crawl_id           INTEGER REFERENCES crawls(id),
            UNIQUE (report_id, version, url, sha256)
        )""",
        "CREATE INDEX attachments_sha256 ON attachments (sha256)",
    )


@MIGRATIONS()
def m009_discovery_moves(db: Database) -> None:
    """Sites that are redesigned: the report column a crawl discovered, and reports that move.

    - report_columns: for a source written `{url, discover: true}`, the annual-report column
      the crawler found under it (crawler/discovery.py), used by every later crawl; when it
      fails in several crawls in a row (404/410, no longer a listing, no reports left on it)
      the crawler discovers again, the old row is kept as 'replaced' and a `column_moved`
      finding names both.
    - report_urls: every URL a report has been seen at. A report whose text turns up at a new
      URL (same content hash, or same agency and year with nearly the same text) is the same
      report that moved: its `reports.url` follows it, the old URL stays here with `left_at`,
      and one `moved` finding is raised. Filled with each existing report's URL.
    """
    _run(
        db,
        """
        CREATE TABLE report_columns (
            id                 INTEGER PRIMARY KEY,
            agency_id          TEXT NOT NULL REFERENCES agencies(id),
            source_url         TEXT NOT NULL,
            column_url         TEXT NOT NULL,
            status             TEXT NOT NULL DEFAULT 'ok'
                               CHECK (status IN ('ok', 'failing', 'replaced')),
            score              REAL,
            reason             TEXT,
            found_at           TEXT NOT NULL,
            found_crawl_id     INTEGER REFERENCES crawls(id),
            last_ok_at         TEXT,
            last_ok_crawl_id   INTEGER REFERENCES crawls(id),
            failures           INTEGER NOT NULL DEFAULT 0,
            last_failure       TEXT,
            last_failed_crawl_id INTEGER REFERENCES crawls(id),
            replaced_at        TEXT,
            replaced_by        INTEGER REFERENCES report_columns(id)
        )""",
        "CREATE UNIQUE INDEX idx_report_columns_current ON report_columns (agency_id, source_url) "
        "WHERE status <> 'replaced'",
        """
        CREATE TABLE report_urls (
            id           INTEGER PRIMARY KEY,
            report_id    INTEGER NOT NULL REFERENCES reports(id),
            agency_id    TEXT NOT NULL REFERENCES agencies(id),
            url          TEXT NOT NULL,
            first_seen   TEXT NOT NULL,
            last_seen    TEXT NOT NULL,
            left_at      TEXT,
            matched_by   TEXT NOT NULL DEFAULT 'first'
                         CHECK (matched_by IN ('first', 'redirect', 'content_hash', 'similarity')),
            similarity   REAL,
            UNIQUE (report_id, url)
        )""",
        "CREATE INDEX idx_report_urls_url ON report_urls (agency_id, url)",
        "CREATE INDEX idx_reports_agency_hash ON reports (agency_id, content_hash)",
        """
        INSERT INTO report_urls (report_id, agency_id, url, first_seen, last_seen)
        SELECT id, agency_id, url, first_seen, last_seen FROM reports""",
    )


# The report that counts for an agency and year, as SQL: its earliest published annual report
# (a page without a date of its own was published the day nianbao first saw it, in China).
# The same expression is in idx_reports_counting, so a lookup reads the index alone.
PUBLISHED_SQL = "coalesce(published_date, date(first_seen, '+8 hours'))"


@MIGRATIONS()
def m010_scale_check(db: Database) -> None:
    """`nianbao check` and the coverage view at national scale (150,000 agencies x 18 years).

    - idx_reports_counting: (counts_for, year, published, id) of annual reports, published
      being the date coverage counts (PUBLISHED_SQL), then what a check's cell needs of the
      report (published_date, first_seen, agency_id, year_basis): the report that counts for
      a cell is the first index entry of (agency, year), read without touching the table (whose
      rows hold the texts) or sorting.
    - idx_reports_issuer: the reports that name an issuer, for `reassign` (whose reports count
      for whom) without reading every report.
    - registry_state: the registry file last synced into agencies in full (its SHA-256): an
      unchanged registry is not synced again.
    - issuer_resolutions: whose report a (host, issuer) pair is, as resolved against the
      registry file with that SHA-256: `reassign` resolves each pair once per registry.
    - coverage view: the same columns, rows and rules as m007's; each cell's deadline comes
      from a small table of (kind, year) deadlines computed once, its report from
      idx_reports_counting, so `WHERE year = ...` or `WHERE agency_id = ...` narrows the cells
      before any report is looked at and no per-cell sort is left.
    """
    COUNTED_F = PUBLISHED_SQL.replace("published_date", "f.published_date").replace(
        "first_seen", "f.first_seen")
    _run(
        db,
        f"CREATE INDEX idx_reports_counting ON reports (counts_for, year, {PUBLISHED_SQL}, id, "
        "published_date, first_seen, agency_id, year_basis) WHERE kind = 'annual_report'",
        # reassign reads the (host, issuer) pairs: only the reports that name an issuer
        "CREATE INDEX idx_reports_issuer ON reports (agency_id, issuer, counts_for) "
        "WHERE issuer IS NOT NULL",
        """
        CREATE TABLE registry_state (
            id           INTEGER PRIMARY KEY CHECK (id = 1),
            path         TEXT NOT NULL,
            sha256       TEXT NOT NULL,
            agencies     INTEGER NOT NULL,
            synced_at    TEXT NOT NULL
        )""",
        """
        CREATE TABLE issuer_resolutions (
            agency_id        TEXT NOT NULL,
            issuer           TEXT NOT NULL,
            counts_for       TEXT,
            registry_sha256  TEXT NOT NULL,
            PRIMARY KEY (agency_id, issuer)
        )""",
        "DROP VIEW IF EXISTS coverage",
        # As m007's (see its and m006's comments). `law`: the legal deadline of each kind and
        # year (a kind's own rule first), a few dozen rows, joined by an automatic index
        # instead of a sorted subquery per cell.
        f"""
        CREATE VIEW coverage AS
        WITH RECURSIVE
          this_year (year) AS (SELECT CAST(strftime('%Y', 'now', '+8 hours') AS INTEGER)),
          years (year) AS (
            SELECT min(start_year) FROM agencies WHERE in_registry = 1
            UNION ALL
            SELECT year + 1 FROM years WHERE year < (SELECT year FROM this_year)
          ),
          kinds (kind) AS (SELECT DISTINCT kind FROM agencies),
          law (kind, year, deadline) AS MATERIALIZED (
            SELECT k.kind, y.year, (
              SELECT printf('%04d-%02d-%02d', y.year + 1, e.month, e.day) FROM deadline_rules e
              WHERE y.year >= e.first_year AND (e.last_year IS NULL OR y.year <= e.last_year)
                AND (e.agency_kind IS NULL OR e.agency_kind = k.kind)
              ORDER BY e.agency_kind IS NULL LIMIT 1)
            FROM kinds k, years y
          ),
          cells AS (
            SELECT a.id AS agency_id, a.kind, a.deadline AS deadline_override, y.year
            FROM years y JOIN agencies a ON a.start_year <= y.year
            WHERE a.in_registry = 1
          ),
          due AS (
            SELECT c.agency_id, c.year, r.id AS report_id,
                   coalesce(r.published_date, date(r.first_seen, '+8 hours')) AS published_date,
                   CASE WHEN r.published_date IS NOT NULL THEN coalesce(r.published_basis, 'page')
                        WHEN r.id IS NOT NULL THEN 'first_seen' END AS published_basis,
                   r.status AS report_status, r.title, r.url, r.year_basis, r.title_year,
                   CASE WHEN r.agency_id <> c.agency_id THEN r.agency_id END AS hosted_by,
                   CASE WHEN c.deadline_override IS NOT NULL
                          THEN printf('%04d-', c.year + 1) || c.deadline_override
                        ELSE l.deadline
                   END AS deadline
            FROM cells c
            LEFT JOIN reports r ON r.id = (
              SELECT f.id FROM reports f
              WHERE f.counts_for = c.agency_id AND f.year = c.year AND f.kind = 'annual_report'
              ORDER BY {COUNTED_F}, f.id
              LIMIT 1)
            LEFT JOIN law l ON l.kind = c.kind AND l.year = c.year
            WHERE c.year < (SELECT year FROM this_year)
               OR (c.year = (SELECT year FROM this_year) AND r.id IS NOT NULL)
          ),
          judged AS (
            SELECT *,
                   CASE WHEN published_date IS NOT NULL AND published_date <= deadline
                          THEN 'on_time'
                        WHEN published_date IS NOT NULL THEN 'late'
                        WHEN date('now', '+8 hours') > deadline THEN 'missing'
                        ELSE 'not_due' END AS status
            FROM due
          )
        SELECT agency_id, year, status, deadline, report_id, published_date,
               published_basis, report_status, title, url, year_basis, title_year,
               CASE WHEN status = 'missing' THEN EXISTS (
                 SELECT 1 FROM crawl_agencies g
                 WHERE g.agency_id = judged.agency_id AND g.outcome = 'ok' AND g.report_errors = 0
                   AND g.started_at > strftime('%Y-%m-%dT%H:%M:%SZ', deadline, '+1 day',
                                               '-8 hours'))
               END AS verified,
               hosted_by
        FROM judged""",
    )


@MIGRATIONS()
def m011_incremental(db: Database) -> None:
    """Incremental crawls and a store that does not grow with every unchanged crawl.

    - report_validators: per live report, what its current page answered with (ETag,
      Last-Modified, sha256 of the raw bytes, the extractor version that read them), so a
      re-crawl asks conditionally and skips extraction of a page that did not change; and
      when it was last checked (the re-check rotation reads this).
    - sightings.answer: how an unchanged report was seen ('not_modified': a 304,
      'same_bytes': the bytes its validators name); NULL when the page was extracted.
    - crawl_agencies.listing_pages_skipped: listing pages not followed because a page held
      nothing new; 0 is a full pass (every page followed). Only a crawl within the full-pass
      interval of a complete full pass may skip (NIANBAO_FULL_PASS_EVERY).
    - listing_pages.etag / last_modified / replay: a listing page is asked for conditionally
      too; a 304 is read as its last good fetch, whose report links and pager `replay` keeps.
    - indexes for the retention of fetch_log and sightings (oldest first, per URL).
    """
    _run(
        db,
        """
        CREATE TABLE report_validators (
            report_id          INTEGER PRIMARY KEY REFERENCES reports(id),
            etag               TEXT,
            last_modified      TEXT,
            raw_sha256         TEXT NOT NULL,
            extractor_version  INTEGER,
            version            INTEGER NOT NULL,
            recorded_at        TEXT NOT NULL,
            checked_at         TEXT NOT NULL
        )""",
        "ALTER TABLE sightings ADD COLUMN answer TEXT",
        "ALTER TABLE crawl_agencies ADD COLUMN listing_pages_skipped INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE listing_pages ADD COLUMN etag TEXT",
        "ALTER TABLE listing_pages ADD COLUMN last_modified TEXT",
        "ALTER TABLE listing_pages ADD COLUMN replay TEXT",
        "CREATE INDEX idx_fetch_log_url ON fetch_log (url, id)",
        "CREATE INDEX idx_fetch_log_fetched ON fetch_log (fetched_at)",
        "CREATE INDEX idx_sightings_seen ON sightings (seen_at)",
    )


def _subtotal_or_parts(row_key: str) -> str:
    """A section-三 category's 总计: its printed subtotal row, else the sum of its sub-rows'."""
    return (f"coalesce(max(CASE WHEN s.table_key = 'requests' AND s.row_key = '{row_key}' "
            f"AND s.column_key = 'total' THEN s.value END), "
            f"sum(CASE WHEN s.table_key = 'requests' AND s.row_key LIKE '{row_key}\\_%' "
            f"ESCAPE '\\' AND s.column_key = 'total' THEN s.value END))")


def _figure(table_key: str, row_key: str, column_key: str) -> str:
    return (f"max(CASE WHEN s.table_key = '{table_key}' AND s.row_key = '{row_key}' "
            f"AND s.column_key = '{column_key}' THEN s.value END)")


@MIGRATIONS()
def m012_statistics(db: Database) -> None:
    """The figures of the standard statistical tables, their arithmetic checks, a wide view.

    - report_stats: one row per figure of a report version (versions.version), keyed
      (table_key, row_key, column_key) the same way for the 2019 and 2021 formats, with the
      labels as printed, the value (NULL for a blank cell), unit, raw cell text and source
      ('table': a standard table, from the DOM or from text rows; 'text': stated in prose).
    - report_checks: one row per arithmetic check of a report version: pass, fail or
      not_assessable, with the numbers compared in details (JSON).
    - report_figures: one row per annual report (counted for a registry agency) with figures
      at its current version, the key figures side by side.
    Both tables start empty: `nianbao reextract` (the extractor version was bumped) or
    `nianbao stats --rebuild` reads the stored raw pages; nothing is parsed here.
    """
    _run(
        db,
        """
        CREATE TABLE report_stats (
            report_id     INTEGER NOT NULL REFERENCES reports(id),
            version       INTEGER NOT NULL,
            table_key     TEXT NOT NULL,
            row_key       TEXT NOT NULL,
            column_key    TEXT NOT NULL,
            row_label     TEXT NOT NULL DEFAULT '',
            column_label  TEXT NOT NULL DEFAULT '',
            value         NUMERIC,
            unit          TEXT,
            raw           TEXT NOT NULL DEFAULT '',
            source        TEXT NOT NULL CHECK (source IN ('table', 'text')),
            UNIQUE (report_id, version, table_key, row_key, column_key)
        )""",
        "CREATE INDEX idx_report_stats_key ON report_stats (table_key, row_key, column_key)",
        """
        CREATE TABLE report_checks (
            report_id  INTEGER NOT NULL REFERENCES reports(id),
            version    INTEGER NOT NULL,
            check_key  TEXT NOT NULL,
            result     TEXT NOT NULL CHECK (result IN ('pass', 'fail', 'not_assessable')),
            details    TEXT NOT NULL DEFAULT '{}',
            PRIMARY KEY (report_id, version, check_key)
        )""",
        "CREATE INDEX idx_report_checks_result ON report_checks (result, report_id)",
        f"""
        CREATE VIEW report_figures AS
        SELECT r.id AS report_id, r.counts_for AS agency_id, r.year,
               CASE WHEN max(s.source = 'table' AND (s.column_key IN
                           ('issued_this_year', 'repealed_this_year', 'current', 'fee_amount')
                           OR s.row_key LIKE 'other\\_handling\\_%' ESCAPE '\\'))
                      THEN '2021'
                    WHEN max(s.source = 'table' AND s.column_key IN
                           ('made_this_year', 'published_this_year', 'public_total',
                            'previous_year_items', 'change_this_year', 'procurement_items',
                            'procurement_amount'))
                      THEN '2019'
                    WHEN max(s.source = 'table')
                      THEN CASE WHEN r.year >= 2021 THEN '2021' ELSE '2019' END
                    ELSE 'text' END AS format,
               coalesce({_figure('requests', 'new', 'total')},
                        {_figure('prose', 'requests_received', 'value')}) AS requests_new,
               {_figure('requests', 'new', 'natural_persons')} AS requests_new_natural_persons,
               {_figure('requests', 'carried_over', 'total')} AS requests_carried_over,
               {_figure('requests', 'granted', 'total')} AS granted,
               {_figure('requests', 'partly_granted', 'total')} AS partly_granted,
               {_subtotal_or_parts('refused')} AS refused,
               {_subtotal_or_parts('unable_to_provide')} AS unable_to_provide,
               {_subtotal_or_parts('not_processed')} AS not_processed,
               {_subtotal_or_parts('other_handling')} AS other_handling,
               {_figure('requests', 'handled_total', 'total')} AS handled_total,
               {_figure('requests', 'carried_forward', 'total')} AS carried_forward,
               {_figure('review_litigation', 'reconsideration', 'total')} AS reconsideration_total,
               {_figure('review_litigation', 'reconsideration', 'corrected')}
                 AS reconsideration_corrected,
               {_figure('review_litigation', 'litigation_direct', 'total')}
                 AS litigation_direct_total,
               {_figure('review_litigation', 'litigation_after_reconsideration', 'total')}
                 AS litigation_after_reconsideration_total,
               coalesce({_figure('disclosure', 'regulations', 'current')},
                        {_figure('disclosure', 'regulations', 'public_total')})
                 AS regulations_current,
               coalesce({_figure('disclosure', 'normative_documents', 'current')},
                        {_figure('disclosure', 'normative_documents', 'public_total')})
                 AS normative_documents_current
        FROM reports r
        JOIN report_stats s ON s.report_id = r.id AND s.version = r.current_version
        WHERE r.kind = 'annual_report' AND r.counts_for IS NOT NULL
        GROUP BY r.id""",
    )


@MIGRATIONS()
def m013_search(db: Database) -> None:
    """Full-text search over reports for Chinese: `reports_fts`, FTS5 with the trigram tokenizer.

    Chinese has no spaces, so a word tokenizer sees a whole paragraph as one token; trigram
    indexes every run of three characters, so any phrase of 3 or more characters matches
    wherever it stands (a 2-character word cannot: search those with LIKE, e.g. the canned
    query `search_short`). The table follows sqlite-utils' `enable_fts` conventions (name
    `<table>_fts`, external content `reports`, rowid = reports.id, triggers `reports_ai`,
    `reports_ad`, `reports_au`), so Datasette finds it and `?_search=` works on `reports`.
    It indexes the report's title and current text (which includes text extracted from
    attachments), and the triggers keep it in step with every write of those columns; the
    update trigger fires only when the title or text really changed, so a crawl that only
    moves `last_seen` rewrites nothing. Existing stores are indexed here, once.
    """
    _run(
        db,
        """
        CREATE VIRTUAL TABLE reports_fts USING fts5(
            title, text, content='reports', content_rowid='id', tokenize='trigram')""",
        """
        CREATE TRIGGER reports_ai AFTER INSERT ON reports BEGIN
            INSERT INTO reports_fts (rowid, title, text) VALUES (new.id, new.title, new.text);
        END""",
        """
        CREATE TRIGGER reports_ad AFTER DELETE ON reports BEGIN
            INSERT INTO reports_fts (reports_fts, rowid, title, text)
            VALUES ('delete', old.id, old.title, old.text);
        END""",
        """
        CREATE TRIGGER reports_au AFTER UPDATE OF title, text ON reports
        WHEN old.title IS NOT new.title OR old.text IS NOT new.text BEGIN
            INSERT INTO reports_fts (reports_fts, rowid, title, text)
            VALUES ('delete', old.id, old.title, old.text);
            INSERT INTO reports_fts (rowid, title, text) VALUES (new.id, new.title, new.text);
        END""",
        "INSERT INTO reports_fts (reports_fts) VALUES ('rebuild')",
    )


# What a cell's matrix code (storage/coverage_sql.MARK_CODES) reads of each table: a write
# that changes one of these columns drops the codes of the agencies it can touch.
_REPORT_COLUMNS = ("id", "counts_for", "agency_id", "year", "kind", "published_date",
                   "first_seen", "year_basis")
_CRAWL_COLUMNS = ("agency_id", "outcome", "report_errors", "started_at")
_FINDING_COLUMNS = ("agency_id", "year", "kind", "dedup_key")
_AGENCY_COLUMNS = ("id", "kind", "start_year", "deadline")


def _changed(columns: tuple[str, ...]) -> str:
    return " OR ".join(f"old.{c} IS NOT new.{c}" for c in columns)


def _drop_codes_of_crawled(row: str) -> str:
    # The agency's own cells (its last complete crawl) and the cells of the agencies whose
    # counted reports were found on its site (a late report known to be late by a crawl of
    # the site it was found on).
    return f"""
            DELETE FROM matrix_codes WHERE agency_id = {row}.agency_id;
            DELETE FROM matrix_codes WHERE agency_id IN (
              SELECT counts_for FROM reports WHERE agency_id = {row}.agency_id
                AND counts_for IS NOT NULL);"""


def _drop_codes_of_finding(row: str) -> str:
    # The codes ask for findings by dedup_key ('missing:<agency>:<year>'): the agency named in
    # the key, as well as the row's agency_id (always the same when check writes them).
    return f"""
            DELETE FROM matrix_codes WHERE agency_id = {row}.agency_id;
            DELETE FROM matrix_codes WHERE agency_id = substr(
              {row}.dedup_key, instr({row}.dedup_key, ':') + 1,
              length({row}.dedup_key) - instr({row}.dedup_key, ':') - length(':' || {row}.year));"""


def _dropping_triggers(table: str, columns: tuple[str, ...], drop: str, when: str = "") -> list[str]:
    """The three triggers (after insert, delete, and an update that changes one of `columns`)
    that run `drop` (SQL with {row} for new/old) on `table`: an update drops for the old row
    and the new one."""
    def guard(row: str) -> str:
        return f"WHEN {when.format(row=row)} " if when else ""

    return [
        f"""
        CREATE TRIGGER matrix_codes_{table}_ai AFTER INSERT ON {table} {guard('new')}BEGIN
            {drop.format(row='new')}
        END""",
        f"""
        CREATE TRIGGER matrix_codes_{table}_ad AFTER DELETE ON {table} {guard('old')}BEGIN
            {drop.format(row='old')}
        END""",
        f"""
        CREATE TRIGGER matrix_codes_{table}_au AFTER UPDATE OF {', '.join(columns)}
        ON {table} WHEN {_changed(columns)} BEGIN
            {drop.format(row='old')}
            {drop.format(row='new')}
        END""",
    ]


@MIGRATIONS()
def m014_matrix_codes(db: Database) -> None:
    """matrix_codes: each agency's row of `nianbao check`'s matrix, kept between checks.

    Computing the codes costs a correlated lookup per cell (2.7 M cells, about 7 s of CPU at
    national scale); on most days nothing under most agencies changed. A row holds the
    codes computed as of one day together with the days for which they hold (the same year,
    on the same side of the deadline of last year's report: nothing else in a code depends on
    the day), and `rules`, the identity of the SQL that computed them. Triggers delete an
    agency's row whenever something its codes read changes: a report counted for it (insert,
    delete, or a change of what the codes read), a crawl of it or of a site where a report
    counting for it was found, a missing/late finding of it, its registry entry (kind,
    start_year, deadline), and all rows when the legal deadline table changes. A row that is
    absent, of other rules or of another window is computed again, so the table is only ever
    a shortcut: dropping it (DELETE FROM matrix_codes) is always safe.

    registry_state.agency_order: the ids of the registry last synced in full, in its order
    (JSON), so that a check of that same file reads the agencies from the store.
    """
    statements = [
        """
        CREATE TABLE matrix_codes (
            agency_id    TEXT PRIMARY KEY,
            rules        TEXT NOT NULL,
            first_year   INTEGER NOT NULL,
            codes        TEXT,
            hosted       TEXT,
            valid_after  TEXT NOT NULL,
            valid_until  TEXT NOT NULL
        ) WITHOUT ROWID""",
        *_dropping_triggers("reports", _REPORT_COLUMNS, "DELETE FROM matrix_codes WHERE agency_id = {row}.counts_for;",
                            when="{row}.counts_for IS NOT NULL"),
        *_dropping_triggers("crawl_agencies", _CRAWL_COLUMNS, _drop_codes_of_crawled("{row}")),
        *_dropping_triggers("findings", _FINDING_COLUMNS, _drop_codes_of_finding("{row}")),
        *_dropping_triggers("agencies", _AGENCY_COLUMNS, "DELETE FROM matrix_codes WHERE agency_id = {row}.id;"),
    ]
    # registry_state.agency_order: the registry's ids in file order, so that `check` of an
    # unchanged registry reads ids and names from the store instead of loading the file.
    # Forgetting the state makes the next check sync once more and write it.
    statements += ["ALTER TABLE registry_state ADD COLUMN agency_order TEXT",
                   "DELETE FROM registry_state"]
    # deadline_rules: every agency's deadlines
    for event, name in (("INSERT", "ai"), ("DELETE", "ad"), ("UPDATE", "au")):
        statements.append(f"""
        CREATE TRIGGER matrix_codes_deadline_rules_{name} AFTER {event} ON deadline_rules BEGIN
            DELETE FROM matrix_codes;
        END""")
    _run(db, *statements)
