"""One Store per crawl: every component of a crawler shares the same SQLite connection.

The crawl runs in Twisted's single thread, so one connection serialises all writes without
locks; components reach it through the crawler they are built from.
"""

from __future__ import annotations

from nianbao.storage import Store

_STORE_ATTR = "_nianbao_store"
_CRAWL_ID_ATTR = "_nianbao_crawl_id"


def store_for(crawler) -> Store:
    """The crawler's Store, opened on first use from the NIANBAO_DB setting."""
    store = getattr(crawler, _STORE_ATTR, None)
    if store is None:
        store = Store(crawler.settings.get("NIANBAO_DB"))
        setattr(crawler, _STORE_ATTR, store)
    return store


def close_store(crawler) -> None:
    store = getattr(crawler, _STORE_ATTR, None)
    if store is not None:
        store.close()
        setattr(crawler, _STORE_ATTR, None)


def crawl_id_of(crawler) -> int | None:
    return getattr(crawler, _CRAWL_ID_ATTR, None)


def set_crawl_id(crawler, crawl_id: int) -> None:
    setattr(crawler, _CRAWL_ID_ATTR, crawl_id)
