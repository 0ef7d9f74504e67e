"""Whose report is it: match an issuer named in a report to an agency of the registry.

Annual-report columns host other agencies' reports: a development zone lists the city's and
the region's reports next to its own, a department its government's. A report names its
issuer at the start of its title or in its first lines (crawler/issuer.py reads it); this
module says which registry agency that name is, so that the report counts toward that
agency's coverage (`reports.counts_for`) and not the host's.

Names are matched as *places* plus a *body*, both learnt from the registry itself (its
agencies' names and regions), never from a list of strings:

- a place is a chain of regions, e.g. (广西壮族自治区, 南宁市, 经济技术开发区); the chain of an
  agency comes from its `region` ("广西壮族自治区南宁市") and, for a government-like agency
  (人民政府, 管理委员会, 办事处...), from its own name ("南宁经济技术开发区管理委员会" adds the
  zone). Each place is known by its full name and its short form (南宁市 / 南宁; 广西壮族自治区
  / 广西), and a place below another also by its name without the parent's short form
  (南宁经济技术开发区 = 南宁市经济技术开发区 under 南宁市): a zone's own title often starts with
  its city's name, which is then a prefix of the zone, not the city's report;
- the body is what follows the places: a government (人民政府, 政府, 管委会, 本级 or nothing:
  "南宁市2019年..." is the city's report) or a department (民政局, 政府办公室...), with the
  usual variants folded (人民政府办公室 = 政府办公室, 委员会 = 委, 政府办 = 政府办公室);
- a name may leave its places out or say them relatively: "住建局" or "市民政局" or "市本级"
  on a county department's site mean the host's own places (市 = the host's city).

An issuer matches an agency when places and body are equal, else when its body is an
abbreviation of the agency's (住建局 for 住房和城乡建设局: same first and last character, the
characters in order) under the same places. Ties go to the host, then to the agency whose
places share the most with the host's; a name that stays ambiguous or matches no agency is
outside the registry (`counts_for` NULL). Issuers are expected in simplified Chinese (the
crawler converts them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

# The 34 provincial-level divisions with the short names titles use. A region string or an
# issuer may start with one even when no agency of the registry lies there.
PROVINCES = {
    "北京市": "北京", "天津市": "天津", "上海市": "上海", "重庆市": "重庆",
    "河北省": "河北", "山西省": "山西", "辽宁省": "辽宁", "吉林省": "吉林", "黑龙江省": "黑龙江",
    "江苏省": "江苏", "浙江省": "浙江", "安徽省": "安徽", "福建省": "福建", "江西省": "江西",
    "山东省": "山东", "河南省": "河南", "湖北省": "湖北", "湖南省": "湖南", "广东省": "广东",
    "海南省": "海南", "四川省": "四川", "贵州省": "贵州", "云南省": "云南", "陕西省": "陕西",
    "甘肃省": "甘肃", "青海省": "青海", "台湾省": "台湾",
    "内蒙古自治区": "内蒙古", "广西壮族自治区": "广西", "西藏自治区": "西藏",
    "宁夏回族自治区": "宁夏", "新疆维吾尔自治区": "新疆",
    "香港特别行政区": "香港", "澳门特别行政区": "澳门",
}
# What a region's name ends with, longest first (a place is at least two characters).
LEVEL_SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "自治旗", "经济技术开发区",
                  "高新技术产业开发区", "开发区", "高新区", "新区", "园区", "示范区", "试验区",
                  "保税区", "合作区", "地区", "街道", "苏木", "省", "市", "县", "区", "旗", "镇",
                  "乡", "盟")
# Relative level words: "市民政局" on a county department's site is the host's city's.
RELATIVE_LEVELS = ("自治区", "省", "市", "州", "县", "区", "旗", "镇", "乡", "街道")
# Names of a place's government: what follows the place in a government-like agency's name.
GOVERNMENT_BODIES = ("人民政府", "政府", "管理委员会", "管委会", "行政公署", "街道办事处",
                     "办事处", "本级", "")
GOVERNMENT = "<government>"  # the body of a place's government, once folded
# The office that publishes a government's report (its 办公室/办公厅), once folded: the same
# report as the government's own, whichever of the two a registry names.
GOVERNMENT_OFFICES = (GOVERNMENT, "政府办公室", "政府办公厅")
# How a report names its own publisher without a name.
SELF_NAMES = frozenset({"本机关", "本单位", "本部门", "本局", "我局", "本委", "我委", "本办", "我办",
                        "本厅", "我厅", "本院", "我院", "本行政机关"})
# Words of a body folded to one form before comparing.
_BODY_FOLDS = (
    (re.compile(r"人民政府(?=办公厅|办公室|办$)"), "政府"),
    (re.compile(r"政府办$"), "政府办公室"),
    (re.compile(r"委员会$"), "委"),
)
_NOT_NAME = re.compile(r"[^\u3400-\u9fff0-9A-Za-z]")
MAX_PLACE = 20  # characters: no place name is longer


class AgencyLike(Protocol):
    id: str
    name: str
    kind: str
    region: str | None


Chain = tuple[str, ...]


def squeeze(name: str) -> str:
    """The name without spaces, punctuation and brackets (（本级） -> 本级)."""
    return _NOT_NAME.sub("", name or "")


def short_form(place: str) -> str | None:
    """南宁市 -> 南宁, 广西壮族自治区 -> 广西; None when nothing of two characters is left."""
    if place in PROVINCES:
        return PROVINCES[place]
    for suffix in ("自治县", "自治州", "自治旗", "特别行政区", "地区", "街道", "省", "市", "县", "区", "旗", "镇", "乡", "盟"):
        if place.endswith(suffix) and len(place) - len(suffix) >= 2:
            return place[: -len(suffix)]
    return None


def parse_region(region: str | None) -> Chain:
    """'广西壮族自治区南宁市' -> ('广西壮族自治区', '南宁市'): the finest split in which every
    piece ends with a level suffix (新乡市 stays whole: '新乡' + '市' leaves '市' alone).
    A string that does not split so is one place."""
    text = squeeze(region or "")
    if not text:
        return ()
    memo: dict[int, Chain | None] = {}

    def split(start: int) -> Chain | None:
        if start == len(text):
            return ()
        if start in memo:
            return memo[start]
        result = None
        for end in range(start + 2, min(len(text), start + MAX_PLACE) + 1):
            piece = text[start:end]
            if piece.endswith(LEVEL_SUFFIXES) or piece in PROVINCES:
                rest = split(end)
                if rest is not None:
                    result = (piece, *rest)
                    break
        memo[start] = result
        return result

    return split(0) or (text,)


def fold_body(body: str) -> str:
    """The body of a name in its compared form: GOVERNMENT for a place's government."""
    body = re.sub(r"^(?:[省市县区旗镇乡]|自治区)?本级", "本级", body)
    if body in GOVERNMENT_BODIES:
        return GOVERNMENT
    for pattern, replacement in _BODY_FOLDS:
        body = pattern.sub(replacement, body)
    return body


def is_abbreviation(short: str, full: str) -> bool:
    """住建局 of 住房和城乡建设局, 发改委 of 发展和改革委: same first and last character, the
    characters of `short` in order in `full`."""
    if len(short) < 2 or len(short) >= len(full) or short[0] != full[0] or short[-1] != full[-1]:
        return False
    rest = iter(full)
    return all(ch in rest for ch in short)


@dataclass(frozen=True)
class Parsed:
    """One reading of a name: its places (a chain) and its folded body."""

    chain: Chain
    body: str


@dataclass(frozen=True)
class Resolution:
    """Which registry agency an issuer's report counts for, and why (for people).

    counts_for: the agency id, None when the issuer is outside the registry (or ambiguous).
    how: 'host' (no issuer named, or the host named), 'name' (places and body equal),
    'abbreviation', 'outside' or 'ambiguous'.
    """

    counts_for: str | None
    how: str
    issuer: str | None = None


class Gazetteer:
    """The places the registry knows, by every name a title may give them.

    A name is read first as a place near the one it is read for (a child of the host's places
    or of their parents: 朝阳区 on a Changchun site is Changchun's), and only then anywhere
    (where a name such as 城关镇 may be hundreds of places). Lookups are dictionary hits, so an
    index of 150,000 agencies reads a name in microseconds.
    """

    def __init__(self) -> None:
        self.chains: set[Chain] = set()
        self._names: dict[str, set[Chain]] = {}  # a name anywhere -> the places it may be
        self._children: dict[tuple[Chain, str], Chain] = {}  # (parent, name under it) -> place
        self._by_last: dict[str, set[Chain]] = {}  # a place's own name -> its chains

    def add(self, chain: Chain) -> None:
        for depth in range(1, len(chain) + 1):
            place = chain[:depth]
            if place in self.chains:
                continue
            self.chains.add(place)
            name, parent = place[-1], place[:-1]
            self._by_last.setdefault(name, set()).add(place)
            forms = {name, short_form(name)} - {None}
            if parent:
                # 南宁经济技术开发区 under 南宁市 is also 经济技术开发区 (after 南宁市 was read)
                # and 南宁市经济技术开发区
                for prefix in (short_form(parent[-1]), parent[-1]):
                    if prefix and name.startswith(prefix) and len(name) - len(prefix) >= 2:
                        bare = name[len(prefix):]
                        self._children.setdefault((parent, bare), place)
                        forms |= {parent[-1] + bare}
            for form in forms:
                self._children.setdefault((parent, form), place)
                self._names.setdefault(form, set()).add(place)

    def canonical(self, chain: Chain) -> Chain:
        """A chain that does not start at a province, completed when one longer known chain
        ends the same way (a region '南宁市' when another agency says '广西壮族自治区南宁市')."""
        if not chain or chain[0] in PROVINCES:
            return chain
        longer = {c for c in self._by_last.get(chain[-1], ())
                  if len(c) > len(chain) and c[-len(chain):] == chain}
        longest = {c for c in longer if not any(len(o) > len(c) and o[-len(c):] == c for o in longer)}
        return longest.pop() if len(longest) == 1 else chain

    def read_places(self, text: str, near: Chain = ()) -> list[tuple[Chain, int]]:
        """The places `text` starts with, read near the places `near` (the host's, or the
        agency's region): (chain, characters read), longest reading first; [((), 0)] when it
        starts with none. Several readings only for a first name that is ambiguous."""
        readings = []
        for chain, used in self._first_places(text, near):
            while (found := self._next_place(chain, text, used)) is not None:
                chain, used = found
            readings.append((chain, used))
        readings.sort(key=lambda r: -r[1])
        return readings or [((), 0)]

    def _child_at(self, parent: Chain, text: str, start: int) -> tuple[Chain, int] | None:
        for end in range(min(len(text), start + MAX_PLACE), start + 1, -1):
            place = self._children.get((parent, text[start:end]))
            if place is not None:
                return place, end
        return None

    def _first_places(self, text: str, near: Chain) -> list[tuple[Chain, int]]:
        for depth in range(len(near), -1, -1):  # the nearest place of that name first
            found = self._child_at(near[:depth], text, 0)
            if found:
                return [found]
        for end in range(min(len(text), MAX_PLACE), 1, -1):
            piece = text[:end]
            if piece in self._names:
                return [(place, end) for place in sorted(self._names[piece])]
            full = next((k for k, v in PROVINCES.items() if piece in (k, v)), None)
            if full:  # a province no agency of the registry lies in
                return [((full,), end)]
        return []

    def _next_place(self, chain: Chain, text: str, start: int) -> tuple[Chain, int] | None:
        found = self._child_at(chain, text, start)
        if found:
            return found
        # a place further down, its parents left out ('广西壮族自治区南宁经济技术开发区')
        for end in range(min(len(text), start + MAX_PLACE), start + 1, -1):
            inside = sorted(p for p in self._names.get(text[start:end], ())
                            if len(p) > len(chain) and p[: len(chain)] == chain)
            if inside:
                return (inside[0], end) if len(inside) == 1 else None
        return None


def _is_government_like(agency: AgencyLike) -> bool:
    name = squeeze(agency.name)
    return any(name.endswith(body) for body in GOVERNMENT_BODIES if body and body != "本级")


def _government_place(name: str) -> str:
    for body in sorted((b for b in GOVERNMENT_BODIES if b), key=len, reverse=True):
        if name.endswith(body):
            return name[: -len(body)]
    return name


class IssuerIndex:
    """The registry's agencies keyed by (places, body); `resolve` says whose a report is."""

    def __init__(self, agencies: Iterable[AgencyLike]):
        self.agencies = {a.id: a for a in agencies}
        self.gazetteer = Gazetteer()
        regions = {a.id: parse_region(a.region) for a in self.agencies.values()}
        for chain in regions.values():
            self.gazetteer.add(chain)
        # A government-like agency names its own place: 南宁经济技术开发区管理委员会 adds the
        # zone under its region's chain.
        for agency in self.agencies.values():
            if _is_government_like(agency):
                place = _government_place(squeeze(agency.name))
                chain = self._place_under(place, regions[agency.id])
                if chain:
                    self.gazetteer.add(chain)
        self.keys: dict[str, Parsed] = {}
        self._by_key: dict[Parsed, list[str]] = {}
        for agency in self.agencies.values():
            key = self._agency_key(agency, regions[agency.id])
            self.keys[agency.id] = key
            self._by_key.setdefault(key, []).append(agency.id)
        # For abbreviations: the departments of each place, the governments of each place and
        # of the places right below it.
        self._near: dict[Chain, list[Parsed]] = {}
        for key in self._by_key:
            self._near.setdefault(key.chain, []).append(key)
            if key.body == GOVERNMENT and key.chain:
                self._near.setdefault(key.chain[:-1], []).append(key)

    # -- building ----------------------------------------------------------------------------

    def _place_under(self, place: str, region: Chain) -> Chain:
        """The chain of a government's place name read within its region's chain; a place the
        region does not name yet (the zone of a 管委会) lies below the region."""
        if not place:
            return region
        for chain, used in self.gazetteer.read_places(place, region):
            if used == len(place) and (not region or _related(chain, region)):
                return chain if len(chain) >= len(region) else region
        return (*region, place)

    def _agency_key(self, agency: AgencyLike, region: Chain) -> Parsed:
        name = squeeze(agency.name)
        if _is_government_like(agency):
            chain = self._place_under(_government_place(name), region)
            return Parsed(self.gazetteer.canonical(chain), GOVERNMENT)
        for chain, used in self.gazetteer.read_places(name, region):
            if used and _body_ok(name[used:]) and (not region or _related(chain, region)):
                return Parsed(self.gazetteer.canonical(chain if len(chain) >= len(region) else region),
                              fold_body(name[used:]))
        return Parsed(self.gazetteer.canonical(region), fold_body(name))

    # -- reading an issuer -------------------------------------------------------------------

    def readings(self, issuer: str, host: Chain) -> list[Parsed]:
        """Every way to read `issuer` on a site whose places are `host`: places it names, or
        the host's own places (relative words such as 市 resolved against them)."""
        text = squeeze(issuer)
        found: list[Parsed] = []
        for chain, used in self.gazetteer.read_places(text, host):
            if used and _body_ok(text[used:]):
                found.append(Parsed(self.gazetteer.canonical(chain), fold_body(text[used:])))
        if not found:
            # 市民政局 / 自治区人民政府办公厅 / 县本级: the host's city, region, county
            for level in RELATIVE_LEVELS:
                if text.startswith(level) and _body_ok(text[len(level):]):
                    upto = next((i for i in range(len(host) - 1, -1, -1)
                                 if host[i].endswith(level)), None)
                    if upto is not None:
                        found.append(Parsed(host[: upto + 1], fold_body(text[len(level):])))
        # Last, the name as a body of the host's own places ('住建局'; also '公安局' where a
        # 公安县 is known, or '市场监督管理局', which is no 市 + 场监督管理局).
        found.append(Parsed(host, fold_body(text)))
        return found

    def resolve(self, host_id: str, issuer: str | None) -> Resolution:
        """The agency a report found on `host_id`'s site and naming `issuer` counts for.

        No issuer (or one naming the host) -> the host. An issuer that names another registry
        agency -> that agency. Anything else -> None: outside the registry.
        """
        if not issuer or not squeeze(issuer):
            return Resolution(host_id, "host", issuer)
        host_key = self.keys.get(host_id)
        host_chain = host_key.chain if host_key else ()
        readings = self.readings(issuer, host_chain)
        for how in ("name", "abbreviation"):
            matches: set[str] = set()
            for reading in readings:
                matches.update(self._matches(reading, how))
            if host_id in matches:
                return Resolution(host_id, "host", issuer)
            if len(matches) == 1:
                return Resolution(matches.pop(), how, issuer)
            if matches:
                best = self._nearest(matches, host_chain)
                return Resolution(best, how, issuer) if best else Resolution(None, "ambiguous", issuer)
        if host_key is not None and self._names_the_host(readings, host_key):
            return Resolution(host_id, "host", issuer)
        office = self._government_office(readings)
        if office is not None:
            return Resolution(office, "office", issuer)
        return Resolution(None, "outside", issuer)

    def _government_office(self, readings: list[Parsed]) -> str | None:
        """A place's government (or its office) named where the registry lists that place's
        government, kind 'government', under the other name: 人民政府 and its 办公室/办公厅
        publish one report. (An office registered as a department has reports of its own.)"""
        for reading in readings:
            if reading.body not in GOVERNMENT_OFFICES:
                continue
            ids = [agency_id for body in GOVERNMENT_OFFICES if body != reading.body
                   for agency_id in self._by_key.get(Parsed(reading.chain, body), ())
                   if self.agencies[agency_id].kind == "government"]
            if len(ids) == 1:
                return ids[0]
        return None

    @staticmethod
    def _names_the_host(readings: list[Parsed], host: Parsed) -> bool:
        """A name the index could not place, which still names the host: a false 'outside'
        would take the host's own report from it (a false `missing`, the worst finding), so
        when in doubt between the host and nobody, the host. In the host's own places: a
        self-reference (本机关), the host's body with a sub-office after it (民政局办公室,
        住建局机关) or before it cut short, or the government and its office (人民政府 and
        人民政府办公室/办公厅 publish one report)."""
        for reading in readings:
            if reading.chain != host.chain:
                continue
            body = reading.body
            if body in SELF_NAMES or body.startswith(host.body) and host.body not in ("", GOVERNMENT):
                return True
            if body in GOVERNMENT_OFFICES and host.body in GOVERNMENT_OFFICES:
                return True
        return False

    def counts_for(self, host_id: str, issuer: str | None) -> str | None:
        return self.resolve(host_id, issuer).counts_for

    def _matches(self, reading: Parsed, how: str) -> list[str]:
        if how == "name":
            return list(self._by_key.get(reading, ()))
        if reading.body == GOVERNMENT:
            return []
        found = []
        for key in self._near.get(reading.chain, ()):
            ids = self._by_key[key]
            if key.body != GOVERNMENT and key.chain == reading.chain:
                same = _abbreviates(reading.body, key.body)
            elif key.body == GOVERNMENT and key.chain and reading.chain in (key.chain, key.chain[:-1]):
                # 南宁经开区 for the government of 南宁经济技术开发区 (read as 南宁 + 经开区), or
                # 经开区管委会 on the zone's own site
                same = _abbreviates(_government_place(reading.body), self._bare(key.chain))
            else:
                same = False
            if same:
                found.extend(ids)
        return found

    @staticmethod
    def _bare(chain: Chain) -> str:
        """A place's name without its parent's name or short form at the start."""
        name = chain[-1]
        for prefix in (chain[-2], short_form(chain[-2])) if len(chain) > 1 else ():
            if prefix and name.startswith(prefix) and len(name) - len(prefix) >= 2:
                return name[len(prefix):]
        return name

    def _nearest(self, ids: set[str], host: Chain) -> str | None:
        def shared(agency_id: str) -> int:
            chain = self.keys[agency_id].chain
            return next((i for i, (a, b) in enumerate(zip(chain, host)) if a != b), min(len(chain), len(host)))
        ranked = sorted(ids, key=shared, reverse=True)
        if len(ranked) > 1 and shared(ranked[0]) == shared(ranked[1]):
            return None
        return ranked[0]


def _body_ok(body: str) -> bool:
    """What follows a place read at a name's start must be a body of two characters or more
    (or nothing): '公安局' is not the place 公安县 + '局'."""
    return len(body) != 1


def _abbreviates(a: str, b: str) -> bool:
    return is_abbreviation(a, b) or is_abbreviation(b, a)


def _related(chain: Chain, region: Chain) -> bool:
    """Does a chain read from a name lie along the agency's region (either one inside the other)?"""
    shorter, longer = sorted((chain, region), key=len)
    return longer[: len(shorter)] == shorter or longer[-len(shorter):] == shorter
