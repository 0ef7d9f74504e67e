"""The diff of two report texts (monitor/text_diff.py) and `nianbao diff` on a real store."""

from __future__ import annotations

import pytest

from nianbao.monitor.text_diff import diff_texts, tokens
from nianbao.storage import AgencyRecord, ReportFetch, Store, utc_now
from tests.conftest import run_nianbao

PARAGRAPH = ("2019年，本机关认真贯彻落实《中华人民共和国政府信息公开条例》，坚持以公开为常态、不公开为例外，"
             "围绕中心工作，全年主动公开政府信息{n}条，其中规范性文件12件，政策解读材料8篇，"
             "通过政务新媒体发布信息560条，回应社会关切事项3件。")
OLD = "\n".join(["一、总体情况", PARAGRAPH.format(n="1234"), "二、主动公开情况", "无变化的一行。",
                 "三、依申请公开情况", "收到申请15件。", "四、其他", "无。"])


def changed_parts(line, side: str) -> list[str]:
    return [part.text for part in getattr(line, side) if part.changed]


def test_a_changed_figure_in_a_long_paragraph_is_marked_whole():
    diff = diff_texts(OLD, OLD.replace("1234条", "1243条"))
    [line] = [line for line in diff.lines if line.kind != "equal" and line.kind != "skipped"]
    assert line.kind == "changed"
    assert changed_parts(line, "old") == ["1234"] and changed_parts(line, "new") == ["1243"]
    assert "".join(part.text for part in line.new) == PARAGRAPH.format(n="1243")
    assert (diff.lines_added, diff.lines_removed) == (1, 1)


def test_second_fixture_decimals_percentages_and_a_word():
    old = ("办理结果：予以公开占比45.5%，部分公开12件。\n网站访问量1,200万次。\n"
           "工作机构为办公室。")
    new = ("办理结果：予以公开占比54.5%，部分公开12件。\n网站访问量1,200万次。\n"
           "工作机构为政务公开科。")
    lines = [line for line in diff_texts(old, new, context=None).lines if line.kind == "changed"]
    assert [changed_parts(line, "old") for line in lines] == [["45.5%"], ["办公室"]]
    assert [changed_parts(line, "new") for line in lines] == [["54.5%"], ["政务公开科"]]
    assert tokens("共1,234.5件abc") == ["共", "1,234.5", "件", "abc"]


def test_added_removed_and_folded_lines():
    new = OLD.replace("收到申请15件。\n", "").replace("无。", "无。\n本报告电子版可在门户网站下载。")
    diff = diff_texts(OLD, new)
    kinds = [(line.kind, line.text) for line in diff.lines if line.kind in ("added", "removed")]
    assert kinds == [("removed", "收到申请15件。"), ("added", "本报告电子版可在门户网站下载。")]
    skipped = [line.count for line in diff.lines if line.kind == "skipped"]
    assert skipped and sum(skipped) + sum(1 for line in diff.lines if line.kind == "equal") == 7
    everything = diff_texts(OLD, new, context=None)
    assert not any(line.kind == "skipped" for line in everything.lines)


def test_layout_is_no_change_and_unrelated_lines_are_not_paired():
    assert diff_texts(OLD, OLD.replace("\n", "\n\n  \n") + "  ").unchanged
    replaced = diff_texts("甲乙丙丁戊己庚辛", "子丑寅卯辰巳午未")
    assert [line.kind for line in replaced.lines] == ["removed", "added"]


# -- nianbao diff ----------------------------------------------------------------------------


@pytest.fixture
def store_with_versions(tmp_path):
    path = tmp_path / "store.db"
    with Store(path) as store:
        store.agencies.sync([AgencyRecord("hf-czj", "合肥市财政局", "department", "安徽省合肥市", 2015, ())])
        for text in (OLD, OLD.replace("1234条", "1243条"),
                     OLD.replace("1234条", "1243条").replace("收到申请15件。", "收到申请16件。")):
            store.history.record_report(ReportFetch(
                agency_id="hf-czj", url="https://czj.hefei.gov.cn/2020/ndbg.html",
                title="合肥市财政局2019年政府信息公开工作年度报告", text=text, kind="annual_report",
                year=2019, published_date="2020-01-20", raw_page=text.encode(),
                raw_encoding="utf-8", fetched_at=utc_now(), crawl_id=None))
    return path


def test_diff_command_plain_and_coloured(store_with_versions):
    plain = run_nianbao("diff", "--db", str(store_with_versions), "1")
    assert plain.returncode == 0, plain.stderr
    assert "version 2" in plain.stdout and "version 3" in plain.stdout
    assert "~ 收到申请[-15-]{+16+}件。" in plain.stdout
    assert "\x1b[" not in plain.stdout  # not a terminal: no colours
    first = run_nianbao("diff", "--db", str(store_with_versions), "1", "1", "2")
    assert "[-1234-]{+1243+}" in first.stdout and "[-15-]" not in first.stdout
    coloured = run_nianbao("diff", "--db", str(store_with_versions), "--color", "1", "1", "3")
    assert "\x1b[" in coloured.stdout and "1243" in coloured.stdout and "16" in coloured.stdout


@pytest.mark.parametrize("args, message", [
    (["9"], "no report 9"),
    (["1", "1", "7"], "has no version 7"),
    (["1", "2"], "give two versions"),
])
def test_diff_command_errors(store_with_versions, args, message):
    result = run_nianbao("diff", "--db", str(store_with_versions), *args)
    assert result.returncode != 0 and message in result.stderr


def test_diff_command_never_creates_a_store(tmp_path):
    missing = tmp_path / "typo.db"
    result = run_nianbao("diff", "--db", str(missing), "1")
    assert result.returncode == 2 and "no database" in result.stderr
    assert not missing.exists()
