"""Origins: which URLs an agency's configuration allows (config/origins.py), table-driven.

Each class of case has at least two rows that differ in surface details (host, port, scheme,
spelling), so that a fix for one string is not mistaken for a fix of the class.
"""

from __future__ import annotations

import textwrap

import pytest

from nianbao.config.origins import (
    AllowedOrigin, OriginError, OriginPolicy, non_public, normalize_host, scheme_refusal,
)
from nianbao.config.registry import ConfigError, load_registry


def policy(sources=(), domains=()) -> OriginPolicy:
    return OriginPolicy([*map(AllowedOrigin.from_source, sources), *map(AllowedOrigin.from_domain, domains)])


A = ["http://www.a.gov.cn/col/col1/index.html"]
B = ["https://xxgk.b.gov.cn:8443/ndbg/index.shtml"]

CASES = [
    # (id, sources, domains, url, expected refusal or None)
    # same origin, whatever the spelling of the host
    ("same-origin", A, [], "http://www.a.gov.cn/art/2020/1/1/art_1_1.html", None),
    ("same-origin-spelling", B, [], "https://XXGK.B.GOV.CN.:8443/t2020.shtml", None),
    # http <-> https on the default ports: one site
    ("http-to-https", A, [], "https://www.a.gov.cn/x.html", None),
    ("https-to-http-explicit-80", ["https://c.gov.cn/"], [], "http://c.gov.cn:80/x.html", None),
    # another port on a configured host
    ("other-port", A, [], "http://www.a.gov.cn:8080/x.html", "offsite: port 8080 not configured for www.a.gov.cn"),
    ("other-port-explicit-source", B, [], "https://xxgk.b.gov.cn:9443/x", "offsite: port 9443 not configured for xxgk.b.gov.cn"),
    ("default-port-of-explicit-source", B, [], "https://xxgk.b.gov.cn/x", "offsite: port 443 not configured for xxgk.b.gov.cn"),
    # the other scheme on an explicit port is another origin
    ("scheme-swap-explicit-port", ["http://127.0.0.1:8080/list.html"], [], "https://127.0.0.1:8080/x",
     "offsite: https on port 8080 not configured for 127.0.0.1"),
    ("scheme-swap-explicit-port-2", B, [], "http://xxgk.b.gov.cn:8443/x", "offsite: http on port 8443 not configured for xxgk.b.gov.cn"),
    # `domains` entries with and without a port
    ("domain-with-port", A, ["xxgk.a.gov.cn:8081"], "http://xxgk.a.gov.cn:8081/t.html", None),
    ("domain-with-port-either-scheme", A, ["XXGK.A.GOV.CN:8081"], "https://xxgk.a.gov.cn:8081/t.html", None),
    ("domain-with-port-not-default", A, ["xxgk.a.gov.cn:8081"], "http://xxgk.a.gov.cn/t.html",
     "offsite: port 80 not configured for xxgk.a.gov.cn"),
    ("domain-ipv6-with-port", A, ["[::1]:8080"], "http://[::1]:8080/t.html", None),
    ("domain-default-port-written", A, ["zwgk.a.gov.cn:443"], "http://zwgk.a.gov.cn/t.html", None),
    # subdomains of a configured host name, and only those
    ("subdomain", A, ["a.gov.cn"], "http://xxgk.a.gov.cn/t.html", None),
    ("subdomain-of-source-host", B, [], "https://files.xxgk.b.gov.cn:8443/t.pdf", None),
    ("suffix-is-not-subdomain", A, ["a.gov.cn"], "http://evil-a.gov.cn/t.html", "offsite: host evil-a.gov.cn not configured"),
    ("parent-is-not-covered", B, [], "https://b.gov.cn:8443/t.html", "offsite: host b.gov.cn not configured"),
    ("address-has-no-subdomains", ["http://10.1.2.3/list.html"], [], "http://x.10.1.2.3/t.html",
     "offsite: host x.10.1.2.3 not configured"),
    # IDNA: Unicode and punycode spellings are one host
    ("idna-link", ["http://政府.cn/xxgk/"], [], "http://xn--mxtq1m.cn/t.html", None),
    ("idna-config", A, ["XN--MXTQ1M.CN"], "http://政府.CN./t.html", None),
    # other schemes
    ("javascript", A, [], "javascript:void(0)", "scheme: javascript"),
    ("mailto", A, [], "mailto:xxgk@a.gov.cn", "scheme: mailto"),
    ("file", A, [], "file:///etc/passwd", "scheme: file"),
    ("data", A, [], "data:text/html,<h1>x</h1>", "scheme: data"),
    ("ftp-same-host", A, [], "ftp://www.a.gov.cn/pub/2019.pdf", "scheme: ftp"),
    ("tel", B, [], "tel:+86-551-1234567", "scheme: tel"),
    ("upper-case-scheme", B, [], "JavaScript:history.back()", "scheme: javascript"),
    ("websocket", B, [], "wss://xxgk.b.gov.cn:8443/", "scheme: wss"),
    # private addresses written as such, whatever the spelling
    ("rfc1918", A, [], "http://10.0.0.1/admin", "private address 10.0.0.1 (private) is not a configured origin"),
    ("metadata-link-local", B, [], "http://169.254.169.254/latest/meta-data/",
     "private address 169.254.169.254 (link-local) is not a configured origin"),
    ("ipv6-loopback", A, [], "http://[::1]:8080/", "private address ::1 (loopback) is not a configured origin"),
    ("legacy-short", A, [], "http://127.1:8080/", "private address 127.0.0.1 (loopback) is not a configured origin"),
    ("legacy-hex", B, [], "https://0x7f.0.0.1/", "private address 127.0.0.1 (loopback) is not a configured origin"),
    ("legacy-integer", A, [], "http://2130706433/", "private address 127.0.0.1 (loopback) is not a configured origin"),
    ("ipv4-mapped-ipv6", B, [], "http://[::ffff:192.168.1.1]/", "private address 192.168.1.1 (private) is not a configured origin"),
    ("shared-cgnat", A, [], "http://100.64.0.1/", "private address 100.64.0.1 (non-public) is not a configured origin"),
    ("public-address", A, [], "http://8.8.8.8/", "offsite: host 8.8.8.8 not configured"),
    # a configured private address is allowed as given; its other ports are not
    ("configured-loopback", ["http://127.0.0.1:8080/list.html"], [], "http://127.0.0.1:8080/t.html", None),
    ("configured-loopback-legacy-spelling", ["http://127.0.0.1:8080/list.html"], [], "http://127.1:8080/t.html", None),
    ("configured-private", ["http://10.1.2.3/"], [], "https://10.1.2.3/t.html", None),
    ("configured-loopback-other-port", ["http://127.0.0.1:8080/list.html"], [], "http://127.0.0.1:8081/t.html",
     "offsite: port 8081 not configured for 127.0.0.1"),
    # user info: parsers disagree on the host; nothing is followed
    ("userinfo-at-address", A, [], "http://www.a.gov.cn@10.0.0.1/", "bad URL: user info in the address"),
    ("userinfo-credentials", B, [], "https://user:pw@xxgk.b.gov.cn:8443/", "bad URL: user info in the address"),
    # unusable URLs
    ("bad-port", A, [], "http://www.a.gov.cn:99999/", "bad URL: Port out of range 0-65535"),
    ("no-host", B, [], "https:///ndbg/", "bad URL: no host"),
]


@pytest.mark.parametrize("sources,domains,url,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refusal(sources, domains, url, expected):
    refusal = policy(sources, domains).refusal(url)
    assert (str(refusal) if refusal else None) == expected


def test_refusal_kinds_for_stats():
    kinds = {url: policy(A).refusal(url).kind for url in (
        "http://www.a.gov.cn:81/", "mailto:x@a.gov.cn", "http://10.0.0.1/", "http://u@www.a.gov.cn/")}
    assert list(kinds.values()) == ["offsite", "scheme", "private_address", "bad_url"]


def test_union_of_agencies_keeps_each_rule():
    crawl = OriginPolicy.union([policy(A), policy(B, ["files.c.gov.cn:8080"])])
    assert crawl.refusal("https://www.a.gov.cn/x") is None
    assert crawl.refusal("http://files.c.gov.cn:8080/x") is None
    assert str(crawl.refusal("http://files.c.gov.cn/x")) == "offsite: port 80 not configured for files.c.gov.cn"
    assert crawl.named_hosts == {"www.a.gov.cn", "xxgk.b.gov.cn", "files.c.gov.cn"}


@pytest.mark.parametrize("url,expected", [
    ("https://A.gov.cn/x", None), ("http://a.gov.cn", None),
    ("javascript:void(0)", "scheme: javascript"), ("ftp://a.gov.cn/x", "scheme: ftp"), ("about:blank", "scheme: about"),
])
def test_scheme_refusal(url, expected):
    refusal = scheme_refusal(url)
    assert (str(refusal) if refusal else None) == expected


@pytest.mark.parametrize("host,expected", [
    ("WWW.A.GOV.CN.", "www.a.gov.cn"),
    ("Xxgk.B.Gov.Cn", "xxgk.b.gov.cn"),
    ("政府.CN", "xn--mxtq1m.cn"),
    ("ＷＷＷ.政府.cn", "www.xn--mxtq1m.cn"),  # full-width letters (NFKC)
    ("[::1]", "::1"),
    ("0177.0.0.1", "127.0.0.1"),
    ("my_host.a.gov.cn", "my_host.a.gov.cn"),  # not a valid host name, seen on real sites
])
def test_normalize_host(host, expected):
    assert normalize_host(host) == expected


@pytest.mark.parametrize("host", ["", ".", "a..gov.cn", "-a.gov.cn", "a b.gov.cn", "x" * 64 + ".cn"])
def test_normalize_host_rejects_what_is_no_host(host):
    with pytest.raises(OriginError):
        normalize_host(host)


@pytest.mark.parametrize("address,expected", [
    ("127.0.0.1", "loopback"), ("127.0.0.2", "loopback"), ("::1", "loopback"),
    ("10.0.0.1", "private"), ("172.16.5.4", "private"), ("192.168.1.1", "private"), ("fd00::1", "private"),
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
    ("0.0.0.0", "unspecified"), ("224.0.0.1", "multicast"),
    ("100.64.0.1", "non-public"), ("198.18.0.1", "non-public"), ("240.0.0.1", "non-public"),
    ("::ffff:10.0.0.1", "private"),
    ("1.1.1.1", None), ("202.96.134.133", None), ("2400:3200::1", None),
])
def test_non_public(address, expected):
    assert non_public(address) == expected


# --- the registry ---------------------------------------------------------------------------

REGISTRY = """\
agencies:
  - id: a
    name: 示例县人民政府
    kind: government
    start_year: 2015
    sources: [http://www.a.gov.cn:8080/col/col1/index.html]
    domains: {domains}
"""


def load(tmp_path, domains: str):
    path = tmp_path / "agencies.yaml"
    path.write_text(textwrap.dedent(REGISTRY.format(domains=domains)), encoding="utf-8")
    return load_registry(path)


def test_domains_carry_ports_and_are_stored_canonically(tmp_path):
    agency = load(tmp_path, "[XXGK.A.GOV.CN:8081, 政府.cn, 'files.a.gov.cn:80', '[::1]:9000']").agencies[0]
    assert agency.domains == ("xxgk.a.gov.cn:8081", "xn--mxtq1m.cn", "files.a.gov.cn", "[::1]:9000")
    assert agency.hosts == {"www.a.gov.cn", "xxgk.a.gov.cn", "xn--mxtq1m.cn", "files.a.gov.cn", "::1"}
    assert agency.origins.refusal("http://www.a.gov.cn:8080/x") is None
    assert agency.origins.refusal("http://xxgk.a.gov.cn:8081/x") is None
    assert agency.origins.refusal("http://www.a.gov.cn/x") is not None  # the source is on 8080


@pytest.mark.parametrize("domains,fragment", [
    ("['xxgk.a.gov.cn:http']", "invalid port"),
    ("['xxgk.a.gov.cn:0']", "invalid port"),
    ("['xxgk.a.gov.cn:70000']", "invalid port"),
    ("['https://xxgk.a.gov.cn']", "not a host name"),
    ("['xxgk.a.gov.cn/ndbg']", "not a host name"),
    ("['user@xxgk.a.gov.cn']", "not a host name"),
    ("['xxgk..a.gov.cn']", "not a valid host name"),
])
def test_bad_domains_name_the_field(tmp_path, domains, fragment):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, domains)
    message = str(caught.value)
    assert "field 'domains'" in message and fragment in message and "xxgk.example.gov.cn:8080" in message
