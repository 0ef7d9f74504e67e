"""Bad registries and bad options never get through: one line, exit status 2, no traceback,
nothing written. And good ones are never refused ("never cry wolf" works both ways).

Table-driven cases come in pairs that differ in every surface detail, so that a fix for one
string is not mistaken for a fix of its class. The property-based tests then generate
mutations of a valid registry and invalid option values.
"""

from __future__ import annotations

import hashlib
import os
import textwrap
from collections import Counter
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nianbao.cli import main
from nianbao.config.registry import ConfigError, load_registry
from nianbao.storage import Store
from tests.conftest import run_nianbao

CONFIG_ERROR = "nianbao: config error: "

# A valid registry: every optional field used once, so that each can be broken.
VALID_DOC = {
    "agencies": [
        {"id": "bozhou-mzj", "name": "亳州市民政局", "kind": "department", "region": "安徽省亳州市",
         "start_year": 2012, "sources": ["https://mz.bozhou.gov.cn/content/column/6796481"],
         "domains": ["xxgk.bozhou.gov.cn"], "deadline": "01-28",
         "schedule": {"season_every": "12h"}},
        {"id": "mingguang-gov", "name": "明光市人民政府", "kind": "government", "start_year": 2008,
         "sources": ["http://www.mingguang.gov.cn/xxgk/ndbg/index.html",
                     "http://127.0.0.1:8080/ndbg/"]},
    ],
    "schedule": {"season_months": [1, 2, 3, 4], "season_every": "1d", "off_season_every": "7d",
                 "jitter": "2h"},
}


def dump(document) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def with_agency(index: int, **fields) -> str:
    """VALID_DOC with fields of agency `index` replaced (a value of None removes the field)."""
    document = yaml.safe_load(dump(VALID_DOC))
    entry = document["agencies"][index]
    for name, value in fields.items():
        if value is None:
            entry.pop(name, None)
        else:
            entry[name] = value
    return dump(document)


def with_top(**fields) -> str:
    document = yaml.safe_load(dump(VALID_DOC))
    document.update(fields)
    return dump(document)


def source(url: str | dict) -> str:
    return with_agency(0, sources=[url])


def second_source(url: str | dict) -> str:
    return with_agency(1, sources=["http://www.mingguang.gov.cn/xxgk/", url])


def domain(host: str) -> str:
    return with_agency(0, domains=["xxgk.bozhou.gov.cn", host])


def top_schedule(**fields) -> str:
    return with_top(schedule={**VALID_DOC["schedule"], **fields})


def agency_schedule(**fields) -> str:
    return with_agency(1, schedule=fields)


def raw_registry(tail: str) -> str:
    """The first agency written by hand (for YAML a dump cannot produce), plus `tail`."""
    return textwrap.dedent("""\
        agencies:
          - id: hefei-tjj
            name: 合肥市统计局
            kind: department
            start_year: 2015
            sources: [https://tjj.hefei.gov.cn/xxgk/ndbg/]
        """) + tail


# (id, registry text or bytes, fragments the one-line message must contain)
BAD_CONFIGS = [
    # -- sources: ports ---------------------------------------------------------------------
    ("port-99999", source("http://example.gov.cn:99999/x"),
     ["agency 'bozhou-mzj' (#1)", "field 'sources'", "item 1", "port"]),
    ("port-70000-ip", second_source("https://10.1.2.3:70000/col/ndbg.html"),
     ["agency 'mingguang-gov' (#2)", "field 'sources'", "item 2", "port"]),
    ("port-zero", source("http://xxgk.wuhu.gov.cn:0/"), ["field 'sources'", "port"]),
    ("port-letters", second_source("https://www.ah.gov.cn:8o8o/public/"), ["item 2", "port"]),
    # -- sources: userinfo ------------------------------------------------------------------
    ("userinfo", source("http://user:pass@example.gov.cn/x"),
     ["field 'sources'", "user name or password"]),
    ("userinfo-user-only", second_source("https://admin@www.hefei.gov.cn/xxgk/"),
     ["agency 'mingguang-gov' (#2)", "item 2", "user name or password"]),
    # -- sources: spaces and other characters no URL has -----------------------------------
    ("space-in-host", source("http://exa mple.gov.cn/x"), ["field 'sources'", "space"]),
    ("ideographic-space-after-host", second_source("https://www.gov.cn\u3000/zhengce/"),
     ["item 2", "space"]),
    ("space-in-path", source("http://example.gov.cn/col/ndbg index.html"), ["space", "%20"]),
    ("tab-in-query", second_source("https://sjj.gov.cn/list?page=\t2"), ["item 2", "space"]),
    ("backslash", source("http://example.gov.cn\\xxgk\\ndbg"), ["backslash"]),
    ("zero-width-space", second_source("https://www.ah.gov.cn/nd\u200bbg/"), ["item 2", "space"]),
    ("leading-bom", source("\ufeffhttp://example.gov.cn/x"), ["field 'sources'"]),
    ("bad-percent", source("http://example.gov.cn/a%zzb"), ["%"]),
    ("bad-percent-end", second_source("https://x.ah.gov.cn/ndbg/100%"), ["item 2", "%"]),
    # -- sources: hosts ---------------------------------------------------------------------
    ("empty-label", source("http://example..gov.cn/x"), ["field 'sources'", "host"]),
    ("dash-label", second_source("https://-bad-.chuzhou.gov.cn/"), ["item 2", "host"]),
    ("underscore", source("http://exa_mple.gov.cn/"), ["host"]),
    ("long-label", second_source(f"https://{'x' * 64}.gov.cn/"), ["item 2", "host"]),
    ("long-host", source("http://" + ".".join(["abcdefghij"] * 24) + ".cn/"), ["253"]),
    ("non-ascii-host", source("http://例子.中国/x"), ["xn--fsqu00a.xn--fiqs8s"]),
    ("non-ascii-host-2", second_source("https://政府.政务/ndbg/"), ["item 2", "xn--"]),
    ("bad-ipv4", source("http://999.1.1.1/"), ["field 'sources'", "IP"]),
    ("short-ipv4", second_source("https://10.20.30/ndbg/"), ["item 2", "IP"]),
    ("bad-ipv6", source("http://[::g]/x"), ["field 'sources'"]),
    ("open-ipv6", second_source("https://[2001:db8::1/ndbg"), ["item 2"]),
    ("ipv4-in-brackets", source("http://[127.0.0.1]/"), ["field 'sources'"]),
    # -- sources: not an http(s) URL --------------------------------------------------------
    ("no-host", source("http:///x"), ["field 'sources'", "no host"]),
    ("one-slash", second_source("https:/www.ah.gov.cn/a"), ["item 2", "no host"]),
    ("ftp", source("ftp://example.gov.cn/x"), ["not an http(s) URL"]),
    ("no-scheme", second_source("www.mingguang.gov.cn/xxgk/"), ["item 2", "not an http(s) URL"]),
    ("scheme-relative", source("//example.gov.cn/x"), ["not an http(s) URL"]),
    ("source-number", with_agency(0, sources=[8080]), ["field 'sources'", "item 1", "string"]),
    ("sources-not-list", with_agency(1, sources="http://www.mingguang.gov.cn/"),
     ["agency 'mingguang-gov' (#2)", "field 'sources'"]),
    # -- domains ----------------------------------------------------------------------------
    ("domain-port-out-of-range", domain("xxgk.bozhou.gov.cn:99999"), ["field 'domains'", "item 2", "port"]),
    ("domain-port-not-a-number", domain("xxgk.bozhou.gov.cn:80a"), ["field 'domains'", "port"]),
    ("domain-userinfo", with_agency(1, domains=["user@xxgk.mingguang.gov.cn"]),
     ["agency 'mingguang-gov' (#2)", "field 'domains'", "item 1"]),
    ("domain-space", domain("xx gk.bozhou.gov.cn"), ["field 'domains'"]),
    ("domain-empty-label", with_agency(1, domains=["xxgk..gov.cn"]), ["field 'domains'"]),
    ("domain-not-idna", domain("亳州..政务"), ["field 'domains'", "not a valid host name"]),
    ("domain-bad-ip", with_agency(1, domains=["300.2.3.4"]), ["field 'domains'", "IP"]),
    ("domain-empty", domain(""), ["field 'domains'"]),
    ("domain-newline-in-label", with_agency(1, domains=["xxgk\n.mingguang.gov.cn"]),
     ["field 'domains'", "label"]),
    ("domain-url", with_agency(1, domains=["https://xxgk.mingguang.gov.cn/"]),
     ["field 'domains'", "not a host name"]),
    # -- schedule: zero, negative, out of range, units --------------------------------------
    ("season-every-zero", top_schedule(season_every=0),
     ["top level", "field 'schedule'", "field 'season_every'"]),
    ("off-season-zero-minutes", agency_schedule(off_season_every="0m"),
     ["agency 'mingguang-gov' (#2)", "field 'schedule'", "field 'off_season_every'"]),
    ("season-every-negative", top_schedule(season_every=-5), ["field 'season_every'"]),
    ("off-season-negative-days", agency_schedule(off_season_every="-1d"),
     ["agency 'mingguang-gov' (#2)", "field 'off_season_every'"]),
    ("jitter-negative", top_schedule(jitter=-30), ["field 'jitter'"]),
    ("jitter-negative-hours", agency_schedule(jitter="-2h"), ["field 'jitter'"]),
    ("season-every-sub-second", top_schedule(season_every=0.5), ["field 'season_every'"]),
    ("off-season-tiny", agency_schedule(off_season_every="0.001m"), ["field 'off_season_every'"]),
    ("season-every-400-days", top_schedule(season_every="400d"), ["field 'season_every'"]),
    ("off-season-60-weeks", agency_schedule(off_season_every="60w"), ["field 'off_season_every'"]),
    ("jitter-huge", top_schedule(jitter="99999999999999w"), ["field 'jitter'"]),
    ("jitter-huge-seconds", agency_schedule(jitter=10 ** 20), ["field 'jitter'"]),
    ("jitter-infinite", top_schedule(jitter=float("inf")), ["field 'jitter'"]),
    ("season-every-nan", agency_schedule(season_every=float("nan")), ["field 'season_every'"]),
    ("unit-years", top_schedule(off_season_every="1y"), ["field 'off_season_every'", "duration"]),
    ("unit-words", agency_schedule(season_every="5 min"), ["field 'season_every'", "duration"]),
    ("unit-compound", top_schedule(jitter="1h30m"), ["field 'jitter'", "duration"]),
    ("duration-bool", agency_schedule(jitter=True), ["field 'jitter'"]),
    ("duration-list", top_schedule(season_every=["1d"]), ["field 'season_every'"]),
    ("duration-unicode-digits", agency_schedule(season_every="٦٠m"), ["field 'season_every'"]),
    ("month-zero", top_schedule(season_months=[0, 1]), ["field 'season_months'"]),
    ("month-thirteen", agency_schedule(season_months=[12, 13]), ["field 'season_months'"]),
    ("month-bool", top_schedule(season_months=[True, 2]), ["field 'season_months'"]),
    ("month-text", agency_schedule(season_months=["3"]), ["field 'season_months'"]),
    ("months-scalar", top_schedule(season_months=3), ["field 'season_months'"]),
    ("schedule-unknown", agency_schedule(seasons=[1]), ["field 'schedule'", "field 'seasons'",
                                                        "unknown field"]),
    ("schedule-empty-list", with_top(schedule=[]), ["top level", "field 'schedule'"]),
    ("schedule-zero", with_top(schedule=0), ["top level", "field 'schedule'"]),
    ("schedule-text", with_top(schedule="daily"), ["top level", "field 'schedule'"]),
    ("agency-schedule-list", with_agency(1, schedule=["1d"]), ["field 'schedule'"]),
    ("agency-schedule-text", with_agency(0, schedule="often"), ["field 'schedule'"]),
    # -- other fields: wrong types ----------------------------------------------------------
    ("name-bytes", raw_registry("    notify: []\n").replace("name: 合肥市统计局",
                                                          "name: !!binary 5ZCI6IKl"),
     ["agency 'hefei-tjj' (#1)", "field 'name'"]),
    ("notify-number", with_top(notify=[12345]), ["top level", "field 'notify'"]),
    ("notify-not-list", with_top(notify="json://hooks.example.org/x"), ["field 'notify'", "list"]),
    ("deadline-date", raw_registry("    deadline: 2024-01-31\n"), ["field 'deadline'"]),
    # -- YAML shape -------------------------------------------------------------------------
    ("duplicate-field", raw_registry("    name: 合肥市统计局（重复）\n"), ["line 7", "duplicate", "'name'"]),
    ("duplicate-top-level", raw_registry("schedule: {jitter: 1h}\nschedule: {jitter: 2h}\n"),
     ["line 8", "duplicate", "'schedule'"]),
    ("mixed-top-level-keys", raw_registry("1: one\nzz: two\n"), ["unknown top-level field"]),
    ("top-level-unknown", raw_registry("notfy: []\n"), ["unknown top-level field 'notfy'"]),
    ("nul-character", raw_registry("    region: 合肥\x00\n"), ["line 7", "invalid YAML", "#x0000"]),
    ("bell-character", "agencies:\n  - id: a\x07b\n", ["line 2", "invalid YAML", "#x0007"]),
    ("deep-nesting", "agencies: " + "[" * 3000 + "]" * 3000 + "\n", ["invalid YAML"]),
    ("recursive-alias", raw_registry("  - &x {id: loop, name: *x}\n"),
     ["agency 'loop' (#2)", "field 'name'"]),
    ("empty-file", "", ["empty"]),
    ("comments-only", "# agencies: none yet\n\n   \n", ["empty"]),
    ("top-level-list", "- id: a\n- id: b\n", ["mapping"]),
    ("top-level-scalar", "agencies\n", ["mapping"]),
    ("top-level-null", "null\n", ["mapping"]),
    # -- encodings --------------------------------------------------------------------------
    ("gb18030", dump(VALID_DOC).encode("gb18030"), ["not UTF-8", "line 3"]),
    ("utf-16", dump(VALID_DOC).encode("utf-16"), ["not UTF-8", "line 1"]),
    ("latin-1-byte", b"agencies: []\n# caf\xe9\n", ["not UTF-8", "line 2", "0xe9"]),
    # -- sources written as {url, discover} mappings ------------------------------------------
    ("discover-not-boolean", second_source({"url": "http://www.mingguang.gov.cn/", "discover": "yes please"}),
     ["agency 'mingguang-gov' (#2)", "field 'sources'", "item 2", "'discover'", "true or false"]),
    ("discover-number", source({"url": "https://mz.bozhou.gov.cn/", "discover": 1}),
     ["agency 'bozhou-mzj' (#1)", "field 'sources'", "item 1", "'discover'"]),
    ("source-mapping-without-url", second_source({"discover": True}),
     ["agency 'mingguang-gov' (#2)", "field 'sources'", "item 2", "no 'url'"]),
    ("source-mapping-unknown-key", source({"url": "https://mz.bozhou.gov.cn/", "discovr": True}),
     ["field 'sources'", "item 1", "unknown key 'discovr'"]),
    ("source-mapping-bad-url", second_source({"url": "http://exa mple.gov.cn/", "discover": True}),
     ["agency 'mingguang-gov' (#2)", "field 'sources'", "item 2", "space"]),
    ("source-mapping-url-not-text", source({"url": 8080, "discover": True}),
     ["field 'sources'", "item 1", "string"]),
    ("discover-sources-written", with_agency(0, discover_sources=["https://mz.bozhou.gov.cn/"]),
     ["agency 'bozhou-mzj' (#1)", "discover_sources", "unknown field"]),
]


def write_config(directory: Path, content: str | bytes) -> Path:
    path = directory / "agencies.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def assert_config_error(result, path, fragments=()) -> str:
    """A CliRunner or subprocess result: exit 2, one line on stderr, no traceback."""
    code = getattr(result, "exit_code", getattr(result, "returncode", None))
    stderr = result.stderr
    assert code == 2, (code, stderr, getattr(result, "exception", None))
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    line = lines[0]
    assert line.startswith(CONFIG_ERROR + str(path)), line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


def invoke(*args: str):
    """The CLI in-process (click's own runner: the same code path as `python -m nianbao`)."""
    result = CliRunner().invoke(main, list(args))
    # A crash is an exception the runner caught; an orderly exit is SystemExit.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


def test_the_valid_base_registry_loads(tmp_path):
    registry = load_registry(write_config(tmp_path, dump(VALID_DOC)))
    assert [a.id for a in registry.agencies] == ["bozhou-mzj", "mingguang-gov"]
    assert registry.agencies[1].hosts == {"www.mingguang.gov.cn", "127.0.0.1"}


@pytest.mark.parametrize("content,fragments", [c[1:] for c in BAD_CONFIGS],
                         ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_is_one_line_exit_2_nothing_written(tmp_path, content, fragments):
    path = write_config(tmp_path, content)
    with pytest.raises(ConfigError) as caught:
        load_registry(path)
    message = str(caught.value)
    assert len(message.splitlines()) == 1 and message.startswith(str(path))
    db = tmp_path / "nianbao.db"
    assert_config_error(invoke("check", "--config", str(path), "--db", str(db)), path, fragments)
    assert not db.exists()


# Accepted, and must stay so: refusing these would be crying wolf.
GOOD_VALUES = [
    ("loopback-port", source("http://127.0.0.1:8080/ndbg/")),
    ("ipv6-literal", second_source("http://[::1]:8081/ndbg/")),
    ("single-label-host", source("http://localhost/x")),
    ("upper-case-scheme-and-host", second_source("HTTPS://Www.AH.gov.CN/a?b=1#c")),
    ("punycode-host", source("http://xn--fsqu00a.xn--fiqs8s/ndbg/")),
    ("chinese-path", second_source("https://www.hefei.gov.cn/信息公开/年报/")),
    ("escaped-space", source("http://example.gov.cn/col/ndbg%20index.html")),
    ("highest-port", second_source("https://x.ah.gov.cn:65535/")),
    ("empty-port", source("http://x.ah.gov.cn:/ndbg/")),
    ("domain-ip", domain("127.0.0.1")),
    ("domain-with-port", domain("xxgk.bozhou.gov.cn:8080")),
    ("source-fully-qualified-host", second_source("https://www.anhui.gov.cn./")),
    ("domain-non-ascii-kept-as-idna", domain("亳州.政务")),
    ("domain-upper-case", domain("XXGK.Bozhou.GOV.cn")),
    ("domain-punycode", domain("xn--fsqu00a.xn--fiqs8s")),
    ("jitter-zero-seconds", top_schedule(jitter="0s")),
    ("jitter-zero", agency_schedule(jitter=0)),
    ("seconds-unit", top_schedule(season_every="45s")),
    ("bare-seconds-text", agency_schedule(season_every="90")),
    ("seconds-number", top_schedule(off_season_every=86400)),
    ("fractional-minutes", agency_schedule(season_every="0.05m")),
    ("longest-interval", top_schedule(off_season_every="366d")),
    ("no-season", top_schedule(season_months=[])),
    ("empty-agency-schedule", with_agency(0, schedule={})),
    ("null-top-schedule", with_top(schedule=None)),
    ("no-agencies", "agencies: []\n"),
    ("source-discover", second_source({"url": "http://www.mingguang.gov.cn/", "discover": True})),
    ("source-mapping-discover-false", source({"url": "https://mz.bozhou.gov.cn/", "discover": False})),
    ("source-mapping-url-only", source({"url": "https://mz.bozhou.gov.cn/"})),
    ("utf-8-bom", "\ufeff" + dump(VALID_DOC)),
    ("merge-key-override", raw_registry(
        "  - &base {id: a-one, name: 甲, kind: department, start_year: 2019, sources: ['http://a.cn/']}\n"
        "  - <<: *base\n"
        "    id: a-two\n")),
]


@pytest.mark.parametrize("content", [c[1] for c in GOOD_VALUES], ids=[c[0] for c in GOOD_VALUES])
def test_good_values_still_load(tmp_path, content):
    assert load_registry(write_config(tmp_path, content)).agencies is not None


def test_seconds_are_a_duration_unit(tmp_path):
    registry = load_registry(write_config(tmp_path, agency_schedule(jitter="0s", season_every="45s")))
    schedule = registry.schedule_for(registry.agencies[1])
    assert schedule.jitter.total_seconds() == 0 and schedule.season_every.total_seconds() == 45


# -- the config file itself ------------------------------------------------------------------

def file_cases(tmp_path) -> list[tuple[str, Path, str]]:
    """(id, --config path, fragment) for paths that are not a readable registry file."""
    a_file = write_config(tmp_path, dump(VALID_DOC))
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)
    dangling = tmp_path / "dangling.yaml"
    dangling.symlink_to(tmp_path / "gone.yaml")
    return [
        ("directory", tmp_path, "is a directory"),
        ("other-directory", Path(__file__).parent, "is a directory"),
        ("missing", tmp_path / "nope.yaml", "file not found"),
        ("dangling-symlink", dangling, "file not found"),
        ("under-a-file", a_file / "agencies.yaml", "cannot be read"),
        ("symlink-loop", loop, "cannot be read"),
    ]


def test_config_paths_that_are_not_readable_files(tmp_path):
    db = tmp_path / "x.db"
    for case, path, fragment in file_cases(tmp_path):
        line = assert_config_error(invoke("check", "--config", str(path), "--db", str(db)),
                                   path, [fragment])
        assert not db.exists(), case
        assert "\n" not in line


def test_paths_from_the_environment_get_the_same_checks(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path, dump(VALID_DOC))
    runner = CliRunner(env={"NIANBAO_CONFIG": str(tmp_path), "NIANBAO_DB": str(tmp_path / "x.db")})
    result = runner.invoke(main, ["check"])
    assert_config_error(result, tmp_path, ["is a directory"])
    runner = CliRunner(env={"NIANBAO_CONFIG": str(config), "NIANBAO_DB": str(tmp_path)})
    result = runner.invoke(main, ["check"])
    assert result.exit_code == 2 and "Traceback" not in result.stderr, result.stderr
    assert "'--db'" in result.stderr and "is a directory" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agencies.yaml"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_unreadable_file(tmp_path):
    path = write_config(tmp_path, dump(VALID_DOC))
    path.chmod(0)
    assert_config_error(invoke("check", "--config", str(path), "--db", str(tmp_path / "x.db")),
                        path, ["permission denied"])


def test_directory_as_config_in_a_child_process(tmp_path):
    """The reported traceback (exit 1) came from a real run: check one in a real process."""
    db = tmp_path / "x.db"
    assert_config_error(run_nianbao("check", "--config", str(tmp_path), "--db", str(db)),
                        tmp_path, ["is a directory"])
    assert not db.exists()


def test_port_out_of_range_in_a_child_process(tmp_path):
    # 127.0.0.1: should the port get through, the crawl must not look up a name.
    path = write_config(tmp_path, source("http://127.0.0.1:99999/x"))
    db = tmp_path / "x.db"
    assert_config_error(run_nianbao("crawl", "--config", str(path), "--db", str(db)), path,
                        ["agency 'bozhou-mzj' (#1)", "field 'sources'", "port"])
    assert not db.exists()


# -- options ---------------------------------------------------------------------------------

def option_args(command: str, option: str, value: str, config: Path, db: Path) -> list[str]:
    """The command line: the option under test first, then what keeps a wrong acceptance safe.

    click converts options in the order given, so a value wrongly accepted lets a later guard
    fail instead, naming another option (the test then fails). The guards also make sure that
    no daemon starts and no crawl runs in the test process: a daemon gets an impossible
    --check-at (or --batch-size 0 when --check-at is tested), a crawl an unknown --agency.
    """
    args = [command, option, value]
    if option != "--config":
        args += ["--config", str(config)]
    if option != "--db":
        args += ["--db", str(db)]
    if command == "daemon":
        args += ["--batch-size", "0"] if option == "--check-at" else ["--check-at", "99:99"]
    if command == "crawl":
        args += ["--agency", "no-such-agency"]
    return args


BAD_OPTIONS = [
    # (id, command, option, value)
    *[(f"daemon{option}={value}", "daemon", option, value)
      for option in ("--dispatch-every", "--crawl-timeout", "--stop-grace", "--deliver-every",
                     "--heartbeat-every")
      for value in ("0", "0s", "-1", "-5m", "0.0h", "abc", "nan", "inf", "1e9", "99999999999w",
                    "٦٠")],
    ("daemon-dispatch-tiny", "daemon", "--dispatch-every", "0.01"),
    ("daemon-crawl-timeout-fraction", "daemon", "--crawl-timeout", "0.5"),
    ("daemon-crawl-timeout-month", "daemon", "--crawl-timeout", "30d"),
    ("daemon-heartbeat-day", "daemon", "--heartbeat-every", "1d"),
    ("daemon-stop-grace-day", "daemon", "--stop-grace", "1d"),
    ("daemon-dispatch-week", "daemon", "--dispatch-every", "2w"),
    ("daemon-deliver-week", "daemon", "--deliver-every", "8d"),
    *[(f"daemon{option}={value}", "daemon", option, value)
      for option in ("--batch-size", "--notify-limit")
      for value in ("0", "-3", "1.5", "ten", "100001", "99999999999999999999999")],
    ("daemon-log-level", "daemon", "--log-level", "LOUD"),
    ("daemon-log-level-number", "daemon", "--log-level", "15"),
    ("daemon-check-at-hour", "daemon", "--check-at", "24:00"),
    ("daemon-check-at-no-minutes", "daemon", "--check-at", "6"),
    ("daemon-check-at-unicode", "daemon", "--check-at", "٠٦:٠٠"),
    ("daemon-check-at-signed", "daemon", "--check-at", "+6:00"),
    ("daemon-check-at-newline", "daemon", "--check-at", "06:00\n"),
    ("daemon-crawl-setting-no-name", "daemon", "--crawl-setting", "=5"),
    ("daemon-crawl-setting-no-value", "daemon", "--crawl-setting", "DOWNLOAD_DELAY"),
    ("daemon-crawl-setting-space", "daemon", "--crawl-setting", "DOWNLOAD DELAY=5"),
    ("daemon-crawl-setting-newline", "daemon", "--crawl-setting", "LOG_LEVEL\n=INFO"),
    *[(f"status--stale-after={value}", "status", "--stale-after", value)
      for value in ("0", "0m", "-90", "never", "0.5", "30d")],
    *[(f"notify--limit={value}", "notify", "--limit", value)
      for value in ("0", "-1", "2.5", "100001")],
    ("check-as-of-month", "check", "--as-of", "2024-13-01"),
    ("check-as-of-text", "check", "--as-of", "yesterday"),
    ("crawl-log-level", "crawl", "--log-level", "CHATTY"),
    ("crawl-setting-no-name", "crawl", "-s", "=1"),
    ("crawl-setting-space", "crawl", "-s", "LOG LEVEL=INFO"),
    *[(f"{command}--db=directory", command, "--db", "<dir>")
      for command in ("check", "status", "notify", "crawl", "daemon")],
    *[(f"{command}--db=empty", command, "--db", "")
      for command in ("check", "status", "crawl")],
    *[(f"{command}--config=empty", command, "--config", "")
      for command in ("check", "daemon")],
]


def assert_usage_error(result, option: str) -> None:
    """click's usage error: exit 2, no traceback, one `Error:` line naming the option."""
    assert result.exit_code == 2, (result.exit_code, result.stderr, result.exception)
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert f"'{option}'" in errors[0] or option in errors[0].split(":")[1], errors[0]


@pytest.mark.parametrize("command,option,value", [c[1:] for c in BAD_OPTIONS],
                         ids=[c[0] for c in BAD_OPTIONS])
def test_bad_option_is_a_usage_error_and_writes_nothing(tmp_path, monkeypatch, command, option,
                                                        value):
    monkeypatch.chdir(tmp_path)  # an empty --db or --config must not fall back to ./nianbao.db
    config = write_config(tmp_path, dump(VALID_DOC))
    db = tmp_path / "nianbao.db"
    if value == "<dir>":
        value = str(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = invoke(*option_args(command, option, value, config, db))
    assert_usage_error(result, option)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no db, lock or job store


def test_bad_option_in_a_child_process(tmp_path):
    config = write_config(tmp_path, dump(VALID_DOC))
    db = tmp_path / "nianbao.db"
    result = run_nianbao(*option_args("daemon", "--crawl-timeout", "0", config, db), timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "'--crawl-timeout'" in result.stderr.splitlines()[-1]
    assert not db.exists()


# -- property-based: mutations of the valid registry ------------------------------------------

FIELDS = ("id", "name", "kind", "region", "start_year", "sources", "domains", "deadline",
          "notify", "schedule")
SCHEDULE_FIELDS = ("season_every", "off_season_every", "jitter")
# Scalars and containers that are the wrong type for the field they replace.
NOT_A_STRING = st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(),
                         st.lists(st.integers(), max_size=2), st.binary(min_size=1, max_size=4),
                         st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
WRONG_TYPE = {
    "id": NOT_A_STRING, "name": NOT_A_STRING, "kind": NOT_A_STRING,
    "region": NOT_A_STRING.filter(lambda v: v is not None),
    "start_year": st.one_of(st.integers(max_value=2007), st.integers(min_value=2100),
                            st.text(alphabet="abcxyz年", min_size=1), st.floats(0.1, 0.9).map(
                                lambda f: 2012 + f), st.lists(st.just(2012), min_size=1)),
    "sources": st.one_of(st.just([]), st.integers(), st.text(min_size=1, max_size=20),
                         st.lists(NOT_A_STRING, min_size=1, max_size=2)),
    "domains": st.one_of(st.integers(), st.text(min_size=1, max_size=20),
                         st.lists(NOT_A_STRING, min_size=1, max_size=2)),
    "deadline": st.one_of(NOT_A_STRING, st.sampled_from(["02-29", "13-01", "00-10", "1-32", "0131",
                                                         "Jan 31", ""])),
    "notify": st.one_of(st.integers(min_value=1), st.text(min_size=1, max_size=10),
                        st.lists(st.integers(), min_size=1, max_size=2)),
    "schedule": st.one_of(st.integers(min_value=1), st.text(min_size=1, max_size=10),
                          st.lists(st.integers(), min_size=1, max_size=2)),
}
LABEL = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?\Z")
GOOD_HOST = st.lists(LABEL, min_size=2, max_size=4).map(".".join).filter(
    lambda h: not h.rsplit(".", 1)[1].isdigit())
BAD_HOST = st.one_of(
    # a label with a character no host name has
    st.tuples(LABEL, st.sampled_from(list("_ !$&'()*+,;=~\"<>{}|^`") + ["\u3000", "\u00e9x"]),
              LABEL).map(lambda t: f"{t[0]}{t[1]}{t[2]}.gov.cn"),
    LABEL.map(lambda label: f"-{label}.gov.cn"),
    LABEL.map(lambda label: f"{label}-.gov.cn"),
    LABEL.map(lambda label: f"{label}..gov.cn"),
    LABEL.map(lambda label: f"{label}.gov.cn.."),
    st.integers(64, 80).map(lambda n: "a" * n + ".gov.cn"),
    st.tuples(st.integers(256, 999), st.integers(0, 255)).map(lambda t: f"{t[0]}.{t[1]}.1.1"),
    st.tuples(st.integers(0, 255), st.integers(0, 255)).map(lambda t: f"{t[0]}.{t[1]}.7"),
)
BAD_PORT = st.one_of(st.just("0"), st.integers(65536, 10 ** 7).map(str),
                     st.from_regex(r"\A[0-9]{0,3}[a-zA-Z+-][0-9a-z]{0,3}\Z"))
BAD_URL = st.one_of(
    st.tuples(st.sampled_from(["http", "https"]), BAD_HOST).map(lambda t: f"{t[0]}://{t[1]}/ndbg/"),
    st.tuples(GOOD_HOST, BAD_PORT).map(lambda t: f"http://{t[0]}:{t[1]}/"),
    st.tuples(st.from_regex(r"\A[a-z]{1,6}(:[a-z0-9]{0,6})?\Z"), GOOD_HOST).map(
        lambda t: f"https://{t[0]}@{t[1]}/xxgk/"),
    st.tuples(st.sampled_from(["ftp", "file", "mailto", "javascript", "htp", "ws"]), GOOD_HOST).map(
        lambda t: f"{t[0]}://{t[1]}/"),
    GOOD_HOST.map(lambda h: f"{h}/ndbg/index.html"),  # no scheme
    st.tuples(GOOD_HOST, st.sampled_from([" ", "\t", "\u3000", "\\", "\x7f", "\x00"])).map(
        lambda t: f"http://{t[0]}/nd{t[1]}bg/"),
    st.tuples(GOOD_HOST, st.from_regex(r"\A%([g-z].|.[g-z]|)\Z")).map(
        lambda t: f"http://{t[0]}/a{t[1]}"),
)
# Invalid for every duration field: negative, not a number, too long, no such unit, wrong type.
BAD_DURATION = st.one_of(
    st.integers(max_value=-1), st.floats(max_value=0, exclude_max=True), st.just(float("nan")),
    st.integers(min_value=366 * 86400 + 1), st.sampled_from([float("inf"), float("-inf")]),
    st.tuples(st.sampled_from(["-0", "-1", "-30", "- 5", "+5"]),
              st.sampled_from(["", "s", "m", "h", "d", "w"])).map("".join),
    st.tuples(st.integers(367, 10 ** 16), st.sampled_from(["d", "w"])).map(lambda t: f"{t[0]}{t[1]}"),
    st.tuples(st.integers(1, 99), st.sampled_from(["y", "ms", "min", "H", "D", "秒", "mo"])).map(
        lambda t: f"{t[0]}{t[1]}"),
    st.booleans(), st.lists(st.integers(1, 9), max_size=2),
)
# ... and for the two intervals also zero and anything under a second (a jitter may be 0).
BAD_INTERVAL = st.one_of(
    BAD_DURATION, st.floats(0, 0.99),
    st.tuples(st.sampled_from(["0", "0.0", "0.5", "0.001"]), st.sampled_from(["", "s"])).map(
        "".join),
    st.sampled_from(["0m", "0h", "0.0d", "0w", "0.01m"]),
)
JUNK = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
                    lambda inner: st.one_of(st.lists(inner, max_size=3),
                                            st.dictionaries(st.text(max_size=4), inner, max_size=3)),
                    max_leaves=30)
UNKNOWN_KEY = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).filter(
    lambda k: k not in FIELDS)
INVALID_BYTES = st.sampled_from([b"\xff", b"\xfe", b"\xc0", b"\xc1", b"\xf5", b"\x80", b"\xbf",
                                 b"\xa3"])


@st.composite
def invalid_registry(draw) -> tuple[str, bytes]:
    """(kind of mutation, file content) of a registry that must be refused."""
    document = yaml.safe_load(dump(VALID_DOC))
    agencies = document["agencies"]
    index = draw(st.integers(0, len(agencies) - 1))
    entry = agencies[index]
    kind = draw(st.sampled_from(["wrong-type", "bad-url", "bad-domain", "bad-duration",
                                 "unknown-field", "duplicate-id", "deep-junk", "missing-field",
                                 "non-utf-8", "random-yaml", "junk-agencies"]))
    if kind == "wrong-type":
        field = draw(st.sampled_from(sorted(WRONG_TYPE)))
        entry[field] = draw(WRONG_TYPE[field])
    elif kind == "bad-url":
        sources = list(entry["sources"])
        sources.insert(draw(st.integers(0, len(sources))), draw(BAD_URL))
        entry["sources"] = sources
    elif kind == "bad-domain":
        entry["domains"] = [draw(st.one_of(BAD_HOST, BAD_URL))]
    elif kind == "bad-duration":
        where = draw(st.sampled_from(["top", "agency"]))
        target = document["schedule"] if where == "top" else entry.setdefault("schedule", {})
        field = draw(st.sampled_from(SCHEDULE_FIELDS))
        target[field] = draw(BAD_DURATION if field == "jitter" else BAD_INTERVAL)
    elif kind == "unknown-field":
        target = draw(st.sampled_from(["agency", "top", "schedule"]))
        key = draw(UNKNOWN_KEY.filter(lambda k: k not in ("agencies", "season_months",
                                                          *SCHEDULE_FIELDS)))
        {"agency": entry, "top": document, "schedule": document["schedule"]}[target][key] = \
            draw(JUNK)
    elif kind == "duplicate-id":
        agencies.append({**agencies[index], "name": draw(st.text(min_size=1, max_size=5)
                                                          .filter(str.strip))})
    elif kind == "deep-junk":
        field = draw(st.sampled_from(["name", "kind", "start_year", "sources", "schedule"]))
        depth = draw(st.integers(2, 60))
        value = draw(JUNK.filter(lambda v: isinstance(v, (list, dict)) and v))
        for _ in range(depth):
            value = [value]
        entry[field] = value
    elif kind == "missing-field":
        del entry[draw(st.sampled_from(["id", "name", "kind", "start_year", "sources"]))]
    text = dump(document)
    if kind == "non-utf-8":
        data = text.encode("utf-8")
        at = draw(st.integers(0, len(data)))
        return kind, data[:at] + draw(INVALID_BYTES) + data[at:]
    if kind == "random-yaml":
        # Any text: it cannot be a registry without an `agencies` key.
        text = draw(st.one_of(st.text(max_size=60), JUNK.map(dump)).filter(
            lambda t: "agencies" not in t))
    if kind == "junk-agencies":
        junk = draw(st.lists(JUNK.filter(lambda v: not isinstance(v, dict) or "id" not in v),
                             min_size=1, max_size=3))
        text = dump({"agencies": junk})
    return kind, text.encode("utf-8")


PROPERTY_EXAMPLES = 500
CHILD_PROCESS_EVERY = 100  # every 100th example also runs as `python -m nianbao` (about 1 s each)


def test_mutated_registries_are_refused(tmp_path_factory, record_property):
    work = tmp_path_factory.mktemp("mutations")
    existing_db = work / "existing.db"
    with Store(existing_db):
        pass
    db_bytes = existing_db.read_bytes()
    db_mtime = existing_db.stat().st_mtime_ns
    tried: Counter = Counter()
    distinct: set[str] = set()
    children = 0

    @settings(max_examples=PROPERTY_EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                     HealthCheck.data_too_large])
    @given(invalid_registry(), st.booleans())
    def refused(mutation, use_existing_db):
        nonlocal children
        kind, content = mutation
        digest = hashlib.sha256(content).hexdigest()[:16]
        path = work / f"{digest}.yaml"
        path.write_bytes(content)
        db = existing_db if use_existing_db else work / f"{digest}.db"
        args = ("check", "--config", str(path), "--db", str(db))
        if (len(distinct) + 1) % CHILD_PROCESS_EVERY == 0 and digest not in distinct:
            result = run_nianbao(*args, timeout=60)
            children += 1
        else:
            result = invoke(*args)
        assert_config_error(result, path)
        if use_existing_db:
            assert existing_db.read_bytes() == db_bytes
            assert existing_db.stat().st_mtime_ns == db_mtime
        else:
            assert not db.exists()
        tried[kind] += 1
        distinct.add(digest)

    refused()
    record_property("invalid_configs_tried", len(distinct))
    print(f"\ninvalid configs tried: {len(distinct)} distinct ({sum(tried.values())} runs, "
          f"{children} in child processes): {dict(sorted(tried.items()))}")
    assert len(distinct) >= PROPERTY_EXAMPLES * 0.8
    assert children >= 3
    assert all(tried[kind] for kind in ("wrong-type", "bad-url", "bad-domain", "bad-duration",
                                        "unknown-field", "duplicate-id", "deep-junk",
                                        "non-utf-8", "random-yaml"))


# -- property-based: invalid option values --------------------------------------------------

DURATION_OPTIONS = {"daemon": ["--dispatch-every", "--crawl-timeout", "--stop-grace",
                               "--deliver-every", "--heartbeat-every"],
                    "status": ["--stale-after"]}
COUNT_OPTIONS = {"daemon": ["--batch-size", "--notify-limit"], "notify": ["--limit"]}
BAD_DURATION_TEXT = st.one_of(
    st.tuples(st.sampled_from(["0", "0.0", "00", "-1", "-0.5", "-7"]),
              st.sampled_from(["", "s", "m", "h", "d", "w"])).map("".join),
    st.tuples(st.integers(31, 10 ** 12), st.sampled_from(["d", "w"])).map(lambda t: f"{t[0]}{t[1]}"),
    st.from_regex(r"\A[a-zA-Z][a-zA-Z0-9 ]{0,8}\Z"),
    st.sampled_from(["nan", "inf", "-inf", "1e3", "1_000", "0x10", "1h30m", "", " "]),
)
BAD_COUNT_TEXT = st.one_of(st.integers(max_value=0).map(str), st.integers(100001).map(str),
                           st.floats(0.1, 1000).filter(lambda f: not f.is_integer()).map(str),
                           st.from_regex(r"\A[a-zA-Z][a-zA-Z0-9]{0,6}\Z"))


@st.composite
def invalid_option(draw) -> tuple[str, str, str]:
    if draw(st.booleans()):
        command = draw(st.sampled_from(sorted(DURATION_OPTIONS)))
        return command, draw(st.sampled_from(DURATION_OPTIONS[command])), draw(BAD_DURATION_TEXT)
    command = draw(st.sampled_from(sorted(COUNT_OPTIONS)))
    return command, draw(st.sampled_from(COUNT_OPTIONS[command])), draw(BAD_COUNT_TEXT)


OPTION_EXAMPLES = 500


def test_invalid_option_values_are_refused(tmp_path_factory, monkeypatch, record_property):
    work = tmp_path_factory.mktemp("options")
    monkeypatch.chdir(work)
    config = write_config(work, dump(VALID_DOC))
    db = work / "nianbao.db"
    tried: set[tuple[str, str, str]] = set()

    @settings(max_examples=OPTION_EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(invalid_option())
    def refused(case):
        command, option, value = case
        assert_usage_error(invoke(*option_args(command, option, value, config, db)), option)
        assert not db.exists()
        tried.add(case)

    refused()
    record_property("invalid_options_tried", len(tried))
    print(f"\ninvalid option values tried: {len(tried)} distinct")
    assert len(tried) >= OPTION_EXAMPLES * 0.5
