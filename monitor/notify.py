"""Deliver findings to the registry's notification targets with apprise.

A target is one apprise URL (json://, mailto://, dingtalk://, wecombot://, feishu://,
schan://...). The global `notify` list gets every finding; an agency's own `notify` list gets
that agency's findings. Each finding is delivered to each of its targets once: a `deliveries`
row records every attempt, 'delivered' rows are never sent again, 'failed' ones are retried
on the next call.

Backlog policy: nothing is dropped, and nothing is flooded. All undelivered findings are sent,
oldest first. A target with at most DIGEST_AFTER findings waiting gets one message per
finding; a target with more (a new target, a first `check` over many agencies, a receiver
that was down for a day) gets digests of up to DIGEST_SIZE findings per message. `limit` caps
the messages per target per call; the rest waits for the next call. A target that fails is
not tried again in the same call (it is down: fail fast, do not hammer it), and one failing
target never holds up the others.

Apprise's HTTP plugins give up after 4 s without a connection and 4 s without an answer;
`?cto=SECONDS&rto=SECONDS` on a URL changes that.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from config.registry import Registry

logger = logging.getLogger(__name__)

DIGEST_AFTER = 10  # more findings than this waiting for one target: send digests
DIGEST_SIZE = 50  # findings per digest message
DIGEST_LINES_CHARS = 160  # a digest line is cut to this length
DIFF_EXCERPT_CHARS = 800
ERROR_MAX_CHARS = 500
DETAIL_VALUE_CHARS = 300  # a long detail (a list of crawls...) is cut to this
# Details the message already shows elsewhere.
DETAIL_SKIP = ("agency_name", "agency_id", "year", "diff", "diff_truncated")

KIND_LABELS = {
    "new": "新发现报告",
    "changed": "报告内容变更",
    "removed": "报告已删除",
    "restored": "报告已恢复",
    "missing": "逾期未发布",
    "late": "逾期发布",
    "turned_up": "逾期报告已出现",
    "site_failing": "网站持续无法访问",
}
# Details shown first, in this order, then any others (sorted).
DETAIL_ORDER = ("summary", "title", "url", "deadline", "published_date", "due", "as_of", "http_status",
                "from_version", "to_version", "lines_added", "lines_removed", "removed_at")


@dataclass(frozen=True)
class Target:
    """One notification URL. agency_ids: the agencies whose findings it gets, None for all."""

    url: str
    agency_ids: frozenset[str] | None

    @property
    def key(self) -> str:
        return target_key(self.url)

    @property
    def masked(self) -> str:
        return masked_url(self.url)


@dataclass
class DeliveryReport:
    """What one `deliver_pending` call did.

    targets: targets considered. messages: messages sent successfully. delivered: (finding,
    target) pairs delivered. failed: pairs whose attempt failed (retried next call).
    waiting: pairs left for a later call by the message cap or by a failing target (of the
    findings looked at: with `limit`, a long backlog is not counted to its end).
    errors: one 'target: reason' line per failing target.
    """

    targets: int = 0
    messages: int = 0
    delivered: int = 0
    failed: int = 0
    waiting: int = 0
    errors: list[str] = field(default_factory=list)


def target_key(url: str) -> str:
    """sha256 of the URL: how deliveries name a target without storing its secrets."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def masked_url(url: str) -> str:
    """The URL with tokens and passwords masked, as apprise prints it (privacy mode)."""
    import apprise

    try:
        plugin = apprise.Apprise.instantiate(url)
        if plugin:
            return plugin.url(privacy=True)
    except Exception:  # a URL apprise cannot parse: show only its scheme
        pass
    return url.split("://", 1)[0] + "://..."


def targets_of(registry: Registry) -> list[Target]:
    """The registry's targets: global URLs (every finding), then per-agency URLs grouped."""
    everyone = set(registry.notify)
    targets = [Target(url, None) for url in registry.notify]
    per_url: dict[str, set[str]] = {}
    for agency in registry.agencies:
        for url in agency.notify:
            if url not in everyone:
                per_url.setdefault(url, set()).add(agency.id)
    targets.extend(Target(url, frozenset(ids)) for url, ids in per_url.items())
    return targets


def deliver_pending(store, registry: Registry, *, limit: int | None = None,
                    digest_after: int = DIGEST_AFTER, digest_size: int = DIGEST_SIZE
                    ) -> DeliveryReport:
    """Send every finding not yet delivered to each of its targets; record each attempt.

    store: an open Store. registry: gives the targets. limit: at most this many messages per
    target in this call (None: no cap). digest_after, digest_size: see the module docstring.
    """
    report = DeliveryReport()
    for target in targets_of(registry):
        report.targets += 1
        agencies = None if target.agency_ids is None else sorted(target.agency_ids)
        # Enough to fill `limit` digests, and one more than digest_after to see a backlog.
        cap = None if limit is None else max(limit * digest_size, digest_after + 1)
        pending = store.pending_deliveries(target.key, agencies, limit=cap)
        if not pending:
            continue
        if len(pending) <= digest_after:
            messages = [[finding] for finding in pending]
        else:
            messages = [pending[i:i + digest_size] for i in range(0, len(pending), digest_size)]
        if limit is not None:
            report.waiting += sum(len(m) for m in messages[limit:])
            messages = messages[:limit]
        sender = _sender(target.url)
        for index, findings in enumerate(messages):
            title, body = compose(findings)
            ok, error = _send(sender, title, body)
            store.record_delivery([f["id"] for f in findings], target_key=target.key,
                                  target=target.masked, delivered=ok, error=error)
            if ok:
                report.messages += 1
                report.delivered += len(findings)
                continue
            report.failed += len(findings)
            report.waiting += sum(len(m) for m in messages[index + 1:])
            report.errors.append(f"{target.masked}: {error}")
            logger.warning("notification to %s failed (%s); retried on the next cycle",
                           target.masked, error)
            break
    return report


def compose(findings: Sequence[dict[str, Any]]) -> tuple[str, str]:
    """(title, body) of one message: one finding in full, or a digest of several."""
    if len(findings) == 1:
        return _title(findings[0]), _body(findings[0])
    kinds = Counter(f["kind"] for f in findings)
    summary = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))
    title = f"nianbao: {len(findings)} findings ({summary})"
    lines = [_digest_line(f)[:DIGEST_LINES_CHARS] for f in findings]
    return title, "\n".join(lines)


def _agency_label(finding: dict[str, Any]) -> str:
    return finding.get("agency_name") or finding.get("agency_id") or "(no agency)"


def _title(finding: dict[str, Any]) -> str:
    year = f" {finding['year']}年报" if finding.get("year") else ""
    return f"nianbao: {finding['kind']} — {_agency_label(finding)}{year}"


def _digest_line(finding: dict[str, Any]) -> str:
    details = finding.get("details") or {}
    year = f" {finding['year']}" if finding.get("year") else ""
    what = details.get("title") or details.get("url") or details.get("deadline") or ""
    return f"#{finding['id']} {finding['kind']} {_agency_label(finding)}{year} {what}".rstrip()


def _body(finding: dict[str, Any]) -> str:
    details = dict(finding.get("details") or {})
    label = KIND_LABELS.get(finding["kind"], finding["kind"])
    agency = _agency_label(finding)
    if finding.get("agency_id") and finding.get("agency_name"):
        agency = f"{finding['agency_name']} ({finding['agency_id']})"
    lines = [f"{label} ({finding['kind']})", f"agency: {agency}"]
    if finding.get("year"):
        lines.append(f"year: {finding['year']}")
    diff = details.get("diff")
    for key in DETAIL_SKIP:
        details.pop(key, None)
    ordered = [k for k in DETAIL_ORDER if k in details]
    ordered += sorted(k for k in details if k not in DETAIL_ORDER)
    for key in ordered:
        value = details[key]
        if value is None or value == "":
            continue
        if isinstance(value, (dict, list)):
            value = json.dumps(value, ensure_ascii=False)
        value = str(value)
        if len(value) > DETAIL_VALUE_CHARS:
            value = value[:DETAIL_VALUE_CHARS] + "…"
        lines.append(f"{key}: {value}")
    lines.append(f"detected: {finding['detected_at']}")
    lines.append(f"finding: #{finding['id']}")
    if diff:
        lines += ["", diff[:DIFF_EXCERPT_CHARS]]
    return "\n".join(lines)


def _sender(url: str):
    import apprise

    asset = apprise.AppriseAsset(app_id="nianbao", app_desc="nianbao 年报 monitor")
    sender = apprise.Apprise(asset=asset)
    sender.add(url)
    return sender


def _send(sender, title: str, body: str) -> tuple[bool, str | None]:
    import apprise

    try:
        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
            ok = sender.notify(title=title, body=body)
        log = captured.getvalue()
    except Exception as exc:  # a plugin bug must not stop the other targets
        return False, f"{type(exc).__name__}: {exc}"[:ERROR_MAX_CHARS]
    if ok:
        return True, None
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    return False, (lines[-1] if lines else "apprise reported a failure")[:ERROR_MAX_CHARS]
