"""Agencies as the registry describes them, and the legal deadline table the views use."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from .models import AgencyRecord, utc_now
from .part import StorePart, ids_filter, to_json

# Columns of deadline_rules, in the order a rule given as a plain tuple lists them.
RULE_FIELDS = ("first_year", "last_year", "agency_kind", "month", "day", "basis")


def _rule_values(rule: Any) -> tuple:
    if isinstance(rule, Sequence):
        values = tuple(rule)
        if len(values) != len(RULE_FIELDS):
            raise ValueError(f"a deadline rule has {len(RULE_FIELDS)} values, got {values!r}")
        return values
    return tuple(getattr(rule, name) for name in RULE_FIELDS)


class Agencies(StorePart):
    """`store.agencies`: the agencies table (synced from the registry) and deadline_rules."""

    def sync(self, agencies: Iterable[AgencyRecord], *, prune: bool = False) -> int:
        """Insert or update agencies from the registry, in one transaction; return how many
        rows changed.

        agencies: agencies of the registry (all of them, or the subset a crawl covers). Rows
        are inserted or updated; updated_at changes only when a field does.
        prune: `agencies` is the whole registry: delete the agencies it does not list that
        nothing refers to (no report, finding or fetch_log row), and mark the others
        in_registry = 0. Off by default because a crawl syncs only the agencies it covers.
        Agencies with data are never deleted.
        Set-based: the records go to a temporary table and three statements upsert and prune,
        so 150,000 agencies sync in about a second. A change made without `prune` (a crawl's
        batch) forgets registry_state, so the next full sync is not skipped.
        """
        now = utc_now()
        records = list(agencies)
        duplicates = sorted(i for i, n in Counter(a.id for a in records).items() if n > 1)
        if duplicates:
            raise ValueError(f"duplicate agency ids: {', '.join(duplicates)}")
        with self._write():
            self.db.execute(
                "CREATE TEMP TABLE IF NOT EXISTS registry_rows (id TEXT PRIMARY KEY, name TEXT, "
                "kind TEXT, region TEXT, start_year INTEGER, sources TEXT, deadline TEXT)")
            self.db.execute("DELETE FROM temp.registry_rows")
            self.db.conn.executemany(
                "INSERT INTO temp.registry_rows VALUES (?, ?, ?, ?, ?, ?, ?)",
                ((a.id, a.name, a.kind, a.region, a.start_year, to_json(list(a.sources)),
                  a.deadline) for a in records))
            changed = self.db.execute(
                """INSERT INTO agencies (id, name, kind, region, start_year, sources, deadline,
                                         in_registry, updated_at)
                   SELECT id, name, kind, region, start_year, sources, deadline, 1, :now
                   FROM temp.registry_rows WHERE true
                   ON CONFLICT (id) DO UPDATE SET
                     name = excluded.name, kind = excluded.kind, region = excluded.region,
                     start_year = excluded.start_year, sources = excluded.sources,
                     deadline = excluded.deadline, in_registry = 1, updated_at = :now
                   WHERE agencies.name IS NOT excluded.name OR agencies.kind IS NOT excluded.kind
                      OR agencies.region IS NOT excluded.region
                      OR agencies.start_year IS NOT excluded.start_year
                      OR agencies.sources IS NOT excluded.sources
                      OR agencies.deadline IS NOT excluded.deadline
                      OR agencies.in_registry IS NOT 1""",
                {"now": now}).rowcount
            if prune:
                gone = "id NOT IN (SELECT id FROM temp.registry_rows)"
                changed += self.db.execute(
                    f"""DELETE FROM agencies WHERE {gone}
                       AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.agency_id = agencies.id)
                       AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.counts_for = agencies.id)
                       AND NOT EXISTS (SELECT 1 FROM listing_pages p WHERE p.agency_id = agencies.id)
                       AND NOT EXISTS (SELECT 1 FROM pending_findings p
                                       WHERE p.agency_id = agencies.id)
                       AND NOT EXISTS (SELECT 1 FROM findings f WHERE f.agency_id = agencies.id)
                       AND NOT EXISTS (SELECT 1 FROM fetch_log l WHERE l.agency_id = agencies.id)
                       AND NOT EXISTS (SELECT 1 FROM crawl_agencies c
                                       WHERE c.agency_id = agencies.id)
                       AND NOT EXISTS (SELECT 1 FROM agency_schedule s
                                       WHERE s.agency_id = agencies.id)""").rowcount
                # One with history stays, marked as no longer in the registry: the coverage
                # view then stops expecting reports from it.
                changed += self.db.execute(
                    f"UPDATE agencies SET in_registry = 0, updated_at = ? "
                    f"WHERE in_registry = 1 AND {gone}", (now,)).rowcount
            elif changed:
                self.db.execute("DELETE FROM registry_state")
            self.db.execute("DELETE FROM temp.registry_rows")
        return changed

    def sync_registry(self, agencies: Iterable[AgencyRecord], *, path: str,
                      sha256: str | None) -> bool:
        """`sync(agencies, prune=True)` of a whole registry file, skipped when registry_state
        says this file (by its SHA-256) is what the agencies table already holds; return
        True when it synced. sha256 None or empty: unknown, always sync."""
        with self._write():
            if sha256:
                row = self._one("SELECT sha256 FROM registry_state WHERE id = 1")
                if row is not None and row[0] == sha256:
                    return False
            records = list(agencies)
            self.sync(records, prune=True)
            if sha256:
                self.db.execute(
                    "INSERT OR REPLACE INTO registry_state (id, path, sha256, agencies, "
                    "synced_at, agency_order) VALUES (1, ?, ?, (SELECT count(*) FROM agencies "
                    "WHERE in_registry = 1), ?, ?)",
                    (path, sha256, utc_now(), to_json([a.id for a in records])))
        return True

    def registry_held(self, sha256: str) -> list[tuple] | None:
        """The agencies of the registry file with this SHA-256, in its order (tuples of id, name, kind,
        start_year, deadline, region, sources), when it is what the store last synced in full
        and nothing changed an agency since; else None."""
        row = self._one("SELECT sha256, agency_order, agencies FROM registry_state WHERE id = 1")
        if row is None or row[0] != sha256 or not row[1]:
            return None
        # In the file's order, by the order's keys; every one still an agency of the registry.
        rows = self.db.execute(
            "SELECT a.id, a.name, a.kind, a.start_year, a.deadline, a.region, a.sources "
            "FROM json_each(?) j CROSS JOIN agencies a ON a.id = j.value "
            "WHERE a.in_registry = 1 ORDER BY j.key", (row[1],)).fetchall()
        held = self._one("SELECT count(*) FROM agencies WHERE in_registry = 1")[0]
        if len(rows) != row[2] or held != row[2]:
            return None
        return rows

    def rows(self, agency_ids: Sequence[str] | None = None) -> list[dict]:
        """Agencies as stored: id, name, kind, start_year, deadline; ordered by id.

        agency_ids: only these (all when None).
        """
        where, params = ids_filter("id", agency_ids)
        return [dict(row) for row in self._all(
            f"SELECT id, name, kind, start_year, deadline FROM agencies WHERE {where} ORDER BY id",
            params,
        )]

    def sync_deadline_rules(self, rules: Iterable[Any]) -> bool:
        """Replace the deadline_rules table with `rules`, in one transaction.

        rules: the legal table, each rule an object with the attributes first_year,
        last_year, agency_kind, month, day, basis (e.g. config.deadlines.DeadlineRule) or a
        tuple of those six values in that order. Returns True if the table changed; an
        unchanged table is not rewritten.
        """
        wanted = sorted((_rule_values(rule) for rule in rules), key=repr)
        with self._write():
            current = sorted(
                (tuple(row) for row in self._all(f"SELECT {', '.join(RULE_FIELDS)} FROM deadline_rules")),
                key=repr,
            )
            if current == wanted:
                return False
            self.db.execute("DELETE FROM deadline_rules")
            for values in wanted:
                self.db.execute(
                    f"INSERT INTO deadline_rules ({', '.join(RULE_FIELDS)}) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    values,
                )
        return True
