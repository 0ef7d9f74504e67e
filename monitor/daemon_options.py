"""How the daemon runs (`nianbao daemon --help`): its options, as the jobs receive them."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from nianbao.monitor.heartbeat import DEFAULT_HEARTBEAT_SECONDS


@dataclass(frozen=True)
class DaemonOptions:
    """How the daemon runs (`nianbao daemon --help`). Durations are in seconds."""

    dispatch_every: float = 60.0
    batch_size: int = 200
    crawl_timeout: float = 2 * 3600.0
    stop_grace: float = 60.0
    check_at: str = "06:00"
    deliver_every: float = 600.0
    heartbeat_every: float = DEFAULT_HEARTBEAT_SECONDS
    notify_limit: int = 20  # messages per notification target per delivery run
    crawl_settings: tuple[str, ...] = ()  # NAME=VALUE, passed to the crawl child as -s
    public_url: str | None = None  # where the store is served: links in notifications

    def as_job_args(self) -> dict:
        """Plain values for the job store's pickles (no classes of ours inside)."""
        values = asdict(self)
        values["crawl_settings"] = list(self.crawl_settings)
        return values

    @classmethod
    def from_job_args(cls, values: dict) -> DaemonOptions:
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in values.items() if k in known}
        values["crawl_settings"] = tuple(values.get("crawl_settings", ()))
        return cls(**values)


def parse_check_at(value: str) -> tuple[int, int]:
    try:
        hour, minute = (int(part) for part in value.split(":"))
        if 0 <= hour < 24 and 0 <= minute < 60:
            return hour, minute
    except ValueError:
        pass
    raise ValueError(f"{value!r} is not a time of day HH:MM")
