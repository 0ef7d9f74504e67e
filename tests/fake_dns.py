"""A resolver for crawl tests: chosen names answer chosen addresses, checked like any other.

Set through settings in the test crawl (TWISTED_DNS_RESOLVER=tests.fake_dns.MappedResolver,
NIANBAO_TEST_DNS='{"www.example-gov.cn": ["127.0.0.1"]}'), so that a public-looking portal
can run on loopback. Only the lookup is replaced: every answer still goes through the real
PublicAddressResolver check. A name with several addresses answers them in turn, the last
one repeating: a name re-pointed between two lookups (DNS rebinding).
"""

from __future__ import annotations

import collections
import json

from twisted.internet import defer

from nianbao.config.origins import normalize_host
from nianbao.crawler.resolver import PublicAddressResolver

SETTING = "NIANBAO_TEST_DNS"


class MappedResolver(PublicAddressResolver):
    mapping: dict[str, list[str]] = {}

    @classmethod
    def from_crawler(cls, crawler, reactor):
        resolver = super().from_crawler(crawler, reactor)
        resolver.mapping = {normalize_host(name): answers
                            for name, answers in json.loads(crawler.settings.get(SETTING) or "{}").items()}
        resolver.asked = collections.Counter()
        return resolver

    def lookup(self, name, timeout=()):
        host = normalize_host(name)
        answers = self.mapping.get(host)
        if answers is None:
            return super().lookup(name, timeout)
        index = min(self.asked[host], len(answers) - 1)
        self.asked[host] += 1
        return defer.succeed(answers[index])
