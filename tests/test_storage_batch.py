"""storage/batch.py: a crawl's writes committed together. Other connections see a batch only
when it commits; one write failing inside it undoes only that write; a batch an error rolled
back is never lost silently; a writer killed between commits leaves the store at the last
commit, consistent."""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

import pytest

from nianbao.storage import AgencyRecord, ReportFetch, Store, content_hash, utc_now
from nianbao.storage.batch import BatchLost, WriteBatch
from tests.kill_writer import kill_writer_after

ROOT = Path(__file__).resolve().parents[1]


def fetch(n: int, crawl_id: int) -> ReportFetch:
    return ReportFetch(agency_id="a", url=f"https://a.gov.cn/{n}.htm", title=f"报告{n}",
                       text=f"第{n}份报告正文", kind="annual_report", year=2020, published_date=None,
                       raw_page=b"<html>page</html>", raw_encoding="utf-8", fetched_at=utc_now(),
                       crawl_id=crawl_id)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "nianbao.db") as store:
        store.agencies.sync([AgencyRecord("a", "A", "department", None, 2010, ())])
        yield store


def count_elsewhere(path: Path, table: str) -> int:
    with sqlite3.connect(path) as other:
        return other.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_a_batch_is_seen_by_others_when_it_commits(store):
    crawl = store.crawls.start(["a"])
    batch = WriteBatch(store.db, max_seconds=60, max_writes=3, pause=0)
    for n in range(2):
        with batch.write():
            store.history.record_report(fetch(n, crawl))
        with batch.write():
            store.crawls.log_fetch(crawl_id=crawl, agency_id="a", url=f"https://a.gov.cn/{n}.htm",
                                   status=200, error=None)
    # 4 writes: the first 3 committed together, the 4th waits in the open batch
    assert count_elsewhere(store.path, "reports") == 2
    assert count_elsewhere(store.path, "fetch_log") == 1
    assert batch.open
    batch.close()
    assert count_elsewhere(store.path, "fetch_log") == 2
    assert not batch.open and not batch.lost


def test_a_failing_write_inside_a_batch_undoes_only_itself(store):
    crawl = store.crawls.start(["a"])
    batch = WriteBatch(store.db, max_seconds=60)
    with batch.write():
        store.history.record_report(fetch(1, crawl))
    with pytest.raises(Exception):
        with batch.write():
            with store.history._write():  # a report's own transaction: a savepoint in the batch
                store.db.execute("INSERT INTO fetch_log (crawl_id, agency_id, url, status, fetched_at) "
                                 "VALUES (?, 'a', 'x', 200, ?)", (crawl, utc_now()))
                raise RuntimeError("a bug halfway through a report's writes")
    batch.close()
    assert not batch.lost
    assert count_elsewhere(store.path, "reports") == 1
    assert count_elsewhere(store.path, "fetch_log") == 0
    assert store.history.integrity_problems() == []


def test_a_batch_rolled_back_by_an_error_is_never_lost_silently(store):
    crawl = store.crawls.start(["a"])
    batch = WriteBatch(store.db, max_seconds=60)
    with pytest.raises(BatchLost):
        with batch.write():
            store.history.record_report(fetch(1, crawl))
            store.db.conn.execute("ROLLBACK")  # what SQLITE_FULL or an I/O error does to it
    assert batch.lost and batch.closed
    assert count_elsewhere(store.path, "reports") == 0
    with batch.write():  # later writes commit one by one
        store.crawls.log_fetch(crawl_id=crawl, agency_id="a", url="https://a.gov.cn/", status=200, error=None)
    assert count_elsewhere(store.path, "fetch_log") == 1


def test_no_batching_commits_every_write(store):
    crawl = store.crawls.start(["a"])
    batch = WriteBatch(store.db, max_seconds=0)
    with batch.write():
        store.history.record_report(fetch(1, crawl))
    assert count_elsewhere(store.path, "reports") == 1 and not batch.open


BATCHED_WRITER = textwrap.dedent(
    """
    import os, random, sys
    sys.path.insert(0, {root!r})
    from nianbao.storage import AgencyRecord, ReportFetch, Store, utc_now
    from nianbao.storage.batch import WriteBatch

    store = Store({path!r})
    store.agencies.sync([AgencyRecord("a", "A", "department", None, 2010, ())])
    crawl = store.crawls.start(["a"])
    batch = WriteBatch(store.db, max_seconds=0.1)
    rnd = random.Random({seed})
    print("ready", flush=True)
    while True:
        n = rnd.randrange(25)
        text = "\\n".join(f"第{{k}}段 {{rnd.randrange(3)}}" for k in range(40))
        with batch.write():
            store.history.record_report(ReportFetch(
                agency_id="a", url=f"https://a.gov.cn/{{n}}.htm", title=f"报告{{n}}", text=text,
                kind="annual_report", year=2020 + n % 5, published_date=None,
                raw_page=os.urandom(rnd.randrange(1000, 50_000)), raw_encoding="utf-8",
                fetched_at=utc_now(), crawl_id=crawl))
        with batch.write():
            store.crawls.log_fetch(crawl_id=crawl, agency_id="a", url="https://a.gov.cn/", status=200,
                                   error=None)
    """
)


def test_sigkill_between_commits_of_a_batch_leaves_a_consistent_store(tmp_path):
    path = tmp_path / "nianbao.db"
    for seed, delay in enumerate((0.35, 0.6)):
        kill_writer_after(BATCHED_WRITER.format(root=str(ROOT), path=str(path), seed=seed), delay)
        with Store(path) as store:
            assert store.history.integrity_problems() == []
            reports = store.db.execute("SELECT id, text, current_version FROM reports").fetchall()
            assert reports, "nothing was committed before the kill"
            for report_id, text, current in reports:
                versions = store.db.execute("SELECT version, text, content_hash FROM versions "
                                            "WHERE report_id = ? ORDER BY version", (report_id,)).fetchall()
                assert [v[0] for v in versions] == list(range(1, current + 1))
                assert versions[-1][1] == text and versions[-1][2] == content_hash(text)
                kinds = [k for (k,) in store.db.execute("SELECT kind FROM findings WHERE report_id = ?",
                                                        (report_id,))]
                assert kinds.count("new") == 1 and kinds.count("changed") == current - 1
