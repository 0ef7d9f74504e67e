"""Deliver findings to the registry's notification targets with apprise.

A target is one apprise URL (json://, mailto://, dingtalk://, wecombot://, feishu://,
schan://...). The global `notify` list gets every finding; an agency's own `notify` list gets
that agency's findings. A `deliveries` row per (finding, target) records every attempt:
'delivered' rows are never sent again, 'failed' ones are retried on the next call.

Delivery guarantee: each finding reaches each target once, also when several senders run at
once (the daemon's jobs, `nianbao notify` by hand). Before a message is sent its findings are
claimed in one write transaction (status 'sending', claimed_by = the sender's pid,
claimed_at); a finding already delivered, or claimed by another live sender less than
CLAIM_STALE_SECONDS (10 min; NIANBAO_CLAIM_STALE_SECONDS in the environment overrides it)
ago, is left out of the message. After the send the attempt is recorded ('delivered' or
'failed') and the claim cleared. The one exception is a sender that dies between the send
and the record (SIGKILL, power loss): the next sender takes its claim over (at once when its
process is gone, after CLAIM_STALE_SECONDS when it hangs) and the finding is sent again, so
after such a crash delivery is at least once.

Secrets: a target URL usually holds one (a token, a password, a webhook path). It is never
stored, logged or printed: deliveries.target and every message name a target by
`masked_url` ('json://hooks.example.org#1a2b3c4d'), and error text is passed through
`redact`, which replaces every user, password, path segment, query and header value of the
URL (4 characters or more) with '***'. apprise's and urllib3's own log records (which print
URLs) are kept out of the process's log.

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
import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus

from nianbao.config.registry import Registry
from nianbao.storage.deliveries import CLAIM_STALE_SECONDS

logger = logging.getLogger(__name__)

# Overrides CLAIM_STALE_SECONDS, after which the claim of a sender that still runs (it hangs)
# is taken over; tests shorten it to see a takeover happen.
CLAIM_STALE_ENV = "NIANBAO_CLAIM_STALE_SECONDS"

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
    "moved": "报告网址已变更",
    "column_moved": "年报栏目已迁移",
    "missing": "逾期未发布",
    "late": "逾期发布",
    "turned_up": "逾期报告已出现",
    "site_failing": "网站持续无法访问",
}
# Details shown first, in this order, then any others (sorted).
DETAIL_ORDER = ("summary", "title", "url", "deadline", "published_date", "due", "as_of", "http_status",
                "from_version", "to_version", "lines_added", "lines_removed", "removed_at",
                "from_url", "to_url", "old_column", "new_column")


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


_HOSTNAME = re.compile(r"(?:[A-Za-z0-9-]+\.)+[A-Za-z0-9-]+|localhost|\[[0-9A-Fa-f:.]+\]")


def _split_url(url: str) -> tuple[str, str, str, str, str, str]:
    """(scheme, userinfo, host, port, path, query+fragment) of an apprise URL, leniently:
    a password may hold '/' or '@' unencoded, so the user part ends at the last '@' before
    the query."""
    scheme, _, rest = url.partition("://")
    if not _:
        return "", "", "", "", url, ""
    cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    head, tail = rest[:cut], rest[cut:]
    userinfo, at, hostpath = head.rpartition("@")
    if not at:
        userinfo, hostpath = "", head
    hostport, slash, path = hostpath.partition("/")
    host, port = hostport, ""
    if not hostport.startswith("[") or "]:" in hostport:
        host, colon, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "")
        if not port.isdigit():
            host, port = hostport, ""
    return scheme, userinfo, host, port, slash + path, tail


def _public_host(host: str) -> str | None:
    """The host when it looks like a host name or an IP address; None when it may be a token
    (dingtalk://TOKEN, schan://SENDKEY, tgram://BOT:TOKEN... put their secret there)."""
    return host if _HOSTNAME.fullmatch(host) else None


def masked_url(url: str) -> str:
    """A label for a target that cannot hold a secret: 'scheme://host#1a2b3c4d', the host
    only when it looks like a host name (else '…'), then the first 8 hex digits of its key,
    which tell two targets on one host apart. Stored in deliveries.target, logged, printed."""
    scheme, _, host, _, _, _ = _split_url(url.strip())
    scheme = scheme if re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme or "") else "?"
    return f"{scheme}://{_public_host(host) or '…'}#{target_key(url)[:8]}"


_ANY_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>()]+")


def _url_label(url: str) -> str:
    """'scheme://host/…': a URL found in a log line, without anything that may be secret."""
    scheme, _, host, _, path, tail = _split_url(url)
    rest = "/…" if (path.strip("/") or tail) else ""
    return f"{scheme}://{_public_host(host) or '…'}{rest}"


SECRET_MIN_CHARS = 4  # shorter parts of a URL (ports, 'a', 'v2') are not redacted


def url_secrets(url: str) -> list[str]:
    """Every part of the URL that may be a secret, in the forms it may take in a message:
    user, password, a host that is no host name, each path segment, each query value
    (json:// `+Header=value` headers, `-name=value` payload fields, `?token=`) and the
    fragment; raw, percent-decoded, re-encoded, and word by word. Longest first."""
    _, userinfo, host, _, path, tail = _split_url(url.strip())
    pieces = [userinfo, *userinfo.split(":", 1), *path.split("/")]
    if not _public_host(host):
        pieces.append(host)
    query, _, fragment = tail.lstrip("?").partition("#")
    pieces.append(fragment)
    for pair in query.split("&"):
        name, equals, value = pair.partition("=")
        pieces.append(value if equals else name)
    found: set[str] = set()
    for piece in pieces:
        for form in {piece, unquote(piece), unquote_plus(piece)}:
            for text in (form, quote(form, safe=""), quote_plus(form, safe=""), *form.split()):
                if len(text) >= SECRET_MIN_CHARS:
                    found.add(text)
    return sorted(found, key=lambda text: (-len(text), text))


def redact(text: str, url: str) -> str:
    """`text` with every secret of `url` (see url_secrets) replaced by '***'."""
    for secret in url_secrets(url):
        text = text.replace(secret, "***")
    return text


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


def claim_stale_seconds() -> float:
    """CLAIM_STALE_SECONDS, or NIANBAO_CLAIM_STALE_SECONDS when set to a number above 0."""
    value = os.environ.get(CLAIM_STALE_ENV, "").strip()
    if not value:
        return CLAIM_STALE_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if seconds > 0:
        return seconds
    logger.warning("%s=%r is not a number of seconds above 0; using %g", CLAIM_STALE_ENV,
                   value, CLAIM_STALE_SECONDS)
    return CLAIM_STALE_SECONDS


def deliver_pending(store, registry: Registry, *, limit: int | None = None,
                    digest_after: int = DIGEST_AFTER, digest_size: int = DIGEST_SIZE,
                    should_stop: Callable[[], bool] | None = None,
                    claim_stale_after: float | None = None) -> DeliveryReport:
    """Send every finding not yet delivered to each of its targets; record each attempt.

    store: an open Store. registry: gives the targets. limit: at most this many messages per
    target in this call (None: no cap). digest_after, digest_size: see the module docstring.
    should_stop: checked before each message; when it returns true the call returns at once
    (the daemon is stopping), leaving the rest for the next call.
    Each message's findings are claimed first (`store.deliveries.claim`); a finding another
    sender is sending right now is left to it, unless its claim is older than
    claim_stale_after seconds (None: `claim_stale_seconds()`).
    """
    report = DeliveryReport()
    pid = os.getpid()
    stop = should_stop or (lambda: False)
    stale_after = claim_stale_seconds() if claim_stale_after is None else claim_stale_after
    for target in targets_of(registry):
        if stop():
            break
        report.targets += 1
        agencies = None if target.agency_ids is None else sorted(target.agency_ids)
        # Enough to fill `limit` digests, and one more than digest_after to see a backlog.
        cap = None if limit is None else max(limit * digest_size, digest_after + 1)
        pending = store.deliveries.pending(target.key, agencies, limit=cap)
        if not pending:
            continue
        if len(pending) <= digest_after:
            messages = [[finding] for finding in pending]
        else:
            messages = [pending[i:i + digest_size] for i in range(0, len(pending), digest_size)]
        if limit is not None:
            report.waiting += sum(len(m) for m in messages[limit:])
            messages = messages[:limit]
        sender = None
        for index, findings in enumerate(messages):
            if stop():
                report.waiting += sum(len(m) for m in messages[index:])
                return report
            claimed = set(store.deliveries.claim([f["id"] for f in findings],
                                                 target_key=target.key, target=target.masked,
                                                 pid=pid, stale_after=stale_after))
            findings = [f for f in findings if f["id"] in claimed]
            if not findings:
                continue  # another sender has them
            ids = [f["id"] for f in findings]
            try:
                sender = sender or _sender(target.url)
                title, body = compose(findings)
            except Exception as exc:  # a bad URL or a finding we cannot format
                ok, error = False, redact(f"{type(exc).__name__}: {exc}", target.url)
            else:
                ok, error = _send(sender, title, body, target.url)
            store.deliveries.record(ids, target_key=target.key, target=target.masked,
                                  delivered=ok, error=error, pid=pid)
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

    _quiet_apprise()
    _redactor.learn(url)  # before apprise logs anything about it ("Loaded JSON URL: ...")
    asset = apprise.AppriseAsset(app_id="nianbao", app_desc="nianbao 年报 monitor")
    sender = apprise.Apprise(asset=asset)
    if not sender.add(url):
        raise ValueError("apprise cannot use this URL (unknown scheme or a missing field)")
    return sender


class _Redactor(logging.Filter):
    """A filter on the loggers of apprise and urllib3, which print URLs with their tokens
    (Lark's hook path, json:// query values, urllib3's request lines): each record's text
    is redacted with the secrets of every URL this process sends to, before any handler sees
    it (apprise's own capture, the daemon's stderr, a test's caplog). Records of a sending
    thread may be written by a worker thread of apprise, so the secrets are not per thread."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: list[str] = []
        self.lock = threading.Lock()

    def learn(self, url: str) -> None:
        with self.lock:
            known = set(self.secrets) | set(url_secrets(url))
            self.secrets = sorted(known, key=lambda text: (-len(text), text))

    def scrub(self, text: str) -> str:
        for secret in self.secrets:  # a list replaced whole by learn(): safe to iterate
            text = text.replace(secret, "***")
        # A URL not learnt yet (the registry's validation loads every URL into apprise,
        # which logs it at DEBUG): only its scheme and host name are kept.
        return _ANY_URL.sub(lambda m: _url_label(m.group(0)), text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a bad format string in a plugin
            text = f"{record.msg} {record.args}"
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = record.exc_text = None
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        record.msg, record.args = self.scrub(text), ()
        return True


class _ThreadLog(logging.Handler):
    """Keeps the warnings of apprise (redacted already) for the thread that is sending, so
    that each _send sees its own target's messages (apprise < 2 has no per-call log)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        lines = getattr(self.local, "lines", None)
        if lines is not None and record.thread == threading.get_ident():
            lines.append(record.getMessage())


_redactor = _Redactor()
_thread_log = _ThreadLog()
_quiet_lock = threading.Lock()
_quieted = False
# urllib3 logs each request line (path and query: tokens) at DEBUG from these modules.
URLLIB3_LOGGERS = ("urllib3", "urllib3.connectionpool", "urllib3.connection",
                   "urllib3.poolmanager", "urllib3.response", "urllib3.util.retry")


def _quiet_apprise() -> None:
    """Once per process: redact the records of apprise and urllib3 at the source
    (_Redactor); keep apprise's out of the process's own log (it does not propagate: _send
    logs a failure itself, redacted); urllib3 logs only errors."""
    global _quieted
    with _quiet_lock:
        if _quieted:
            return
        apprise_log = logging.getLogger("apprise")
        apprise_log.addFilter(_redactor)
        apprise_log.addHandler(_thread_log)
        apprise_log.propagate = False
        if apprise_log.getEffectiveLevel() > logging.WARNING:
            apprise_log.setLevel(logging.WARNING)
        for name in URLLIB3_LOGGERS:
            logging.getLogger(name).addFilter(_redactor)
        urllib3_log = logging.getLogger("urllib3")
        if urllib3_log.getEffectiveLevel() < logging.ERROR:
            urllib3_log.setLevel(logging.ERROR)
        _quieted = True


def _send(sender, title: str, body: str, url: str) -> tuple[bool, str | None]:
    """Send one message; (True, None) or (False, the reason with url's secrets redacted)."""
    _thread_log.local.lines = lines = []
    try:
        result = sender.notify(title=title, body=body)
        ok = bool(result)
        if not ok and hasattr(result, "logs"):  # apprise >= 2: the call's own log
            own = [entry.message for entry in result.logs()
                   if str(getattr(entry, "level", "")).upper() in ("WARNING", "ERROR", "CRITICAL")]
            lines = own or lines
    except Exception as exc:  # a plugin bug must not stop the other targets
        return False, redact(f"{type(exc).__name__}: {exc}", url)[:ERROR_MAX_CHARS]
    finally:
        _thread_log.local.lines = None
    if ok:
        return True, None
    lines = [line.strip() for line in lines if line and line.strip()]
    error = lines[-1] if lines else "apprise reported a failure"
    return False, redact(error, url)[:ERROR_MAX_CHARS]


# At import: the registry's validation (config.registry) hands every URL to apprise, which
# logs it; the daemon and the commands import this module before they load the registry.
_quiet_apprise()
