"""The agency registry: valid files load; each kind of mistake is one line naming file, agency, field."""

from __future__ import annotations

import textwrap

import pytest

from nianbao.config.registry import ConfigError, load_registry, resolve_config_path
from tests.conftest import run_nianbao

VALID = """\
agencies:
  - id: bozhou-mzj
    name: 亳州市民政局
    kind: department
    region: 安徽省亳州市
    start_year: 2012
    sources:
      - https://example.gov.cn/col/col1422/index.html
  - id: mingguang-gov
    name: 明光市人民政府
    kind: government
    start_year: 2008
    sources: [https://www.mingguang.gov.cn/xxgk/ndbg/index.html]
    domains: [xxgk.mingguang.gov.cn]
"""


def write(tmp_path, text: str):
    path = tmp_path / "agencies.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_valid_registry_loads_in_file_order(tmp_path):
    registry = load_registry(write(tmp_path, VALID))
    assert [a.id for a in registry.agencies] == ["bozhou-mzj", "mingguang-gov"]
    first, second = registry.agencies
    assert first.region == "安徽省亳州市" and second.region is None
    assert first.sources == ("https://example.gov.cn/col/col1422/index.html",)
    assert second.hosts == {"www.mingguang.gov.cn", "xxgk.mingguang.gov.cn"}
    assert registry.select(["mingguang-gov"]) == (second,)
    with pytest.raises(ConfigError, match="no agency with id 'nope'"):
        registry.select(["nope"])


BAD_CASES = [
    # (id, yaml replacing the first agency's field, expected message fragments)
    ("bad-id", VALID.replace("id: bozhou-mzj", "id: Bozhou_MZJ"), ["agency 'Bozhou_MZJ' (#1)", "field 'id'", "[a-z0-9-]+"]),
    ("bad-kind", VALID.replace("kind: department", "kind: bureau"), ["agency 'bozhou-mzj' (#1)", "field 'kind'"]),
    ("missing-name", VALID.replace("    name: 亳州市民政局\n", ""), ["agency 'bozhou-mzj' (#1)", "field 'name'", "missing"]),
    ("missing-id", VALID.replace("  - id: mingguang-gov\n    name", "  - name"), ["agency #2", "field 'id'", "missing"]),
    ("year-text", VALID.replace("start_year: 2012", "start_year: twenty"), ["agency 'bozhou-mzj' (#1)", "field 'start_year'"]),
    ("year-range", VALID.replace("start_year: 2012", "start_year: 1949"), ["field 'start_year'", "between"]),
    ("no-sources", VALID.replace("    sources:\n      - https://example.gov.cn/col/col1422/index.html\n", "    sources: []\n"), ["agency 'bozhou-mzj' (#1)", "field 'sources'"]),
    ("bad-domain", VALID.replace("domains: [xxgk.mingguang.gov.cn]", "domains: [https://xxgk.mingguang.gov.cn/]"), ["agency 'mingguang-gov' (#2)", "field 'domains'", "not a host name"]),
    ("bad-deadline", VALID.replace("start_year: 2008", "start_year: 2008\n    deadline: 02-30"), ["agency 'mingguang-gov' (#2)", "field 'deadline'", "MM-DD"]),
    ("bad-notify", VALID.replace("start_year: 2008", "start_year: 2008\n    notify: [not-a-url]"), ["field 'notify'", "apprise"]),
    ("bad-schedule", VALID.replace("start_year: 2008", "start_year: 2008\n    schedule: {season_every: often}"), ["field 'schedule'", "duration"]),
    ("bad-url", VALID.replace("https://example.gov.cn/col", "ftp://example.gov.cn/col"), ["field 'sources'", "not an http(s) URL"]),
    ("unknown-field", VALID.replace("start_year: 2012", "start_yaer: 2012"), ["agency 'bozhou-mzj' (#1)", "field 'start_yaer'", "unknown field"]),
    ("duplicate", VALID.replace("id: mingguang-gov", "id: bozhou-mzj"), ["agency 'bozhou-mzj' (#2)", "field 'id'", "duplicate of agency #1"]),
    ("not-a-list", "agencies: {a: 1}\n", ["field 'agencies' must be a list"]),
    ("no-agencies", "sites: []\n", ["'agencies' list"]),
    ("yaml-syntax", "agencies:\n  - id: [unclosed\n", ["line", "invalid YAML"]),
    ("entry-not-mapping", "agencies:\n  - just-a-string\n", ["agency #1", "must be a mapping"]),
]


@pytest.mark.parametrize("text,fragments", [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES])
def test_bad_registry_names_file_agency_and_field(tmp_path, text, fragments):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_registry(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    for fragment in fragments:
        assert fragment in message


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_registry(tmp_path / "nope.yaml")


def test_cli_exits_2_with_one_line(tmp_path):
    path = write(tmp_path, VALID.replace("kind: department", "kind: bureau"))
    result = run_nianbao("crawl", "--config", str(path), "--db", str(tmp_path / "x.db"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert str(path) in lines[0] and "bozhou-mzj" in lines[0] and "'kind'" in lines[0]
    assert not (tmp_path / "x.db").exists()


def test_cli_unknown_agency_exits_2(tmp_path):
    path = write(tmp_path, VALID)
    result = run_nianbao("crawl", "--config", str(path), "--db", str(tmp_path / "x.db"), "--agency", "nope")
    assert result.returncode == 2
    assert "no agency with id 'nope'" in result.stderr


def test_config_path_resolution(monkeypatch, tmp_path):
    monkeypatch.delenv("NIANBAO_CONFIG", raising=False)
    assert str(resolve_config_path(None)) == "config/agencies.yaml"
    monkeypatch.setenv("NIANBAO_CONFIG", str(tmp_path / "env.yaml"))
    assert resolve_config_path(None) == tmp_path / "env.yaml"
    assert str(resolve_config_path("cli.yaml")) == "cli.yaml"


def test_shipped_registry_is_valid():
    from tests.conftest import REPO

    assert load_registry(REPO / "config" / "agencies.yaml").agencies


def test_a_source_may_ask_for_discovery(tmp_path):
    """`{url, discover: true}` is a source to discover from; plain URLs and `{url}` stay listings."""
    path = tmp_path / "agencies.yaml"
    path.write_text(
        "agencies:\n"
        "  - id: a-one\n    name: 甲\n    kind: department\n    start_year: 2019\n"
        "    sources:\n"
        "      - http://a.cn/col/ndbg/\n"
        "      - {url: 'http://www.a.cn/', discover: true}\n"
        "      - url: http://xxgk.a.cn/\n"
        "        discover: false\n", encoding="utf-8")
    agency = load_registry(path).agencies[0]
    assert agency.sources == ("http://a.cn/col/ndbg/", "http://www.a.cn/", "http://xxgk.a.cn/")
    assert agency.discover_sources == ("http://www.a.cn/",)
    assert agency.hosts >= {"a.cn", "www.a.cn", "xxgk.a.cn"}
