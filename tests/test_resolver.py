"""The resolver's check of an answer (crawler/resolver.py): which names may resolve to which
addresses. Its place in a real crawl (the connection's own lookup) is tested in
tests/test_crawl_origins.py."""

from __future__ import annotations

import pytest

from nianbao.crawler.resolver import address_refusal


@pytest.mark.parametrize("name,address,expected", [
    ("www.example-gov.cn", "127.0.0.1", None),  # named in the configuration: as given
    ("WWW.Example-Gov.CN.", "10.0.0.7", None),
    ("intranet.example-gov.cn", "127.0.0.2",
     "private address 127.0.0.2 (loopback) for intranet.example-gov.cn, a host not named in the configuration"),
    ("files.b.gov.cn", "192.168.0.10",
     "private address 192.168.0.10 (private) for files.b.gov.cn, a host not named in the configuration"),
    ("files.b.gov.cn", "202.96.134.133", None),
])
def test_address_refusal_of_resolved_names(name, address, expected):
    assert address_refusal(name, address, {"www.example-gov.cn"}) == expected
