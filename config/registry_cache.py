"""The compiled registry: a validated registry kept as a pickle, keyed by the file's hash.

A national registry (150,000 agencies, 28 MB of YAML) takes about 20 s to parse and validate
and its issuer index another 4 s; `nianbao check`, `nianbao status` and every crawl child
would pay that on each start. The first load of a file validates it as always and writes
`registry-<key>.pickle` (the Registry with its by_id index); a later load of the same bytes
reads that back in about a second at 150,000 agencies. The issuer index is built when it is
first needed (by `check`, only for issuers not yet resolved against this registry).

The key is the SHA-256 of the registry file's bytes together with the source of the code
that validates it (config/*.py), the pydantic and Python versions: edit the file, upgrade
nianbao or change a rule, and the cache is simply not found. Nothing is ever served for a
file that was not validated in full.

Only files of 256 KB and more (about 1,500 agencies) are cached, and the newest 8 are kept.
Where: $NIANBAO_CACHE_DIR, else $XDG_CACHE_HOME/nianbao, else ~/.cache/nianbao. The files
are the user's own (0600, written atomically); a pickle is only read from there, never from
a place others can write. Unreadable, stale or unwritable caches are ignored: the registry
is then validated from the file, as without a cache. Old entries can be deleted at any time.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path

import pydantic

CACHE_ENV_VAR = "NIANBAO_CACHE_DIR"
FORMAT = 2  # bump when what is pickled changes shape
# Smaller files validate in well under a second: not cached (a daemon's crawl children read
# a small registry of their batch each, which would leave a cache file per batch).
MIN_CACHED_BYTES = 256 * 1024
KEEP = 8  # compiled registries kept; older ones are deleted when a new one is written
CONFIG_DIR = Path(__file__).resolve().parent


def cache_dir() -> Path:
    explicit = os.environ.get(CACHE_ENV_VAR)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nianbao"


@functools.cache
def _code_version() -> str:
    """The validating code's identity: the config package's sources and library versions."""
    digest = hashlib.sha256(f"{FORMAT}|{pydantic.VERSION}|{sys.version}".encode())
    for source in sorted(CONFIG_DIR.glob("*.py")):
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def cache_path(sha256: str) -> Path:
    key = hashlib.sha256(f"{sha256}|{_code_version()}".encode()).hexdigest()[:32]
    return cache_dir() / f"registry-{key}.pickle"


def load(sha256: str, kind: type):
    """The cached registry (an instance of `kind`, config.registry.Registry) of a file with
    this SHA-256, or None."""
    path = cache_path(sha256)
    try:
        if path.stat().st_uid != os.getuid():
            return None  # not written by this user: never unpickled
        with path.open("rb") as handle:
            registry = pickle.load(handle)
    except Exception:  # absent, cut short, from another version: validate the file instead
        return None
    if not isinstance(registry, kind) or registry.sha256 != sha256:
        return None
    return registry


def save(registry, size: int) -> Path | None:
    """Cache a validated registry read from a file of `size` bytes (building its indexes
    first); the file, or None when it is too small to be worth it or the cache cannot be
    written (the registry is then validated again next time)."""
    if not registry.sha256 or size < MIN_CACHED_BYTES:
        return None
    registry.by_id  # noqa: B018 - built now, kept in the pickle
    # Not the issuer index: as large again as the agencies, and `check` needs it only for
    # (host, issuer) pairs not resolved against this registry yet (issuer_resolutions).
    path = cache_path(registry.sha256)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".registry-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(registry, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        old = sorted(path.parent.glob("registry-*.pickle"), key=lambda p: p.stat().st_mtime)
        for stale in old[:-KEEP]:
            stale.unlink(missing_ok=True)
    except OSError:
        return None
    return path
