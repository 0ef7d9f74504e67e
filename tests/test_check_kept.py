"""The matrix codes kept between checks (matrix_codes, m014) never give a stale answer.

Each test runs `nianbao check` (a child process, real SQLite), changes one thing the codes
depend on (a new report, a new crawl, a deadline passing, the registry, a finding, the legal
table) and checks again: the second check must print what a check of the same store without
any kept codes prints, and write the same findings. A false `missing` (or a missing never
raised) from kept codes would be the worst defect, so every path that drops them is here.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import yaml

from nianbao.storage import Store
from tests.test_check_cli import AGENCIES, check, config, db, findings  # noqa: F401 - fixtures
from tests.test_coverage import add_report, good_crawl


def kept(db: Path) -> dict[str, str]:
    connection = sqlite3.connect(db)
    try:
        return dict(connection.execute("SELECT agency_id, codes FROM matrix_codes"))
    finally:
        connection.close()


def check_as_fresh(config: Path, db: Path, *args: str) -> str:
    """`check` on the store and on a copy without kept codes: the same output and findings.
    Returns the output."""
    fresh = db.with_name("fresh.db")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{fresh}{suffix}").unlink(missing_ok=True)
    connection = sqlite3.connect(db)
    connection.execute("VACUUM INTO ?", (str(fresh),))
    connection.close()
    connection = sqlite3.connect(fresh)
    connection.execute("DELETE FROM matrix_codes")
    connection.commit()
    connection.close()
    by_kept, by_fresh = check(config, db, *args), check(config, fresh, *args)
    assert by_kept.returncode == 0, by_kept.stderr
    assert by_fresh.returncode == 0, by_fresh.stderr
    assert by_kept.stdout == by_fresh.stdout
    assert findings(db) == findings(fresh)
    return by_kept.stdout


def row_of(output: str, agency_id: str) -> list[str]:
    return next(line.split() for line in output.splitlines() if line.startswith(agency_id + " "))


def test_codes_are_kept_and_read_back(config, db):
    first = check(config, db, "--as-of", "2022-01-31")
    assert first.returncode == 0, first.stderr
    # both got findings, which changed their codes (M -> m): computed again and kept
    assert set(kept(db)) == {"dept", "gov"}
    assert "M" not in "".join(kept(db).values())
    again = check_as_fresh(config, db, "--as-of", "2022-01-31")
    assert row_of(again, "gov")[:4] == ["gov", "!", "✓†", "✗"]


def test_a_new_report_is_counted(config, db):
    check_as_fresh(config, db, "--as-of", "2022-03-01")
    with Store(db) as store:
        add_report(store, "gov", 2021, "2022-02-10", seen="2022-02-10T02:00:00Z")
    assert "gov" not in kept(db)
    out = check_as_fresh(config, db, "--as-of", "2022-03-01")
    assert row_of(out, "gov")[:4] == ["gov", "!", "✓†", "!"]  # late now, no longer missing


def test_a_report_counted_for_another_agency_moves_both(config, db):
    check_as_fresh(config, db, "--as-of", "2022-03-01")
    with Store(db) as store:
        store.db.execute("UPDATE reports SET counts_for = 'gov' WHERE agency_id = 'dept' "
                         "AND year = 2019")
        store.db.conn.commit()
    assert kept(db) == {}
    out = check_as_fresh(config, db, "--as-of", "2022-03-01")
    assert row_of(out, "dept")[1] == "✗"
    assert row_of(out, "gov")[1] == "!"  # its own late report still counts (the earliest)


def test_a_new_crawl_verifies_a_missing_report(tmp_path, config):
    path = tmp_path / "uncrawled.db"
    with Store(path) as store:
        store.agencies.sync(AGENCIES)
        add_report(store, "dept", 2019, "2020-01-31")
    out = check_as_fresh(config, path, "--as-of", "2022-03-01")
    assert row_of(out, "dept")[1:4] == ["✓", "?", "?"]  # nobody has looked yet
    assert findings(path) == []
    with Store(path) as store:
        good_crawl(store, ["dept", "gov"], at="2022-02-15T00:00:00Z")
    assert kept(path) == {}
    out = check_as_fresh(config, path, "--as-of", "2022-03-01")
    assert row_of(out, "dept")[1:4] == ["✓", "✗", "✗"]
    assert ("missing", "missing:dept:2020") in findings(path)


def test_a_crawl_of_the_host_site_drops_the_hosted_agency(config, db):
    check(config, db, "--as-of", "2022-03-01")
    with Store(db) as store:
        store.db.execute("UPDATE reports SET counts_for = 'gov' WHERE agency_id = 'dept' "
                         "AND year = 2020")
        store.db.conn.commit()
    check_as_fresh(config, db, "--as-of", "2022-03-01")  # raises dept's missing 2020
    check(config, db, "--as-of", "2022-03-01")
    assert set(kept(db)) == {"dept", "gov"}
    with Store(db) as store:
        good_crawl(store, ["dept"])
    assert set(kept(db)) == set()  # dept's own row, and gov's: a report of gov's is on dept's site
    check_as_fresh(config, db, "--as-of", "2022-03-01")


def test_a_deadline_passing(config, db):
    """The day changing: the codes of a day hold only until last year's deadline passes, and
    only within its year."""
    out = check_as_fresh(config, db, "--as-of", "2022-01-31")
    assert row_of(out, "dept")[3] == "·"  # due 2022-01-31: not yet
    out = check_as_fresh(config, db, "--as-of", "2022-02-01")
    assert row_of(out, "dept")[3] == "✗"
    assert ("missing", "missing:dept:2021") in findings(db)
    out = check_as_fresh(config, db, "--as-of", "2022-12-31")
    assert row_of(out, "dept")[0:4] == ["dept", "✓", "!", "✗"]
    out = check_as_fresh(config, db, "--as-of", "2023-01-01")
    assert out.splitlines()[1].split()[-1] == "2022"  # a new year, a new column
    assert row_of(out, "dept")[4] == "·"
    out = check_as_fresh(config, db, "--as-of", "2021-06-01")  # back in time: computed again
    assert out.splitlines()[1].split()[-1] == "2020"


def test_a_registry_edit(config, db):
    out = check_as_fresh(config, db, "--as-of", "2022-03-01")
    assert row_of(out, "gov")[1] == "!"  # 2020-01-16, its own deadline 01-15
    entries = yaml.safe_load(config.read_text(encoding="utf-8"))
    for entry in entries["agencies"]:
        if entry["id"] == "gov":
            entry["deadline"] = "03-31"
        if entry["id"] == "dept":
            entry["start_year"] = 2020
    config.write_text(yaml.safe_dump(entries, allow_unicode=True), encoding="utf-8")
    out = check_as_fresh(config, db, "--as-of", "2022-03-01")
    assert row_of(out, "gov")[1] == "✓"
    assert row_of(out, "dept")[1] == "!"  # 2019 is no longer expected of dept


def test_a_deleted_finding_is_raised_again(config, db):
    check(config, db, "--as-of", "2022-03-01")
    assert ("missing", "missing:gov:2021") in findings(db)
    connection = sqlite3.connect(db)
    connection.execute("DELETE FROM findings WHERE dedup_key = 'missing:gov:2021'")
    connection.commit()
    connection.close()
    assert "gov" not in kept(db)
    out = check_as_fresh(config, db, "--as-of", "2022-03-01")
    assert "New findings recorded: 1 missing" in out


def test_the_legal_table_and_other_rules(config, db):
    check(config, db, "--as-of", "2022-03-01")
    check(config, db, "--as-of", "2022-03-01")
    assert set(kept(db)) == {"dept", "gov"}
    with Store(db) as store:
        store.agencies.sync_deadline_rules([(2008, None, None, 6, 30, "a new law")])
    assert kept(db) == {}
    check_as_fresh(config, db, "--as-of", "2022-03-01")
    # codes kept by other rules (another version of nianbao) are never served
    connection = sqlite3.connect(db)
    connection.execute("UPDATE matrix_codes SET rules = 'other', codes = 'o--o--o--'")
    connection.commit()
    connection.close()
    check_as_fresh(config, db, "--as-of", "2022-03-01")
    assert "o--o--o--" not in kept(db).values()


def pad(config: Path) -> None:
    """Make the registry file large enough to be compiled (config/registry_cache.py), so that
    `check` reads its agencies from the store once the store holds it."""
    from nianbao.config.registry_cache import MIN_CACHED_BYTES

    with config.open("a", encoding="utf-8") as out:
        out.write(("# " + "x" * 98 + "\n") * (MIN_CACHED_BYTES // 100 + 1))


def test_a_registry_held_by_the_store_and_then_edited(config, db, tmp_path, monkeypatch):
    monkeypatch.setenv("NIANBAO_CACHE_DIR", str(tmp_path / "cache"))
    pad(config)
    check(config, db, "--as-of", "2022-03-01")  # validates and compiles the file, syncs it
    assert list((tmp_path / "cache").glob("registry-*.pickle"))
    from nianbao.config.registry import load_registry
    from nianbao.monitor.check_registry import HeldRegistry, registry_for_check

    with Store(db) as store:
        held = registry_for_check(config, store)
        assert isinstance(held, HeldRegistry)
        assert [(a.id, a.name, a.kind, a.start_year, a.deadline, a.region, a.sources)
                for a in held.agencies] == [
            (a.id, a.name, a.kind, a.start_year, a.deadline, a.region, a.sources)
            for a in load_registry(config).agencies]
    out = check_as_fresh(config, db, "--as-of", "2022-03-01")
    assert row_of(out, "gov")[1] == "!"
    # an edit: another file, loaded and validated again
    config.write_text(config.read_text(encoding="utf-8").replace('"01-15"', '"03-31"')
                      .replace("deadline: 01-15", "deadline: 03-31"), encoding="utf-8")
    with Store(db) as store:
        assert not isinstance(registry_for_check(config, store), HeldRegistry)
    out = check_as_fresh(config, db, "--as-of", "2022-03-01")
    assert row_of(out, "gov")[1] == "✓"
    # a crawl's batch that changes an agency: the store no longer holds the file as it is
    with Store(db) as store:
        assert isinstance(registry_for_check(config, store), HeldRegistry)
        from tests.test_coverage import agency

        store.agencies.sync([agency("gov", "government", 2019, "01-15")])
        assert not isinstance(registry_for_check(config, store), HeldRegistry)
    out = check_as_fresh(config, db, "--as-of", "2022-03-01")
    assert row_of(out, "gov")[1] == "✓"
