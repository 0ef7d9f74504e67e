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

    def sync(self, agencies: Iterable[AgencyRecord], *, prune: bool = False) -> None:
        """Insert or update agencies from the registry, in one transaction.

        agencies: agencies of the registry (all of them, or the subset a crawl covers). Rows
        are inserted or updated; updated_at changes only when a field does.
        prune: `agencies` is the whole registry: delete the agencies it does not list that
        nothing refers to (no report, finding or fetch_log row), and mark the others
        in_registry = 0. Off by default because a crawl syncs only the agencies it covers.
        Agencies with data are never deleted.
        """
        now = utc_now()
        records = list(agencies)
        ids = [a.id for a in records]
        duplicates = sorted(i for i, n in Counter(ids).items() if n > 1)
        if duplicates:
            raise ValueError(f"duplicate agency ids: {', '.join(duplicates)}")
        with self._write():
            # A crawl syncs its batch: read only those rows (pruning needs them all).
            existing = {row["id"]: row for row in (
                self._all("SELECT * FROM agencies") if prune else self._all(
                    "SELECT * FROM agencies WHERE id IN (SELECT value FROM json_each(?))",
                    (json.dumps(ids),)))}
            for agency in records:
                values = (agency.name, agency.kind, agency.region, agency.start_year,
                          to_json(list(agency.sources)), agency.deadline, 1)
                old = existing.get(agency.id)
                if old is None:
                    self.db.execute(
                        "INSERT INTO agencies (name, kind, region, start_year, sources, "
                        "deadline, in_registry, updated_at, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (*values, now, agency.id),
                    )
                elif tuple(old[k] for k in ("name", "kind", "region", "start_year",
                                            "sources", "deadline", "in_registry")) != values:
                    self.db.execute(
                        "UPDATE agencies SET name = ?, kind = ?, region = ?, start_year = ?, "
                        "sources = ?, deadline = ?, in_registry = ?, updated_at = ? WHERE id = ?",
                        (*values, now, agency.id),
                    )
            if prune:
                keep = set(ids)
                for agency_id in existing.keys() - keep:
                    self.db.execute(
                        """DELETE FROM agencies WHERE id = :id
                           AND NOT EXISTS (SELECT 1 FROM reports WHERE agency_id = :id)
                           AND NOT EXISTS (SELECT 1 FROM findings WHERE agency_id = :id)
                           AND NOT EXISTS (SELECT 1 FROM fetch_log WHERE agency_id = :id)
                           AND NOT EXISTS (SELECT 1 FROM crawl_agencies WHERE agency_id = :id)
                           AND NOT EXISTS (SELECT 1 FROM agency_schedule WHERE agency_id = :id)""",
                        {"id": agency_id},
                    )
                    # One with history stays, marked as no longer in the registry: the
                    # coverage view then stops expecting reports from it.
                    self.db.execute(
                        "UPDATE agencies SET in_registry = 0, updated_at = ? "
                        "WHERE id = ? AND in_registry = 1",
                        (now, agency_id),
                    )

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
