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
