"""Key figures stated in prose: what pre-2019 reports give instead of tables (and what later
reports repeat around them).

    全市主动公开信息数135634条   -> prose / proactive_disclosed / value = 135634
    依申请公开总数为261条        -> prose / disclosed_on_request / value = 261
    共受理政府信息公开申请58件   -> prose / requests_received / value = 58

False matches are kept out by the shape of each phrase rather than by a list of bad
numbers: between the key words and the number only a few characters without digits or
sentence punctuation may stand (so a year '2019年', a date, a document number '〔2019〕60号'
or a percentage '100%' can never be the number: the digits must be followed at once by the
phrase's count unit 条/件), the key words must name the figure (主动公开…信息, 受理…公开…申请,
依申请公开…总数/信息), and approximations (300多条, 约200件, 100余件, 超过50件) are left out:
they are not figures. The first statement of each figure counts.
"""

from __future__ import annotations

import re
import unicodedata

from nianbao.storage.stats import SOURCE_TEXT, Figure

PROSE = "prose"
VALUE = "value"

# No digits, no sentence ends, no line breaks between the key words and the number.
_GAP = r"[^\d。；;！!？?\n%％]"
_NUMBER = r"(?P<num>\d{1,3}(?:,\d{3})+|\d+)"
_EXACT = r"(?!\d|\.\d|多|余|以上|左右|万)"
_APPROXIMATE_BEFORE = re.compile(r"(?:约|近|超过|逾|上|余|大约|将近)$")

PROSE_FIGURES = (
    ("requests_received", "受理政府信息公开申请（件）", re.compile(
        rf"(?P<lead>受理|收到|接到|接收)(?P<mid>{_GAP}{{0,20}}?)申请(?P<mid2>{_GAP}{{0,6}}?)"
        rf"{_NUMBER}\s*(?P<unit>件){_EXACT}")),
    ("proactive_disclosed", "主动公开政府信息（条）", re.compile(
        rf"主动公开(?P<mid>{_GAP}{{0,14}}?){_NUMBER}\s*(?P<unit>条|件){_EXACT}")),
    ("disclosed_on_request", "依申请公开信息（条）", re.compile(
        rf"依申请公开(?P<mid>{_GAP}{{0,10}}?){_NUMBER}\s*(?P<unit>条|件){_EXACT}")),
)


def _accept(key: str, match: re.Match, text: str) -> bool:
    mid = match["mid"] + (match.groupdict().get("mid2") or "")
    if _APPROXIMATE_BEFORE.search(mid.rstrip("为共计达有了 ")):
        return False
    if key == "requests_received":
        return "公开" in mid
    if key == "proactive_disclosed":
        return "信息" in mid
    if key == "disclosed_on_request":
        before = text[max(0, match.start() - 4):match.start()]
        if re.search(r"(?:受理|收到|接到|接收)\s*$", before):
            return False  # '受理依申请公开…N件' is the number of requests
        return bool(re.search(r"总数|信息|共|计", mid))
    return False


def read_prose(text: str) -> list[Figure]:
    """The prose figures of a report's text, one per key (the first statement)."""
    plain = unicodedata.normalize("NFKC", text or "").replace("，", ",")
    figures = []
    for key, label, pattern in PROSE_FIGURES:
        for match in pattern.finditer(plain):
            if not _accept(key, match, plain):
                continue
            sentence = match.group(0)
            figures.append(Figure(
                table_key=PROSE, row_key=key, column_key=VALUE, row_label=label,
                column_label="", value=int(match["num"].replace(",", "")),
                unit=match["unit"], raw=sentence, source=SOURCE_TEXT))
            break
    return figures
