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

# The agencies asked about, in order, with what the cells need of each. MATERIALIZED: the
# last complete crawl is looked up once per agency, not once per cell.
_SELECTION = """
  sel (ord, agency_id, name, kind, override, first_year, last_good) AS MATERIALIZED (
    SELECT j.key, a.id, a.name, a.kind, a.deadline, max(a.start_year, :first_report_year),
           (SELECT max(g.started_at) FROM crawl_agencies g
            WHERE g.agency_id = a.id AND g.outcome = 'ok' AND g.report_errors = 0)
    FROM json_each(:ids) j CROSS JOIN agencies a ON a.id = j.value
  ),
  years (year) AS (
    SELECT min(first_year) FROM sel
    UNION ALL SELECT year + 1 FROM years WHERE year < CAST(substr(:as_of, 1, 4) AS INTEGER)
  ),
  kinds (kind) AS (SELECT DISTINCT kind FROM sel),
  law (kind, year, deadline) AS MATERIALIZED (
    SELECT k.kind, y.year, (
      SELECT printf('%04d-%02d-%02d', y.year + 1, e.month, e.day) FROM deadline_rules e
      WHERE y.year >= e.first_year AND (e.last_year IS NULL OR y.year <= e.last_year)
        AND (e.agency_kind IS NULL OR e.agency_kind = k.kind)
      ORDER BY e.agency_kind IS NULL LIMIT 1)
    FROM kinds k, years y
  )"""

# One row per cell, in (ord, year) order: CROSS JOIN fixes the nested loops' order (the
# selection's order outside, the years inside), so no sort of millions of rows is needed.
_CELLS = """
  cells AS (
    SELECT s.ord, s.agency_id, s.name, y.year, s.last_good,
           CASE WHEN s.override IS NOT NULL THEN printf('%04d-', y.year + 1) || s.override
                ELSE l.deadline END AS deadline,
           r.id AS report_id,
           coalesce(r.published_date, date(r.first_seen, '+8 hours')) AS published_date,
           CASE WHEN r.published_date IS NOT NULL THEN coalesce(r.published_basis, 'page')
                WHEN r.id IS NOT NULL THEN 'first_seen' END AS published_basis,
           r.status AS report_status, r.title, r.url, r.year_basis, r.title_year, r.first_seen,
           CASE WHEN r.agency_id <> s.agency_id THEN r.agency_id END AS hosted_by
    FROM sel s CROSS JOIN years y
    LEFT JOIN law l ON l.kind = s.kind AND l.year = y.year
    LEFT JOIN reports r ON r.id = (
      SELECT f.id FROM reports f
      WHERE f.counts_for = s.agency_id AND f.year = y.year AND f.kind = 'annual_report'
      ORDER BY coalesce(f.published_date, date(f.first_seen, '+8 hours')), f.id LIMIT 1)
    WHERE y.year >= s.first_year
      AND (NOT :missing_only OR EXISTS (
        SELECT 1 FROM findings x
        WHERE x.agency_id = s.agency_id AND x.year = y.year AND x.kind = 'missing'))
      AND (y.year < CAST(substr(:as_of, 1, 4) AS INTEGER) OR r.id IS NOT NULL)
  ),
  judged AS (
    SELECT *,
           CASE WHEN published_date IS NOT NULL AND published_date <= deadline THEN 'on_time'
                WHEN published_date IS NOT NULL THEN 'late'
                WHEN :as_of > deadline THEN 'missing'
                ELSE 'not_due' END AS status,
           strftime('%Y-%m-%dT%H:%M:%SZ', deadline, '+1 day', '-8 hours') AS deadline_ends
    FROM cells
  ),
  rows AS (
    SELECT *,
           CASE WHEN status = 'missing' THEN coalesce(last_good, '') > deadline_ends END
             AS verified
    FROM judged
  )"""

WITH = "WITH RECURSIVE" + _SELECTION + "," + _CELLS

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

# One code per cell for the matrix: status letter (o on time, l late, m missing, u missing
# but unverified, n not due), then 't' when the year was read from the text, 'h' when the
# report was found on another agency's site ('-' otherwise). Three characters per cell,
# cells of an agency contiguous from its first year.
MARK_CODES = WITH + """
SELECT agency_id, min(year),
       group_concat(CASE status WHEN 'on_time' THEN 'o' WHEN 'late' THEN 'l'
                                WHEN 'not_due' THEN 'n'
                                ELSE CASE WHEN verified THEN 'm' ELSE 'u' END END
                    || CASE WHEN year_basis = 'text' THEN 't' ELSE '-' END
                    || CASE WHEN hosted_by IS NOT NULL THEN 'h' ELSE '-' END, ''),
       group_concat(CASE WHEN hosted_by IS NOT NULL THEN year || ' ' || hosted_by END, ',')
FROM rows GROUP BY ord ORDER BY ord"""

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
