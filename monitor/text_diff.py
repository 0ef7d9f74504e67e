"""What changed between two texts of a report, line by line and character by character.

One computation for every place that shows a diff: the diff page of `nianbao serve`, the
terminal of `nianbao diff`. A report's paragraph is often one long line of Chinese, so a
line-level diff alone would show a whole paragraph removed and added again for one changed
figure; lines that were edited (rather than replaced) are paired and compared character by
character, so the changed characters can be marked. Built on difflib (the standard library's
SequenceMatcher): no dependency does more for this.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["equal", "removed", "added", "changed", "skipped"]

# Two lines are the same line edited (not one removed and another added) when at least this
# share of their characters match.
EDITED_LINE_RATIO = 0.5
TOKEN_RE = re.compile(r"\d+(?:[.,]\d+)*%?|[A-Za-z]+|\s+|.", re.DOTALL)
# An unchanged run this short between two changes is shown as part of the change.
SHORT_EQUAL_TOKENS = 1
# Unchanged lines shown around each change; the rest are folded into one "skipped" line.
CONTEXT_LINES = 2


@dataclass(frozen=True)
class Segment:
    text: str
    changed: bool


@dataclass(frozen=True)
class Line:
    """One line of a diff.

    kind: 'equal' (in both), 'removed' (only in the old text), 'added' (only in the new),
    'changed' (edited: `old` and `new` hold its segments, the changed characters marked),
    'skipped' (`count` unchanged lines folded away).
    """

    kind: Kind
    text: str = ""
    old: tuple[Segment, ...] = ()
    new: tuple[Segment, ...] = ()
    count: int = 0


@dataclass
class TextDiff:
    lines: list[Line] = field(default_factory=list)

    @property
    def lines_added(self) -> int:
        return sum(1 for line in self.lines if line.kind in ("added", "changed"))

    @property
    def lines_removed(self) -> int:
        return sum(1 for line in self.lines if line.kind in ("removed", "changed"))

    @property
    def unchanged(self) -> bool:
        return all(line.kind in ("equal", "skipped") for line in self.lines)


def _lines(text: str) -> list[str]:
    # Layout is not content (as for content_hash): trailing spaces and blank lines are no change.
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def tokens(line: str) -> list[str]:
    """A line as diff units: a number (1,234.5 or 12%) or a Latin word is one unit, every
    other character (a Chinese character, a punctuation mark) its own."""
    return TOKEN_RE.findall(line)


def _merge(parts: list[Segment]) -> tuple[Segment, ...]:
    merged: list[Segment] = []
    for part in parts:
        if merged and merged[-1].changed == part.changed:
            merged[-1] = Segment(merged[-1].text + part.text, part.changed)
        else:
            merged.append(part)
    return tuple(merged)


def token_opcodes(old: list[str], new: list[str]) -> list[tuple[str, int, int, int, int]]:
    """SequenceMatcher's opcodes over tokens, with a lone token left equal between two
    changes counted as changed: 办公室 -> 政务公开科 is one change, not 办|公|室 around a
    shared 公 (a reader sees words, not the longest common subsequence)."""
    codes = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    out: list[list] = []
    for index, code in enumerate(codes):
        tag, i1, i2, j1, j2 = code
        lone = (tag == "equal" and i2 - i1 <= SHORT_EQUAL_TOKENS and 0 < index < len(codes) - 1
                and not old[i1:i2][0].isspace())
        tag = "replace" if lone else tag
        if out and tag != "equal" and out[-1][0] != "equal":
            out[-1] = ["replace", out[-1][1], i2, out[-1][3], j2]
        else:
            out.append([tag, i1, i2, j1, j2])
    return [tuple(code) for code in out]


def char_segments(old: str, new: str) -> tuple[tuple[Segment, ...], tuple[Segment, ...]]:
    """The two versions of an edited line as segments, what differs marked: a changed
    figure is marked whole (1234 -> 1243), not as the digits that moved."""
    old_tokens, new_tokens = tokens(old), tokens(new)
    old_parts: list[Segment] = []
    new_parts: list[Segment] = []
    for tag, i1, i2, j1, j2 in token_opcodes(old_tokens, new_tokens):
        if i2 > i1:
            old_parts.append(Segment("".join(old_tokens[i1:i2]), tag != "equal"))
        if j2 > j1:
            new_parts.append(Segment("".join(new_tokens[j1:j2]), tag != "equal"))
    return _merge(old_parts), _merge(new_parts)


def _similarity(old: str, new: str) -> float:
    return difflib.SequenceMatcher(None, old, new, autojunk=False).ratio()


def _replace_block(old: list[str], new: list[str]) -> list[Line]:
    """A block of old lines replaced by new ones: pair the lines that were edited, in order;
    the others are removed or added."""
    out: list[Line] = []
    j = 0
    for old_line in old:
        match = next((k for k in range(j, len(new))
                      if _similarity(old_line, new[k]) >= EDITED_LINE_RATIO), None)
        if match is None:
            out.append(Line("removed", old_line))
            continue
        out.extend(Line("added", line) for line in new[j:match])
        old_parts, new_parts = char_segments(old_line, new[match])
        out.append(Line("changed", new[match], old=old_parts, new=new_parts))
        j = match + 1
    out.extend(Line("added", line) for line in new[j:])
    return out


def diff_texts(old_text: str, new_text: str, *, context: int | None = CONTEXT_LINES) -> TextDiff:
    """The diff of two texts. context: unchanged lines kept around each change (None: all)."""
    old, new = _lines(old_text), _lines(new_text)
    lines: list[Line] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            lines.extend(Line("equal", line) for line in old[i1:i2])
        elif tag == "delete":
            lines.extend(Line("removed", line) for line in old[i1:i2])
        elif tag == "insert":
            lines.extend(Line("added", line) for line in new[j1:j2])
        else:
            lines.extend(_replace_block(old[i1:i2], new[j1:j2]))
    return TextDiff(_fold(lines, context) if context is not None else lines)


def _fold(lines: list[Line], context: int) -> list[Line]:
    """Keep `context` unchanged lines around each change; fold longer unchanged runs."""
    keep = [line.kind != "equal" for line in lines]
    for index, line in enumerate(lines):
        if line.kind != "equal":
            for near in range(max(0, index - context), min(len(lines), index + context + 1)):
                keep[near] = True
    out: list[Line] = []
    run = 0
    for line, kept in zip(lines, keep):
        if kept:
            if run:
                out.append(Line("skipped", count=run))
                run = 0
            out.append(line)
        else:
            run += 1
    if run:
        out.append(Line("skipped", count=run))
    return out
