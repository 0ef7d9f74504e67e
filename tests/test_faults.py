"""The fault server (tests/faults.py) does what each fault says, checked with raw clients."""

from __future__ import annotations

import email.utils
import http.client
import json
import re
import socket
import sqlite3
import time
import zlib

import pytest

from nianbao.config.registry import load_registry
from nianbao.demo.site import Page
from tests.conftest import crawl
from tests.faults import (
    AGENCY_ID, BAD_GBK, BAD_UTF8, BLOCK_PAGES, FAULTS, HOME, LISTING, LISTING_2, REPORTS, SOFT_404_PAGES,
    Fault, FaultServer, gzip_bomb_bytes,
)

REPORT = REPORTS[2022]


def get(server, path, method="GET", port=None, headers=None, body=None, timeout=5.0):
    """(status, headers as a dict with lower-case names, body) of one request."""
    connection = http.client.HTTPConnection("127.0.0.1", port or server.port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def raw(server, path, timeout=5.0, chunks=None):
    """The answer's bytes as sent, read until the server closes; `chunks` gets every recv."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        data = b""
        while piece := sock.recv(65536):
            data += piece
            if chunks is not None:
                chunks.append((time.monotonic(), piece))
        return data


def split(answer: bytes) -> tuple[int, dict, bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


# --- the normal portal ------------------------------------------------------------------------

def test_the_portal_is_a_normal_paginated_column_of_reports(fault_server):
    status, headers, body = get(fault_server, LISTING)
    page = body.decode("utf-8")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert 'href="index_1.html">下一页</a>' in page
    assert all(path in page for year, path in REPORTS.items() if year >= 2021)
    page_two = get(fault_server, LISTING_2)[2].decode("utf-8")
    assert all(path in page_two for year, path in REPORTS.items() if year <= 2020)
    for year, path in REPORTS.items():
        status, _, body = get(fault_server, path)
        text = body.decode("utf-8")
        assert status == 200
        assert f"示范县交通运输局{year}年政府信息公开工作年度报告" in text
        assert "三、收到和处理政府信息公开申请情况" in text and f"专栏{year - 2000}个" in text
    assert get(fault_server, "/robots.txt")[2].startswith(b"User-agent: *")
    assert get(fault_server, "/no/such/page.html")[0] == 404
    assert get(fault_server, HOME)[0] == 200


def test_the_registry_names_the_portal_and_loads(fault_server, tmp_path):
    registry = load_registry(fault_server.write_registry(tmp_path / "agencies.yaml"))
    (agency,) = registry.select([AGENCY_ID])
    assert list(agency.sources) == [fault_server.url(LISTING)]
    assert agency.start_year == min(REPORTS)


# --- scripting and records --------------------------------------------------------------------

def test_attempts_follow_the_script_then_the_normal_page(fault_server):
    fault_server.script(REPORT, None, Fault.status(503), Fault.not_found())
    assert [get(fault_server, REPORT)[0] for _ in range(5)] == [200, 503, 404, 200, 200]
    hits = fault_server.hits_for(REPORT)
    assert [hit.attempt for hit in hits] == [1, 2, 3, 4, 5]
    assert [hit.fault for hit in hits] == [None, "503", "404", None, None]
    assert get(fault_server, REPORTS[2021])[0] == 200  # other paths are left alone


def test_always_and_then_repeat_a_fault(fault_server):
    fault_server.always(LISTING, Fault.gone())
    fault_server.script(REPORT, Fault.status(502), then=Fault.status(500))
    assert [get(fault_server, LISTING)[0] for _ in range(3)] == [410, 410, 410]
    assert [get(fault_server, REPORT)[0] for _ in range(3)] == [502, 500, 500]


def test_a_404_then_200_again(fault_server):
    fault_server.script(REPORT, Fault.not_found())
    first, second = get(fault_server, REPORT), get(fault_server, REPORT)
    assert first[0] == 404 and b"404 Not Found" in first[2]
    assert second[0] == 200 and "年度报告".encode() in second[2]


def test_every_request_is_recorded(fault_server):
    before = time.monotonic()
    get(fault_server, "/search?q=%E5%B9%B4%E6%8A%A5")
    get(fault_server, REPORT, method="POST", headers={"User-Agent": "probe/1.0",
                                                      "Content-Type": "application/x-www-form-urlencoded"},
        body=b"startrecord=1&endrecord=3")
    get(fault_server, REPORT, port=fault_server.other_port)
    post = fault_server.hits_for(REPORT)[0]
    assert post.method == "POST" and post.headers["User-Agent"] == "probe/1.0"
    assert post.body == b"startrecord=1&endrecord=3" and post.attempt == 1
    assert before <= fault_server.hits[0].at <= post.at <= time.monotonic()
    assert post.host == f"127.0.0.1:{fault_server.port}"
    (other,) = fault_server.hits_for(REPORT, port=fault_server.other_port)
    assert other.attempt == 1 and other.fault is None  # counted per port


# --- slow and silent ------------------------------------------------------------------------

def test_delay(fault_server):
    fault_server.script(REPORT, Fault.delay(0.4))
    started = time.monotonic()
    status, _, body = get(fault_server, REPORT)
    assert status == 200 and time.monotonic() - started >= 0.4 and "年度报告".encode() in body


def test_timeout_holds_the_connection_without_a_byte(fault_server):
    fault_server.always(REPORT, Fault.timeout())
    with socket.create_connection(("127.0.0.1", fault_server.port), timeout=0.5) as sock:
        sock.sendall(f"GET {REPORT} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        with pytest.raises(socket.timeout):
            sock.recv(1)
    # the server lets go of a held connection when it stops
    server = FaultServer().start()
    server.always(REPORT, Fault.timeout())
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.sendall(f"GET {REPORT} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    time.sleep(0.1)
    started = time.monotonic()
    server.stop()
    assert sock.recv(1) == b"" and time.monotonic() - started < 2
    sock.close()


def test_slow_sends_one_byte_at_a_time(fault_server):
    fault_server.set_page("/tiny.html", Page(b"<p>ok</p>"))
    fault_server.script("/tiny.html", Fault.slow(30), Fault.slow(4, headers_too=True))
    chunks: list = []
    started = time.monotonic()
    status, _, body = split(raw(fault_server, "/tiny.html", chunks=chunks))
    assert status == 200 and body == b"<p>ok</p>"
    assert time.monotonic() - started >= 8 * 0.03
    assert len(chunks) >= 6  # the head at once, then the body in dribbles (a few may merge)
    chunks.clear()
    started = time.monotonic()
    answer = raw(fault_server, "/tiny.html", chunks=chunks)
    assert chunks[0][1] == b"H"  # the status line and the headers trickle too
    assert time.monotonic() - started >= (len(answer) - 1) * 0.004
    assert len(chunks) > len(answer) // 2


# --- broken deliveries -----------------------------------------------------------------------

def test_reset_mid_body(fault_server):
    fault_server.script(REPORT, Fault.reset_mid_body())
    full = len(get(fault_server, REPORTS[2021])[2])
    chunks: list = []
    with pytest.raises(ConnectionResetError):
        raw(fault_server, REPORT, chunks=chunks)
    data = b"".join(piece for _, piece in chunks)
    if data:  # what arrived before the reset: the head and no more than half the body
        _, headers, body = split(data)
        assert int(headers["content-length"]) > len(body) and len(body) <= full // 2 + 1


def test_truncated_body_ends_with_a_clean_close(fault_server):
    fault_server.script(REPORT, Fault.truncated(), Fault.truncated())
    status, headers, body = split(raw(fault_server, REPORT))
    assert status == 200 and len(body) == int(headers["content-length"]) // 2
    with pytest.raises(http.client.IncompleteRead):
        get(fault_server, REPORT)


# --- status codes ----------------------------------------------------------------------------

@pytest.mark.parametrize("code", [500, 502, 503])
def test_server_errors_with_and_without_retry_after(fault_server, code):
    fault_server.script(REPORT, Fault.status(code), Fault.status(code, retry_after=7),
                        Fault.status(code, retry_after_date=30))
    status, headers, body = get(fault_server, REPORT)
    assert status == code and "retry-after" not in headers and str(code).encode() in body
    status, headers, _ = get(fault_server, REPORT)
    assert status == code and headers["retry-after"] == "7"
    status, headers, _ = get(fault_server, REPORT)
    when = email.utils.parsedate_to_datetime(headers["retry-after"]).timestamp()
    assert status == code and 30 <= when - time.time() <= 32


def test_429_as_html_and_as_json(fault_server):
    fault_server.script(REPORT, Fault.too_many_requests(retry_after=3), Fault.too_many_requests(json_body=True))
    status, headers, body = get(fault_server, REPORT)
    assert status == 429 and headers["retry-after"] == "3" and "请求过于频繁".encode() in body
    assert headers["content-type"].startswith("text/html")
    status, headers, body = get(fault_server, REPORT)
    assert status == 429 and "retry-after" not in headers and headers["content-type"].startswith("application/json")
    assert json.loads(body)["code"] == 429


def test_410(fault_server):
    fault_server.script(REPORT, Fault.gone())
    assert get(fault_server, REPORT)[0] == 410


def test_ruishu_412_has_a_ts_script_and_a_meta_token(fault_server):
    fault_server.script(REPORT, Fault.ruishu(), Fault.ruishu(seed=2))
    status, headers, body = get(fault_server, REPORT)
    page = body.decode("utf-8")
    assert status == 412 and "80S=" in headers["set-cookie"]
    assert re.search(r"<script[^>]*>\$_ts=window\['\$_ts'\];.*\$_ts\.cd=\"[^\"]{100,}\";</script>", page)
    assert re.search(r"<meta id=\"\w+\" content=\"[^\"]{100,}\"", page)
    assert get(fault_server, REPORT)[2] != body  # another seed, another page


def test_jiasule_521_builds_a_clearance_cookie(fault_server):
    fault_server.script(REPORT, Fault.jiasule())
    status, headers, body = get(fault_server, REPORT)
    assert status == 521 and headers["set-cookie"].startswith("__jsluid_h=")
    spelled = "".join(re.findall(r"\('([^']*)'\)", body.decode("utf-8")))
    assert spelled.startswith("__jsl_clearance=") and "location.href" in body.decode("utf-8")


# --- redirects -------------------------------------------------------------------------------

def test_redirects(fault_server):
    fault_server.script(REPORT, Fault.redirect_loop(), Fault.redirect_off_host(), Fault.redirect_off_port(),
                        Fault.redirect_home(), Fault.redirect("/elsewhere.html", code=301))
    locations = [get(fault_server, REPORT)[1]["location"] for _ in range(5)]
    assert locations == [
        fault_server.url(REPORT),
        f"http://localhost:{fault_server.port}{REPORT}",
        f"http://127.0.0.1:{fault_server.other_port}{REPORT}",
        fault_server.url("/"),
        "/elsewhere.html",
    ]
    # the other port serves the normal page, and is never scripted
    fault_server.always(REPORT, Fault.redirect_off_port())
    status, _, body = get(fault_server, REPORT, port=fault_server.other_port)
    assert status == 200 and "年度报告".encode() in body


# --- bodies that are not the page ------------------------------------------------------------

def test_oversized_with_and_without_content_length(fault_server):
    size = 3 << 20
    fault_server.script(REPORT, Fault.oversized(size), Fault.oversized(size, declare_length=False))
    status, headers, body = get(fault_server, REPORT)
    assert status == 200 and int(headers["content-length"]) == len(body) == size
    status, headers, body = split(raw(fault_server, REPORT))
    assert "content-length" not in headers and len(body) == size
    assert body.startswith(b"<!DOCTYPE html>")


def test_gzip_bomb_inflates_to_what_it_says(fault_server):
    assert zlib.decompress(gzip_bomb_bytes(3 << 20), wbits=31) == bytes(3 << 20)
    fault_server.script(REPORT, Fault.gzip_bomb(64 << 20), Fault.gzip_bomb())
    status, headers, body = get(fault_server, REPORT)
    assert status == 200 and headers["content-encoding"] == "gzip" and len(body) < (64 << 20) // 500
    inflate, total = zlib.decompressobj(wbits=31), 0
    data = body
    while data:
        total += len(inflate.decompress(data, 1 << 24))
        data = inflate.unconsumed_tail
    assert total == 64 << 20 and inflate.eof
    status, headers, body = get(fault_server, REPORT)  # the default: 1 GiB, about 1 MB sent
    assert len(body) < 2 << 20
    head = zlib.decompressobj(wbits=31).decompress(body, 1 << 20)
    assert head == bytes(1 << 20)


def test_invalid_utf8_and_gbk(fault_server):
    fault_server.script(REPORT, Fault.invalid_utf8(), Fault.invalid_gbk())
    _, headers, body = get(fault_server, REPORT)
    assert headers["content-type"] == "text/html; charset=utf-8"
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert all(bad in body for bad in BAD_UTF8)
    assert "一、总体情况" in body.decode("utf-8", "replace")
    _, headers, body = get(fault_server, REPORT)
    assert headers["content-type"] == "text/html; charset=gbk"
    with pytest.raises(UnicodeDecodeError):
        body.decode("gb18030")
    assert all(bad in body for bad in BAD_GBK)
    assert "一、总体情况" in body.decode("gb18030", "replace")


def test_binary_garbage_and_empty_200(fault_server):
    fault_server.script(REPORT, Fault.binary_garbage(), Fault.empty())
    status, headers, body = get(fault_server, REPORT)
    assert status == 200 and headers["content-type"].startswith("text/html") and len(body) == 4096
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    status, headers, body = get(fault_server, REPORT)
    assert status == 200 and headers["content-length"] == "0" and body == b""


@pytest.mark.parametrize("variant", range(len(SOFT_404_PAGES)))
def test_soft_404_pages_are_200s_that_say_the_page_is_gone(fault_server, variant):
    fault_server.script(REPORT, Fault.soft_404(variant))
    status, headers, body = get(fault_server, REPORT)
    charset = "gbk" if "gb2312" in headers["content-type"] else "utf-8"
    assert status == 200
    assert re.search("不存在|已经删除|找不到", body.decode(charset))


def test_soft_404_and_block_pages_all_differ():
    bodies = [body for body, _ in SOFT_404_PAGES + BLOCK_PAGES]
    assert len(set(bodies)) == len(bodies)


@pytest.mark.parametrize("variant", range(len(BLOCK_PAGES)))
def test_block_pages_are_200s_that_say_slow_down(fault_server, variant):
    fault_server.script(REPORT, Fault.block_page(variant))
    status, headers, body = get(fault_server, REPORT)
    charset = "gbk" if "gbk" in headers["content-type"] else "utf-8"
    assert status == 200 and re.search("频繁|过快|异常", body.decode(charset))


def test_error_bodies_typed_as_downloads(fault_server):
    fault_server.script(REPORT, Fault.octet_stream(), Fault.pdf_error())
    status, headers, body = get(fault_server, REPORT)
    assert status == 200 and headers["content-type"] == "application/octet-stream"
    assert b"FileNotFoundException" in body
    status, headers, body = get(fault_server, REPORT)
    assert status == 200 and headers["content-type"] == "application/pdf"
    assert not body.startswith(b"%PDF") and "系统繁忙".encode("gbk") in body


def test_every_fault_of_the_catalogue_answers_as_it_should(fault_server):
    """FAULTS (one of each kind, for fault matrices) served on a small page, raw."""
    fault_server.set_page("/tiny.html", Page(b"<html><body><p>2022\xe5\xb9\xb4</p></body></html>"))
    fault_server.script("/tiny.html", *FAULTS)
    for fault in FAULTS:
        try:
            answer = raw(fault_server, "/tiny.html", timeout=1.0)
        except socket.timeout:
            assert fault.delivery == "hang", fault
            continue
        except ConnectionResetError:
            assert fault.delivery == "reset", fault
            continue
        assert fault.delivery not in ("hang", "reset"), fault
        assert answer.startswith(b"HTTP/1.1 "), fault
    assert [hit.fault for hit in fault_server.hits_for("/tiny.html")] == [fault.name for fault in FAULTS]
    assert len({fault.name for fault in FAULTS}) == len(FAULTS)  # names tell them apart in Hit.fault


def test_a_crawl_of_the_portal_without_faults_stores_every_report(fault_server, tmp_path, db_path):
    """The baseline every fault is measured against: six reports, one request per page."""
    crawl(fault_server.write_registry(tmp_path / "agencies.yaml"), db_path)
    connection = sqlite3.connect(db_path)
    try:
        rows = connection.execute("SELECT url, year, kind, status FROM reports").fetchall()
    finally:
        connection.close()
    reports = {(url.removeprefix(fault_server.base_url), year, status) for url, year, kind, status in rows
               if kind == "annual_report"}
    assert reports == {(path, year, "live") for year, path in REPORTS.items()}
    paths = [hit.path for hit in fault_server.hits]
    assert sorted(paths) == sorted({*paths}) and {LISTING, LISTING_2, "/robots.txt"} <= {*paths}
    assert all(hit.headers["User-Agent"].startswith("nianbao/") for hit in fault_server.hits)
