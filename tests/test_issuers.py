"""Whose report is it: the issuer a title or the first lines name (crawler/issuer.py) and the
registry agency it counts for (config/issuers.py). Tables of real-looking names, against two
registries that differ in every surface detail (province, levels, kinds of agency, names with
and without their region, zones and departments)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from nianbao.config.issuers import IssuerIndex, is_abbreviation, parse_region
from nianbao.crawler.classify import ANNUAL_REPORT, OTHER, classify_title, is_report_link, text_issuer, title_issuer


def agency(id, name, kind, region=None):
    return SimpleNamespace(id=id, name=name, kind=kind, region=region)


# A development zone, its city and the autonomous region (whose government is written with
# the region's full name; the zone's registry name has no 市; one department without region).
GUANGXI = [
    agency("gx-gov", "广西壮族自治区人民政府", "government", "广西壮族自治区"),
    agency("gx-office", "广西壮族自治区人民政府办公厅", "department", "广西壮族自治区"),
    agency("nn-gov", "南宁市人民政府", "government", "广西壮族自治区南宁市"),
    agency("nn-civil", "南宁市民政局", "department", "广西壮族自治区南宁市"),
    agency("nn-zone", "南宁经济技术开发区管理委员会", "government", "广西壮族自治区南宁市"),
    agency("qz-zone", "钦州港经济技术开发区管理委员会", "government", "广西壮族自治区钦州市"),
]
# A county, its departments and a town; a city whose region omits the province; two 朝阳区.
JIANGSU = [
    agency("rd-gov", "如东县人民政府", "government", "江苏省南通市如东县"),
    agency("rd-housing", "如东县住房和城乡建设局", "department", "江苏省南通市如东县"),
    agency("rd-drc", "如东县发展和改革委员会", "department", "江苏省南通市如东县"),
    agency("rd-town", "掘港街道办事处", "government", "江苏省南通市如东县掘港街道"),
    agency("nt-gov", "南通市人民政府", "government", "南通市"),
    agency("xx-gov", "新乡市人民政府", "government", "河南省新乡市"),
    agency("bj-cy", "朝阳区人民政府", "government", "北京市朝阳区"),
    agency("cc-cy", "朝阳区人民政府", "government", "吉林省长春市朝阳区"),
    agency("cc-cy-edu", "朝阳区教育局", "department", "吉林省长春市朝阳区"),
]

# (host, issuer as named, counts for; None = outside the registry)
GUANGXI_CASES = [
    ("nn-zone", None, "nn-zone"),                                   # no issuer: the host's
    ("nn-zone", "南宁经济技术开发区", "nn-zone"),
    ("nn-zone", "南宁市经济技术开发区", "nn-zone"),                  # the city's name as a prefix
    ("nn-zone", "南宁经开区", "nn-zone"),
    ("nn-zone", "经开区管委会", "nn-zone"),
    ("nn-zone", "南宁经济技术开发区管委会", "nn-zone"),
    ("nn-zone", "南宁市", "nn-gov"),                                 # the city's report
    ("nn-zone", "南宁市人民政府", "nn-gov"),
    ("nn-zone", "广西壮族自治区", "gx-gov"),
    ("nn-zone", "广西壮族自治区人民政府", "gx-gov"),
    ("nn-zone", "自治区人民政府", "gx-gov"),                         # relative to the host
    ("nn-zone", "广西壮族自治区人民政府办公厅", "gx-office"),
    ("nn-zone", "自治区人民政府办公厅", "gx-office"),
    ("nn-zone", "钦州市", None),                                     # a city outside the registry
    ("nn-zone", "北京市人民政府", None),
    ("nn-civil", "市本级", "nn-gov"),
    ("nn-civil", "南宁市市本级", "nn-gov"),
    ("nn-civil", "市民政局", "nn-civil"),
    ("nn-civil", "广西南宁市民政局", "nn-civil"),
    ("qz-zone", "钦州市钦州港经济技术开发区", "qz-zone"),            # 钦州 + 钦州港: not the city
    ("qz-zone", "钦州港经济技术开发区", "qz-zone"),
    ("qz-zone", "钦州市", None),
]
JIANGSU_CASES = [
    ("rd-housing", "如东县住建局", "rd-housing"),                    # an abbreviation of the host
    ("rd-housing", "住建局", "rd-housing"),
    ("rd-housing", "如东县住房和城乡建设局", "rd-housing"),
    ("rd-housing", "如东县人民政府", "rd-gov"),
    ("rd-housing", "县本级", "rd-gov"),
    ("rd-housing", "县政府", "rd-gov"),
    ("rd-housing", "如东县发改委", "rd-drc"),
    ("rd-housing", "南通市人民政府", "nt-gov"),                      # a region without province
    ("rd-housing", "江苏省人民政府", None),
    ("rd-housing", "如东县教育体育局", None),                        # a department not registered
    ("rd-town", "掘港街道", "rd-town"),
    ("rd-town", "如东县", "rd-gov"),
    ("cc-cy-edu", "朝阳区人民政府", "cc-cy"),                        # the nearer of two 朝阳区
    ("cc-cy-edu", "区政府", "cc-cy"),
    ("xx-gov", "新乡市", "xx-gov"),
]


@pytest.mark.parametrize("registry, host, issuer, expected", [
    *[pytest.param(GUANGXI, *case, id=f"guangxi-{case[0]}-{case[1]}") for case in GUANGXI_CASES],
    *[pytest.param(JIANGSU, *case, id=f"jiangsu-{case[0]}-{case[1]}") for case in JIANGSU_CASES],
])
def test_counts_for(registry, host, issuer, expected):
    assert IssuerIndex(registry).counts_for(host, issuer) == expected


# A registry agency whose own report names it in a way the index does not know by name: when
# in doubt between the host and nobody, the host (a false "outside" is a false `missing`).
SHAANXI = [
    agency("yl-office", "榆林市人民政府办公室", "government", "陕西省榆林市"),
    agency("yl-civil", "榆林市民政局", "department", "陕西省榆林市"),
    agency("sm-housing", "神木市住房和城乡建设局", "department", "陕西省榆林市神木市"),
]
HOST_ALIAS_CASES = [
    ("yl-office", "榆林市人民政府", "yl-office"),         # the government for its office
    ("yl-office", "榆林市政府", "yl-office"),
    ("yl-office", "榆林市人民政府办公厅", "yl-office"),
    ("yl-office", "本机关", "yl-office"),                 # a self-reference
    ("yl-civil", "榆林市民政局办公室", "yl-civil"),       # a sub-office of the host
    ("yl-civil", "我局", "yl-civil"),
    ("sm-housing", "神木市住房和城乡建设局机关", "sm-housing"),
    # ... and what stays outside: another body, another place
    ("yl-office", "榆林市教育局", None),
    ("yl-civil", "榆林市民族宗教事务局", None),
    ("yl-civil", "榆林市人民政府", "yl-office"),
    ("sm-housing", "延安市住房和城乡建设局", None),
    ("yl-office", "陕西省人民政府", None),
]


@pytest.mark.parametrize("host, issuer, expected", HOST_ALIAS_CASES,
                         ids=[f"{case[0]}-{case[1]}" for case in HOST_ALIAS_CASES])
def test_names_of_the_host_the_index_does_not_know_still_count_for_it(host, issuer, expected):
    assert IssuerIndex(SHAANXI).counts_for(host, issuer) == expected


def test_an_agency_added_to_the_registry_takes_its_reports():
    without = [a for a in GUANGXI if a.id != "gx-gov"]
    assert IssuerIndex(without).counts_for("nn-zone", "广西壮族自治区") is None
    assert IssuerIndex(GUANGXI).counts_for("nn-zone", "广西壮族自治区") == "gx-gov"


def test_ambiguous_names_far_from_the_host_are_outside():
    # a town's site in neither Beijing nor Changchun: which 朝阳区 is not known
    registry = [*JIANGSU, agency("sz-gov", "苏州市人民政府", "government", "江苏省苏州市")]
    assert IssuerIndex(registry).resolve("sz-gov", "朝阳区人民政府").how == "ambiguous"


@pytest.mark.parametrize("region, chain", [
    ("广西壮族自治区南宁市", ("广西壮族自治区", "南宁市")),
    ("河南省新乡市", ("河南省", "新乡市")),
    ("山东省济南市市中区", ("山东省", "济南市", "市中区")),
    ("内蒙古自治区呼和浩特市", ("内蒙古自治区", "呼和浩特市")),
    ("江苏省南通市如东县掘港街道", ("江苏省", "南通市", "如东县", "掘港街道")),
    (None, ()),
])
def test_parse_region(region, chain):
    assert parse_region(region) == chain


@pytest.mark.parametrize("short, full, expected", [
    ("住建局", "住房和城乡建设局", True), ("发改委", "发展和改革委", True),
    ("经开区", "经济技术开发区", True), ("民政局", "民族宗教事务局", False),
    ("财政局", "税务局", False), ("局", "民政局", False),
])
def test_is_abbreviation(short, full, expected):
    assert is_abbreviation(short, full) is expected


# -- what a title names --------------------------------------------------------------------

TITLE_ISSUERS = [
    ("南宁市2019年政府信息公开工作年度报告", "南宁市"),
    ("广西壮族自治区人民政府2019年政府信息公开工作年度报告", "广西壮族自治区人民政府"),
    ("2019年如東縣住房和城鄉建設局政府信息公開工作年度報告", "如东县住房和城乡建设局"),
    ("南宁市人民政府信息公开工作年度报告", "南宁市人民政府"),       # 人民政府 + 信息公开
    ("某市政务公开办公室2019年政府信息公开工作年度报告", "某市政务公开办公室"),
    ("关于印发某市2019年政府信息公开工作年度报告的通知", "某市"),
    ("转载：示例市人民政府办公室2020年政府信息公开工作年度报告", "示例市人民政府办公室"),
    ("【年报】南宁市2019年度市本级政府信息公开工作年度报告", "南宁市市本级"),
    ("2019年度县本级政府信息公开工作年度报告", "县本级"),
    ("明光市住建局政府信息公开2014年度工作报告", "明光市住建局"),
    ("二〇一九年度政府信息公开工作年度报告", None),
    ("政府信息公开工作年度报告（2019年）", None),
    ("图解：2019年政府信息公开工作年度报告", None),
    ("县直部门政府信息公开年报", None),
    ("乡镇政府信息公开年度报告", None),
]


@pytest.mark.parametrize("title, issuer", TITLE_ISSUERS)
def test_title_issuer(title, issuer):
    assert title_issuer(title) == issuer


@pytest.mark.parametrize("text, issuer", [
    ("根据《中华人民共和国政府信息公开条例》规定，现公布南宁市2018年度政府信息公开工作年度报告。", "南宁市"),
    ("本报告由如东县人民政府办公室负责编制。", "如东县人民政府办公室"),
    ("南宁市人民政府2019年政府信息公开工作年度报告\n一、总体情况", "南宁市人民政府"),
    ("本报告由本局编制，所列数据统计期限自2019年1月1日起。", None),
    ("一、总体情况\n我局认真贯彻落实条例。", None),
])
def test_text_issuer(text, issuer):
    assert text_issuer(text) == issuer


# -- column names are not reports ------------------------------------------------------------

@pytest.mark.parametrize("title", [
    "政府信息公开年报", "信息公开年报", "政府信息公开年度报告", "政府信息公开工作年度报告",
    "市政府信息公开年报", "乡镇政府信息公开年度报告", "区政府信息公开工作年度报告",
    "县直部门政府信息公开年报", "政府信息公開年報",
])
def test_a_column_name_is_neither_a_report_link_nor_a_report(title):
    assert is_report_link(title) is False
    assert classify_title(title) == OTHER


@pytest.mark.parametrize("title", [
    "如东县住房和城乡建设局政府信息公开工作年度报告",   # a named agency without a year
    "南宁经济技术开发区管委会政府信息公开年报",
    "市政府2019年政府信息公开工作年度报告",             # a level word with a year
])
def test_named_or_dated_reports_still_are(title):
    assert is_report_link(title) is True
    assert classify_title(title) == ANNUAL_REPORT
