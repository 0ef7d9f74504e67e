"""The registry as the daemon's jobs see it: re-read only when its file changed (150,000
agencies take a while to validate), and synced into the store's `agencies` and
`agency_schedule` once per version of the file."""

from __future__ import annotations

import logging
import os
import random
import threading

from nianbao.config.registry import ConfigError, Registry, load_registry
from nianbao.monitor.schedule import first_crawl_at, local_now, to_iso
from nianbao.storage import AgencyRecord, Store

logger = logging.getLogger("nianbao.daemon")  # one logger name for the whole daemon's log

_registry_cache: dict[str, tuple[tuple[int, int], Registry]] = {}
_synced: dict[tuple[str, str], tuple[int, int]] = {}
# The dispatch and the check threads both load and sync: once at a time, not twice at once.
_registry_lock = threading.Lock()
_sync_lock = threading.Lock()


def _file_stamp(path: str) -> tuple[int, int]:
    stat = os.stat(path)
    return stat.st_mtime_ns, stat.st_size


def current_registry(config_path: str) -> Registry:
    """The registry, re-read only when the file changed. Raises ConfigError."""
    with _registry_lock:
        try:
            stamp = _file_stamp(config_path)
        except OSError:
            raise ConfigError(f"{config_path}: file not found") from None
        cached = _registry_cache.get(config_path)
        if cached and cached[0] == stamp:
            return cached[1]
        registry = load_registry(config_path)
        _registry_cache[config_path] = (stamp, registry)
        return registry


def sync_schedule(store: Store, registry: Registry, config_path: str,
                  rng: random.Random | None = None) -> None:
    """Agencies of the registry in the agencies table and in agency_schedule (new ones due
    within their jitter); agencies that left the registry leave the schedule. Done again only
    when the registry file changed."""
    with _sync_lock:
        _sync_schedule(store, registry, config_path, rng)


def _sync_schedule(store: Store, registry: Registry, config_path: str,
                   rng: random.Random | None) -> None:
    key = (str(store.path), config_path)
    stamp = _registry_cache.get(config_path, ((0, 0), None))[0]
    if _synced.get(key) == stamp:
        return
    rng = rng or random.Random()
    store.agencies.sync(AgencyRecord.from_agency(a) for a in registry.agencies)
    scheduled = store.schedule.agency_ids()
    wanted = {a.id: a for a in registry.agencies}
    now = local_now()
    added = store.schedule.add({
        agency_id: to_iso(first_crawl_at(registry.schedule_for(agency), now, rng))
        for agency_id, agency in wanted.items() if agency_id not in scheduled
    })
    dropped = store.schedule.drop(scheduled - wanted.keys())
    if added or dropped:
        logger.info("schedule: %d agencies added, %d dropped", added, dropped)
    _synced[key] = stamp
