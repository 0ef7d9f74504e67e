"""Alerts an office can act on: real apprise json:// deliveries to an HTTP receiver on
127.0.0.1, for every finding kind; subscriptions by region and kind; config errors."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from nianbao.config.registry import ConfigError, load_registry
from nianbao.config.subscriptions import FINDING_KIND_NAMES
from nianbao.monitor.finding_text import KIND_LABELS, china_time
from nianbao.monitor.notify import deliver_pending, targets_of
from nianbao.storage import AgencyRecord, ReportFetch, Store
from nianbao.storage.models import FINDING_KINDS
from nianbao.storage.part import to_json
from tests.test_notify import Receiver

pytestmark = pytest.mark.timeout(90)

PUBLIC = "https://nianbao.example.org/watch"
AGENCIES = [
    ("bz-mzj", "亳州市民政局", "department", "安徽省亳州市"),
    ("hf-zf", "合肥市人民政府", "government", "安徽省合肥市"),
    ("nj-tjj", "南京市统计局", "department", "江苏省南京市"),
]


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.close()


def write_registry(tmp_path, notify, public_url=PUBLIC, name="agencies.yaml"):
    agencies = [{"id": i, "name": n, "kind": k, "region": r, "start_year": 2019,
                 "sources": [f"http://127.0.0.1:9/{i}/index.html"]} for i, n, k, r in AGENCIES]
    doc = {"notify": notify, "agencies": agencies}
    if public_url:
        doc["public_url"] = public_url
    path = tmp_path / name
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return load_registry(path)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "nianbao.db") as opened:
        opened.agencies.sync([AgencyRecord(i, n, k, r, 2019, (f"http://{i}/",))
                              for i, n, k, r in AGENCIES])
        yield opened


def add_report(store, agency_id, year, kind="annual_report", title=None, n=0):
    title = title or f"{year}年政府信息公开工作年度报告"
    store.history.record_report(ReportFetch(
        agency_id=agency_id, url=f"http://{agency_id}.gov.cn/{year}/{kind}{n}.html",
        title=title, text=f"正文 {year} {n}", kind=kind, year=year, published_date=None,
        raw_page=b"<html></html>", raw_encoding="utf-8", fetched_at="2021-01-20T00:00:00Z"))
    return store.db.execute("SELECT max(id) FROM reports").fetchone()[0]


def insert_finding(store, kind, agency_id, year, report_id, details, at):
    """A finding row as any writer of the store leaves it (the column has no CHECK: kinds
    other parts add, moved/column_moved/inconsistent, are written the same way)."""
    with store.db.conn:
        return store.db.execute(
            "INSERT INTO findings (kind, agency_id, year, report_id, detected_at, details) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (kind, agency_id, year, report_id, at, to_json(details))).lastrowid


def every_kind(store) -> dict[str, int]:
    """One finding of each kind the monitor knows, with details as their writers make them."""
    ids = {}
    report = add_report(store, "bz-mzj", 2020)
    ids["new"] = store.db.execute("SELECT id FROM findings WHERE kind = 'new'").fetchone()[0]
    url = "http://bz-mzj.gov.cn/2020/annual_report0.html"
    at = "2021-03-31T17:30:00Z"
    rows = {
        "changed": ("bz-mzj", 2020, report, {"title": "2020年政府信息公开工作年度报告", "url": url,
                     "from_version": 1, "to_version": 2, "lines_added": 1, "lines_removed": 1,
                     "diff": "-收到申请 120 件\n+收到申请 210 件"}),
        "removed": ("bz-mzj", 2020, report, {"http_status": 404, "url": url, "title": "2020年报",
                     "version": 2, "reason": "http_404"}),
        "restored": ("bz-mzj", 2020, report, {"url": url, "title": "2020年报",
                      "removed_at": "2021-04-02T01:00:00Z", "text_changed": False}),
        "missing": ("hf-zf", 2020, None, {"agency_name": "合肥市人民政府", "deadline": "2021-03-31",
                     "as_of": "2021-04-01", "summary": "no report"}),
        "late": ("bz-mzj", 2020, report, {"agency_name": "亳州市民政局", "deadline": "2021-01-31",
                  "published_date": "2021-02-10", "days_late": 10, "url": url, "title": "2020年报"}),
        "turned_up": ("bz-mzj", 2020, report, {"deadline": "2021-01-31", "url": url,
                       "published_date": "2021-02-10", "status": "late"}),
        "site_failing": ("nj-tjj", None, None, {
            "agency_name": "南京市统计局", "crawls_in_a_row": 3, "threshold": 3,
            "since": "2021-03-01T02:00:00Z",
            "crawls": [{"id": n, "started_at": "2021-03-01T02:00:00Z", "outcome": "errors",
                        "errors": [{"url": "http://nj-tjj/list.html", "status": None,
                                    "error": "TimeoutError: took longer than 30 s"}]}
                       for n in range(3)],
            "summary": "南京市统计局: listing pages failed in 3 crawls in a row"}),
        "moved": ("bz-mzj", 2020, report, {"old_url": url, "new_url": "http://bz-mzj.gov.cn/new/1.html",
                   "title": "2020年报"}),
        "column_moved": ("hf-zf", None, None, {"old_url": "http://hf-zf/old/", "new_url": "http://hf-zf/new/"}),
        "inconsistent": ("hf-zf", 2020, None, {"rule": "一 + 二 = 三（七） + 四", "left": 12, "right": 13}),
    }
    for kind, (agency, year, report_id, details) in rows.items():
        ids[kind] = insert_finding(store, kind, agency, year, report_id, details, at)
    return ids


def test_every_kind_has_a_chinese_label_and_is_a_subscribable_kind():
    assert set(FINDING_KINDS) <= set(FINDING_KIND_NAMES) == set(KIND_LABELS)
    for label in KIND_LABELS.values():
        assert any("\u4e00" <= ch <= "\u9fff" for ch in label)


def test_json_target_gets_the_structured_fields_of_every_kind(tmp_path, store, receiver):
    registry = write_registry(tmp_path, [receiver.url()])
    ids = every_kind(store)
    other = add_report(store, "hf-zf", 2020, kind="other", title="2021年政务公开工作要点")
    report = deliver_pending(store, registry, digest_after=50)
    assert report.failed == 0 and report.messages == len(ids) == len(KIND_LABELS)
    stored = {row["id"]: row for row in store.db.query("SELECT * FROM findings")}
    by_kind = {body["kind"]: body for _, body in receiver.posts}
    assert set(by_kind) == set(KIND_LABELS)  # the work plan's `new` was not announced
    assert other not in {b["report_id"] for b in by_kind.values()}
    for kind, body in by_kind.items():
        row = stored[ids[kind]]
        assert body["finding_id"] == row["id"]
        assert body["agency_id"] == row["agency_id"] and body["year"] == row["year"]
        assert body["agency_name"] == dict((i, n) for i, n, _, _ in AGENCIES)[row["agency_id"]]
        assert body["report_id"] == row["report_id"]
        assert body["detected_at"] == row["detected_at"]
        utc = dt.datetime.fromisoformat(row["detected_at"].replace("Z", "+00:00"))
        china = dt.datetime.fromisoformat(body["detected_at_china"])
        assert china == utc and china.utcoffset() == dt.timedelta(hours=8)
        assert body["link"] == f"{PUBLIC}/nianbao/findings/{row['id']}"
        if row["report_id"]:
            assert body["report_link"] == f"{PUBLIC}/-/report/{row['report_id']}"
        assert body["details"] == json.loads(row["details"])
        assert [f["finding_id"] for f in body["findings"]] == [row["id"]]
        # the text: Chinese label, China time, the link; never raw JSON
        assert KIND_LABELS[kind] in body["title"] and KIND_LABELS[kind] in body["message"]
        assert f"详情：{body['link']}" in body["message"]
        assert china_time(row["detected_at"]) in body["message"] and "北京时间" in body["message"]
        assert "{" not in body["message"] and "'crawls'" not in body["message"]
    assert by_kind["new"]["url"] == "http://bz-mzj.gov.cn/2020/annual_report0.html"
    assert by_kind["missing"]["url"] is None and by_kind["missing"]["deadline"] == "2021-03-31"
    assert "截止日期：2021-03-31" in by_kind["missing"]["message"]
    assert "截止日期2021-01-31" in by_kind["late"]["message"] and "晚10天" in by_kind["late"]["message"]
    failing = by_kind["site_failing"]["message"]
    assert "连续3次抓取失败" in failing and "2021-03-01 10:00 (北京时间)" in failing
    assert "TimeoutError" in failing
    assert "收到申请 210 件" in by_kind["changed"]["message"]
    assert "http://bz-mzj.gov.cn/new/1.html" in by_kind["moved"]["message"]
    assert "一 + 二 = 三（七） + 四" in by_kind["inconsistent"]["message"]


def test_a_digest_line_carries_the_report_url_the_link_and_the_deadline(tmp_path, store, receiver):
    registry = write_registry(tmp_path, [receiver.url()])
    ids = every_kind(store)
    assert deliver_pending(store, registry, digest_after=3, digest_size=50).messages == 1
    [(_, body)] = receiver.posts
    assert body["title"].startswith(f"nianbao: {len(ids)} 条发现（")
    assert "新发现年报 1" in body["title"] and "逾期未发布 1" in body["title"]
    lines = body["message"].splitlines()
    assert len(lines) == len(ids) == len(body["findings"])
    for line, fields in zip(lines, body["findings"], strict=True):
        assert line.startswith(f"#{fields['finding_id']} {KIND_LABELS[fields['kind']]} ")
        assert line.endswith(f" {PUBLIC}/nianbao/findings/{fields['finding_id']}")
        if fields["url"]:
            assert f" {fields['url']} " in line
    missing = next(line for line in lines if "逾期未发布" in line)
    assert "合肥市人民政府 2020年度 截止日期 2021-03-31" in missing


def test_without_a_public_url_there_are_no_links(tmp_path, store, receiver):
    registry = write_registry(tmp_path, [receiver.url()], public_url=None)
    add_report(store, "bz-mzj", 2020)
    deliver_pending(store, registry)
    [(_, body)] = receiver.posts
    assert body["link"] is None and "详情：" not in body["message"]
    # --public-url of the command gives them
    add_report(store, "bz-mzj", 2021)
    from nianbao.monitor.daemon_cmd import notify
    result = CliRunner().invoke(notify, ["--config", registry.path, "--db", str(store.path),
                                         "--public-url", "http://10.1.2.3:8001/"])
    assert result.exit_code == 0, result.output
    assert receiver.posts[-1][1]["link"].startswith("http://10.1.2.3:8001/nianbao/findings/")


def test_subscriptions_select_by_region_prefix_and_kind(tmp_path, store):
    everything, anhui, jiangsu = Receiver(), Receiver(), Receiver()
    try:
        registry = write_registry(tmp_path, [
            everything.url("all"),
            {"urls": [anhui.url("ah")], "region": "安徽省", "kinds": ["missing", "late"]},
            {"urls": [jiangsu.url("js")], "region": "江苏省"},
        ])
        assert [(t.agency_ids, t.kinds) for t in targets_of(registry)] == [
            (None, None), (frozenset({"bz-mzj", "hf-zf"}), ("missing", "late")),
            (frozenset({"nj-tjj"}), None)]
        ids = every_kind(store)
        report = deliver_pending(store, registry, digest_after=50)
        assert report.failed == 0
        assert {b["kind"] for _, b in everything.posts} == set(ids)
        assert sorted(b["kind"] for _, b in anhui.posts) == ["late", "missing"]
        assert [b["kind"] for _, b in jiangsu.posts] == ["site_failing"]
        assert deliver_pending(store, registry).messages == 0
    finally:
        for r in (everything, anhui, jiangsu):
            r.close()


def test_the_same_url_in_two_subscriptions_gets_each_finding_once(tmp_path, store, receiver):
    registry = write_registry(tmp_path, [
        {"urls": [receiver.url()], "kinds": ["new", "missing"]},
        {"urls": [receiver.url()], "region": "安徽省"},
    ])
    ids = every_kind(store)
    deliver_pending(store, registry, digest_after=50)
    sent = sorted(b["finding_id"] for _, b in receiver.posts)
    expected = sorted(i for k, i in ids.items() if k != "site_failing")  # nj-tjj: Jiangsu
    assert sent == expected


@pytest.mark.parametrize("notify, public_url, expected", [
    ([{"urls": ["json://127.0.0.1:9/x"], "kinds": ["mising"]}], None,
     ["entry 1", "field 'kinds'", "item 1", "'mising' is not a finding kind"]),
    (["json://127.0.0.1:9/x", {"region": "安徽省"}], None,
     ["entry 2", "field 'urls'", "required"]),
    ([{"urls": ["json://127.0.0.1:9/x"], "regoin": "安徽省"}], None,
     ["entry 1", "field 'regoin'", "unknown field"]),
    ([{"urls": ["nosuchscheme://x"]}], None, ["entry 1", "field 'urls'", "apprise"]),
    ([{"urls": ["json://127.0.0.1:9/x"], "kinds": []}], None, ["entry 1", "field 'kinds'"]),
    ([42], None, ["entry 1", "notification URL or a mapping"]),
    ([], "ftp://example.org", ["field 'public_url'", "http(s)"]),
    ([], "https://example.org/?a=1", ["field 'public_url'", "query"]),
], ids=["kind", "no-urls", "unknown-field", "bad-url", "no-kinds", "number", "scheme", "query"])
def test_subscription_errors_name_file_entry_and_field(tmp_path, notify, public_url, expected):
    with pytest.raises(ConfigError) as error:
        write_registry(tmp_path, notify, public_url=public_url)
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'agencies.yaml'}: top level: field '")
    assert "\n" not in message
    for part in expected:
        assert part in message, message


def test_status_counts_only_announced_findings(tmp_path, store, receiver):
    from nianbao.monitor.daemon_cmd import collect_status

    registry = write_registry(tmp_path, [{"urls": [receiver.url()], "kinds": ["new"]}])
    add_report(store, "hf-zf", 2020, kind="other", title="2021年政务公开工作要点")
    add_report(store, "hf-zf", 2020)
    report = collect_status(store.path, registry, stale_after=90, agency_limit=None)
    assert report["undelivered"]["findings"] == 1
    deliver_pending(store, registry)
    assert collect_status(store.path, registry, stale_after=90,
                          agency_limit=None)["undelivered"]["findings"] == 0


class RawReceiver:
    """Records each POST's raw body (form:// and xml:// send no JSON)."""

    def __init__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                receiver.posts.append((self.headers.get("Content-Type", ""),
                                       self.rfile.read(length).decode("utf-8")))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.posts: list[tuple[str, str]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_form_and_xml_webhooks_get_the_fields_as_text(tmp_path, store):
    from urllib.parse import parse_qs
    from xml.etree import ElementTree as ET

    form, xml = RawReceiver(), RawReceiver()
    try:
        registry = write_registry(tmp_path, [f"form://127.0.0.1:{form.port}/f",
                                             f"xml://127.0.0.1:{xml.port}/x"])
        ids = every_kind(store)
        assert deliver_pending(store, registry, digest_after=50).failed == 0
        assert len(form.posts) == len(xml.posts) == len(ids)
        stored = {row["id"]: row for row in store.db.query("SELECT * FROM findings")}
        for _, body in form.posts:
            fields = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
            row = stored[int(fields["finding_id"])]
            assert (fields["kind"], fields["agency_id"], fields["detected_at"]) == (
                row["kind"], row["agency_id"], row["detected_at"])
            assert fields["year"] == ("" if row["year"] is None else str(row["year"]))
            assert fields["link"] == f"{PUBLIC}/nianbao/findings/{row['id']}"
            assert json.loads(fields["details"]) == json.loads(row["details"])
            assert [f["finding_id"] for f in json.loads(fields["findings"])] == [row["id"]]
        kinds = set()
        for _, body in xml.posts:
            root = ET.fromstring(body)
            element = root.find(".//finding_id")
            assert element is not None, body[:500]
            row = stored[int(element.text)]
            kinds.add(root.find(".//kind").text)
            assert root.find(".//detected_at_china").text.endswith("+08:00")
            assert json.loads(root.find(".//details").text) == json.loads(row["details"])
        assert kinds == set(KIND_LABELS)
    finally:
        form.close()
        xml.close()
