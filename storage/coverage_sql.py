"""Coverage as SQL: the rules of monitor/coverage.py, monitor/calendar.py and the findings
of monitor/findings.py, computed over the store's indexed tables for a whole registry at once.

`nianbao check` at national scale (150,000 agencies x 18 years) cannot build 2.7 M Python
rows; these statements compute each cell in SQLite and hand out only what is printed or
written. tests/test_check_sql.py holds them to the Python rules (small stores in the normal
tests, a large one under the `soak` marker): the two must stay one law.

Every statement takes named parameters:
  :ids        JSON list of agency ids, in the order rows are wanted (json_each's key)
  :as_of      'YYYY-MM-DD', the day coverage is computed as of (in China)
  :first_report_year   no report is expected before this year (the Regulations, 2008)
  :missing_only  1: only the cells that have a `missing` finding (for turned_up), else 0

A cell is (agency, year) for every year from max(start_year, first_report_year) to the
year before as_of's, plus as_of's own year when a report for it already appeared
(calendar.expected_years). The report that counts is the earliest published annual report
counted for the agency (counts_for), published being the page's date else the day it was
first seen in China, ties to the lower id (store.coverage.first_annual_reports); its
deadline is the agency's override else the legal table's (deadline_rules, a kind's own rule
first); its status is coverage.status_of; a missing cell is verified when a complete crawl of
the agency started after the deadline day ended in China (findings.verify_missing).
"""

from __future__ import annotations

# The legal deadline of every report year for each (kind, override) the agencies have, as
# one string of 10-character dates per pair: a cell's deadline is then a substr(), not a
# lookup (at 2.7 M cells each microsecond is seconds).
_LAW = """
  law_years (year) AS (
    SELECT :first_report_year
    UNION ALL SELECT year + 1 FROM law_years
    WHERE year < CAST(substr(:as_of, 1, 4) AS INTEGER)
  ),
  terms (kind, override) AS (SELECT DISTINCT kind, deadline FROM agencies),
  law (kind, okey, deadlines) AS MATERIALIZED (
    SELECT t.kind, coalesce(t.override, ''), (
      SELECT group_concat(deadline, '') FROM (
        SELECT CASE WHEN t.override IS NOT NULL THEN printf('%04d-', y.year + 1) || t.override
                    ELSE coalesce((
                      SELECT printf('%04d-%02d-%02d', y.year + 1, e.month, e.day)
                      FROM deadline_rules e
                      WHERE y.year >= e.first_year
                        AND (e.last_year IS NULL OR y.year <= e.last_year)
                        AND (e.agency_kind IS NULL OR e.agency_kind = t.kind)
                      ORDER BY e.agency_kind IS NULL LIMIT 1), '0000-00-00') END AS deadline
        FROM law_years y ORDER BY y.year))
    FROM terms t
  )"""

# The agencies asked about, in order, with what the cells need of each. MATERIALIZED: the
# last complete crawl and the deadlines are looked up once per agency, not once per cell.
_SELECTION = """
  sel (ord, agency_id, name, kind, first_year, last_good, deadlines) AS MATERIALIZED (
    SELECT j.key, a.id, a.name, a.kind, max(a.start_year, :first_report_year),
           (SELECT max(g.started_at) FROM crawl_agencies g
            WHERE g.agency_id = a.id AND g.outcome = 'ok' AND g.report_errors = 0),
           (SELECT l.deadlines FROM law l
            WHERE l.kind = a.kind AND l.okey = coalesce(a.deadline, ''))
    FROM json_each(:ids) j CROSS JOIN agencies a ON a.id = j.value
  ),
  years (year) AS MATERIALIZED (SELECT year FROM law_years)"""

# The report that counts for a cell, joined through idx_reports_counting: its first entry of
# (agency, year) is the earliest published (ties: lower id), and the index holds what a cell
# needs of it, so the table (with the texts) is read only for the columns only it has.
_COUNTED = """
    LEFT JOIN reports r INDEXED BY idx_reports_counting
      ON r.counts_for = s.agency_id AND r.year = y.year AND r.kind = 'annual_report'
     AND r.id = (
      SELECT f.id FROM reports f INDEXED BY idx_reports_counting
      WHERE f.counts_for = s.agency_id AND f.year = y.year AND f.kind = 'annual_report'
      ORDER BY coalesce(f.published_date, date(f.first_seen, '+8 hours')), f.id LIMIT 1)"""

# The cell's expected years: from the agency's first to the year before as_of's, and as_of's
# own once its report is out (calendar.expected_years).
_EXPECTED = """
      y.year >= s.first_year
      AND (y.year < CAST(substr(:as_of, 1, 4) AS INTEGER) OR r.id IS NOT NULL)"""

_DEADLINE = "substr(s.deadlines, (y.year - :first_report_year) * 10 + 1, 10)"
_PUBLISHED = "coalesce(r.published_date, date(r.first_seen, '+8 hours'))"

# One row per cell, in (ord, year) order: CROSS JOIN fixes the nested loops' order (the
# selection's order outside, the years inside), so no sort of millions of rows is needed.
_CELLS = f"""
  cells AS (
    SELECT s.ord, s.agency_id, s.name, y.year, s.last_good,
           {_DEADLINE} AS deadline,
           r.id AS report_id,
           {_PUBLISHED} AS published_date,
           CASE WHEN r.published_date IS NOT NULL THEN coalesce(r.published_basis, 'page')
                WHEN r.id IS NOT NULL THEN 'first_seen' END AS published_basis,
           r.status AS report_status, r.title, r.url, r.year_basis, r.title_year, r.first_seen,
           CASE WHEN r.agency_id <> s.agency_id THEN r.agency_id END AS hosted_by
    FROM sel s CROSS JOIN years y
    {_COUNTED}
    WHERE {_EXPECTED}
      AND (NOT :missing_only OR EXISTS (
        SELECT 1 FROM findings x
        WHERE x.agency_id = s.agency_id AND x.year = y.year AND x.kind = 'missing'))
  ),
  judged AS (
    SELECT *,
           CASE WHEN published_date IS NOT NULL AND published_date <= deadline THEN 'on_time'
                WHEN published_date IS NOT NULL THEN 'late'
                WHEN :as_of > deadline THEN 'missing'
                ELSE 'not_due' END AS status,
           -- the moment the deadline day ends in China, as the store writes times
           deadline || 'T16:00:00Z' AS deadline_ends
    FROM cells
  ),
  rows AS (
    SELECT *,
           CASE WHEN status = 'missing' THEN coalesce(last_good, '') > deadline_ends END
             AS verified
    FROM judged
  )"""

WITH = "WITH RECURSIVE" + _LAW + "," + _SELECTION + "," + _CELLS

# Every column of a CoverageRow, in its order.
ROW_COLUMNS = ("agency_id", "year", "status", "deadline", "report_id", "published_date",
               "published_basis", "report_status", "title", "url", "year_basis", "title_year",
               "verified", "hosted_by")

ROWS = WITH + f"\nSELECT {', '.join(ROW_COLUMNS)} FROM rows"

# The same rows as JSON text, one object per row, keys in CoverageRow's order (verified a
# JSON boolean, absent values null), so `check --json` prints what SQLite wrote.
JSON_ROWS = WITH + """
SELECT json_object('agency_id', agency_id, 'year', year, 'status', status,
                   'deadline', deadline, 'report_id', report_id,
                   'published_date', published_date, 'published_basis', published_basis,
                   'report_status', report_status, 'title', title, 'url', url,
                   'year_basis', year_basis, 'title_year', title_year,
                   'verified', CASE WHEN verified IS NULL THEN NULL
                                    WHEN verified THEN json('true') ELSE json('false') END,
                   'hosted_by', hosted_by)
FROM rows"""

# One code per cell for the matrix, per agency, with no sort: a correlated subquery per
# agency concatenates its cells in year order. Three characters per cell, contiguous from the
# agency's first year: the status letter (o on time, l late, m missing, u missing but not
# verified, n not due), in capitals when the cell still lacks its finding (a verified missing
# without a `missing` finding, a late one known to be late without a `late` finding); then 't'
# when the year was read from the report's text, 'h' when the report was found on another
# agency's site ('-' otherwise).
_LATE_KNOWN_CELL = """
  (r.published_date IS NOT NULL OR EXISTS (
     SELECT 1 FROM crawl_agencies g
     WHERE g.agency_id = r.agency_id AND g.outcome = 'ok' AND g.report_errors = 0
       AND g.started_at > {deadline} || 'T16:00:00Z' AND g.started_at < r.first_seen))"""
_MARK_CODES = "WITH RECURSIVE" + _LAW + "," + _SELECTION + f"""
SELECT s.agency_id, s.first_year, (
  SELECT group_concat(
    CASE WHEN r.id IS NULL THEN
           CASE WHEN :as_of <= {_DEADLINE} THEN 'n'
                WHEN coalesce(s.last_good, '') <= {_DEADLINE} || 'T16:00:00Z' THEN 'u'
                WHEN EXISTS (SELECT 1 FROM findings x WHERE x.dedup_key =
                               'missing:' || s.agency_id || ':' || y.year) THEN 'm'
                ELSE 'M' END
         WHEN {_PUBLISHED} <= {_DEADLINE} THEN 'o'
         WHEN EXISTS (SELECT 1 FROM findings x WHERE x.dedup_key =
                        'late:' || s.agency_id || ':' || y.year) THEN 'l'
         WHEN {_LATE_KNOWN_CELL.format(deadline=_DEADLINE)} THEN 'L'
         ELSE 'l' END
    || CASE WHEN r.year_basis = 'text' THEN 't' ELSE '-' END
    || CASE WHEN r.agency_id <> s.agency_id THEN 'h' ELSE '-' END, '')
  FROM years y {_COUNTED}
  WHERE {_EXPECTED}){{window}}
FROM sel s"""
MARK_CODES = _MARK_CODES.format(window="")

# The days for which an agency's codes computed as of :as_of hold, for storage's
# matrix_codes: as_of > valid_after and as_of <= valid_until. A code reads the day only in
# which years are expected (the day's year) and, for a cell without a report, whether its
# deadline has passed; every deadline but that of last year's report lies in an earlier year,
# so the codes hold through the day's year on the same side of that one deadline.
_LAST_DEADLINE = ("(SELECT CASE WHEN y.year >= :first_report_year AND substr(d, 1, 4) = "
                  "CAST(y.year + 1 AS TEXT) THEN d END FROM (SELECT "
                  "substr(s.deadlines, (y.year - :first_report_year) * 10 + 1, 10) AS d))")
_THIS_YEAR = "CAST(substr(:as_of, 1, 4) AS INTEGER)"
MARK_CODES_KEPT = _MARK_CODES.format(window=f""",
  (SELECT CASE WHEN dl IS NOT NULL AND :as_of > dl THEN dl
               ELSE printf('%04d-12-31', {_THIS_YEAR} - 1) END
   FROM (SELECT {_LAST_DEADLINE} AS dl FROM (SELECT {_THIS_YEAR} - 1 AS year) y)),
  (SELECT CASE WHEN dl IS NOT NULL AND :as_of <= dl THEN dl
               ELSE printf('%04d-12-31', {_THIS_YEAR}) END
   FROM (SELECT {_LAST_DEADLINE} AS dl FROM (SELECT {_THIS_YEAR} - 1 AS year) y))""")

# The codes kept in matrix_codes that hold for :as_of and were computed by these :rules.
KEPT_CODES = """
SELECT m.agency_id, m.first_year, m.codes, m.hosted
FROM json_each(:ids) j CROSS JOIN matrix_codes m ON m.agency_id = j.value
WHERE m.rules = :rules AND :as_of > m.valid_after AND :as_of <= m.valid_until"""

KEEP_CODES = """
INSERT OR REPLACE INTO matrix_codes (agency_id, rules, first_year, codes, hosted, valid_after,
                                     valid_until)
VALUES (?, ?, ?, ?, ?, ?, ?)"""

# The cells whose report was found on another agency's site: (agency, year, host), for the
# matrix's legend (only asked for the agencies whose codes have an 'h').
HOSTED = WITH + """
SELECT agency_id, year, hosted_by FROM rows WHERE hosted_by IS NOT NULL"""

# -- findings, each raised once (dedup_key), in one transaction --------------------------------
# :now is the detection time. Details as monitor/findings.py writes them (keys sorted, as
# storage's to_json sorts them).

_LATE_KNOWN = """
  (rows.published_basis <> 'first_seen' OR EXISTS (
     SELECT 1 FROM crawl_agencies g
     WHERE g.agency_id = coalesce(rows.hosted_by, rows.agency_id) AND g.outcome = 'ok'
       AND g.report_errors = 0 AND g.started_at > rows.deadline_ends
       AND g.started_at < rows.first_seen))"""

_DAYS_LATE = "CAST(julianday(published_date) - julianday(deadline) AS INTEGER)"

_REPORT_FACTS = """
    'published_basis', published_basis, 'published_date', published_date,
    'report_id', report_id, 'report_status', report_status"""

INSERT_MISSING = WITH + """
INSERT OR IGNORE INTO findings (kind, agency_id, year, report_id, detected_at, details,
                                dedup_key)
SELECT 'missing', agency_id, year, NULL, :now,
       json_object('agency_name', name, 'as_of', :as_of, 'deadline', deadline,
                   'summary', name || ': no annual report for ' || year
                              || ' found; it was due ' || deadline),
       'missing:' || agency_id || ':' || year
FROM rows
WHERE status = 'missing' AND verified
  AND NOT EXISTS (SELECT 1 FROM findings x
                  WHERE x.dedup_key = 'missing:' || rows.agency_id || ':' || rows.year)"""

INSERT_LATE = WITH + f"""
INSERT OR IGNORE INTO findings (kind, agency_id, year, report_id, detected_at, details,
                                dedup_key)
SELECT 'late', agency_id, year, report_id, :now,
       CASE WHEN hosted_by IS NULL THEN json_object(
         'agency_name', name, 'as_of', :as_of, 'days_late', {_DAYS_LATE}, 'deadline', deadline,
         {_REPORT_FACTS}, 'summary', summary, 'title', title, 'url', url)
       ELSE json_object(
         'agency_name', name, 'as_of', :as_of, 'days_late', {_DAYS_LATE}, 'deadline', deadline,
         'hosted_by', hosted_by, {_REPORT_FACTS}, 'summary', summary, 'title', title, 'url', url)
       END,
       'late:' || agency_id || ':' || year
FROM (SELECT *, name || ': the ' || year || ' report was published ' || published_date || ' ('
                || {_DAYS_LATE} || ' days after the deadline ' || deadline || ')' AS summary
      FROM rows
      WHERE status = 'late'
        AND NOT EXISTS (SELECT 1 FROM findings x
                        WHERE x.dedup_key = 'late:' || rows.agency_id || ':' || rows.year)
        AND {_LATE_KNOWN})"""

# turned_up: only cells with a `missing` finding can turn up, so the cells looked at are
# those of the missing findings (:ids the agencies that have one, :missing_only 1).
INSERT_TURNED_UP = WITH + f"""
INSERT OR IGNORE INTO findings (kind, agency_id, year, report_id, detected_at, details,
                                dedup_key)
SELECT 'turned_up', agency_id, year, report_id, :now,
       json_patch(json_object(
         'agency_name', name, 'as_of', :as_of, 'deadline', deadline, {_REPORT_FACTS},
         'status', status,
         'summary', name || ': the ' || year || ' report reported missing has turned up '
                    || '(published ' || published_date || ', '
                    || CASE status WHEN 'on_time' THEN 'on time' ELSE 'late' END || ')',
         'title', title, 'url', url),
         json_object('days_late', CASE WHEN status = 'late' THEN {_DAYS_LATE} END,
                     'hosted_by', hosted_by)),
       'turned_up:' || agency_id || ':' || year
FROM rows
WHERE report_id IS NOT NULL
  AND EXISTS (SELECT 1 FROM findings x
              WHERE x.dedup_key = 'missing:' || rows.agency_id || ':' || rows.year)
  AND NOT EXISTS (SELECT 1 FROM findings x
                  WHERE x.dedup_key = 'turned_up:' || rows.agency_id || ':' || rows.year)
  AND (status <> 'late' OR {_LATE_KNOWN})"""

# The agencies with a `missing` finding that has no `turned_up` yet while an annual report
# now counts for that agency and year: the only cells a turned_up can come from.
TURNED_UP_CANDIDATES = """
SELECT DISTINCT m.agency_id FROM findings m
WHERE m.kind = 'missing'
  AND NOT EXISTS (SELECT 1 FROM findings t
                  WHERE t.dedup_key = 'turned_up:' || m.agency_id || ':' || m.year)
  AND EXISTS (SELECT 1 FROM reports f INDEXED BY idx_reports_counting
              WHERE f.counts_for = m.agency_id AND f.year = m.year
                AND f.kind = 'annual_report')"""

# Agencies with a current run of at least :threshold failing crawls ('errors' or 'failed'
# since their last 'ok' crawl; 'unknown' says nothing), in one pass over crawl_agencies.
FAILING_AGENCIES = """
WITH last_ok AS (
  SELECT agency_id, max(crawl_id) AS crawl_id FROM crawl_agencies
  WHERE outcome = 'ok' GROUP BY agency_id
)
SELECT c.agency_id FROM crawl_agencies c
LEFT JOIN last_ok o ON o.agency_id = c.agency_id
WHERE c.outcome IN ('errors', 'failed') AND c.crawl_id > coalesce(o.crawl_id, -1)
  AND c.agency_id IN (SELECT value FROM json_each(:ids))
GROUP BY c.agency_id HAVING count(*) >= :threshold"""
