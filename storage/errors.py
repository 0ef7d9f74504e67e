"""The store's errors: small, named, with messages meant for a person."""


class StorageError(Exception):
    """Base of the store's errors."""


class UnknownAgency(StorageError, LookupError):
    """A write named an agency id that is not in the agencies table."""


class UnknownCrawl(StorageError, LookupError):
    """A crawl id that `crawls.start` never returned."""


class UnknownVersion(StorageError, LookupError):
    """A version id that is not in the versions table."""
