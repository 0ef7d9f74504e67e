"""The registry as `nianbao check` needs it: read from the store when the store holds this file.

At national scale, reading the compiled registry back (config/registry_cache.py) costs more
than a second of unpickling 150,000 validated agencies, while a check needs only their ids,
names, kinds, start years and deadlines in file order, and the store's agencies table holds
exactly those of the registry file it last synced in full (registry_state: the file's SHA-256
and its order). So when the file's bytes are the ones synced, and the compiled cache of this
nianbao for those bytes exists (proof that this code validated them), the agencies are read
from the store; anything else (another file, an edited one, a store synced by a crawl's
batch since, another version of nianbao) loads and validates the file as always.

The issuer index (whose reports count for whom) is built from the full registry, loaded only
if a (host, issuer) pair is not resolved against this file yet.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import NamedTuple

from nianbao.config import registry_cache
from nianbao.config.registry import ConfigError, Registry, load_registry, read_registry_bytes
from nianbao.storage import Store


class HeldAgency(NamedTuple):
    """What a check reads of an agency (the attributes of config.registry.Agency it uses)."""

    id: str
    name: str
    kind: str
    start_year: int
    deadline: str | None
    region: str | None
    sources_json: str | None  # as stored; read only should the agencies be synced again

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(json.loads(self.sources_json)) if self.sources_json else ()


class HeldRegistry:
    """The registry file's agencies as the store holds them: the part of
    config.registry.Registry that `check` uses (path, sha256, agencies, get, select,
    issuer_index)."""

    def __init__(self, path: Path, sha256: str, agencies: tuple[HeldAgency, ...]):
        self.path = str(path)
        self.sha256 = sha256
        self.agencies = agencies

    @functools.cached_property
    def by_id(self) -> dict[str, HeldAgency]:
        return {agency.id: agency for agency in self.agencies}

    @functools.cached_property
    def issuer_index(self):
        return load_registry(self.path).issuer_index

    def get(self, agency_id: str) -> HeldAgency:
        agency = self.by_id.get(agency_id)
        if agency is None:
            raise ConfigError(f"{self.path}: no agency with id {agency_id!r}")
        return agency

    def select(self, agency_ids) -> tuple[HeldAgency, ...]:
        if not agency_ids:
            return self.agencies
        return tuple(self.get(agency_id) for agency_id in agency_ids)


def registry_for_check(path: Path, store: Store) -> Registry | HeldRegistry:
    """The registry at `path`: from the store when it holds this very file (see the module's
    docstring), else loaded (and validated) from the file. ConfigError as load_registry."""
    path = Path(path)
    sha256 = hashlib.sha256(read_registry_bytes(path)).hexdigest()
    if registry_cache.cache_path(sha256).exists():
        held = store.agencies.registry_held(sha256)
        if held is not None:
            return HeldRegistry(path, sha256, tuple(map(HeldAgency._make, held)))
    return load_registry(path)
