"""One Store per crawl: every component of a crawler shares the same SQLite connection.

The crawl runs in Twisted's single thread, so one connection serialises all writes without
locks; components reach it through the crawler they are built from.
"""

from __future__ import annotations

from nianbao.storage import Store
from nianbao.storage.batch import WriteBatch

_STORE_ATTR = "_nianbao_store"
_BATCH_ATTR = "_nianbao_batch"
_CRAWL_ID_ATTR = "_nianbao_crawl_id"


def store_for(crawler) -> Store:
    """The crawler's Store, opened on first use from the NIANBAO_DB setting."""
    store = getattr(crawler, _STORE_ATTR, None)
    if store is None:
        store = Store(crawler.settings.get("NIANBAO_DB"))
        setattr(crawler, _STORE_ATTR, store)
    return store


def batch_for(crawler) -> WriteBatch:
    """The crawl's group commit (storage/batch.py) over its Store's connection: hot writers
    (the fetch log, the store pipeline) write inside `batch_for(crawler).write()`; any other
    write while a batch is open joins it."""
    batch = getattr(crawler, _BATCH_ATTR, None)
    if batch is None:
        batch = WriteBatch(store_for(crawler).db,
                           max_seconds=crawler.settings.getfloat("NIANBAO_COMMIT_EVERY", 0.0))
        setattr(crawler, _BATCH_ATTR, batch)
    return batch


def close_store(crawler) -> None:
    batch = getattr(crawler, _BATCH_ATTR, None)
    store = getattr(crawler, _STORE_ATTR, None)
    try:
        if batch is not None:
            batch.close()
    finally:
        if store is not None:
            store.close()
            setattr(crawler, _STORE_ATTR, None)


def crawl_id_of(crawler) -> int | None:
    return getattr(crawler, _CRAWL_ID_ATTR, None)


def set_crawl_id(crawler, crawl_id: int) -> None:
    setattr(crawler, _CRAWL_ID_ATTR, crawl_id)
