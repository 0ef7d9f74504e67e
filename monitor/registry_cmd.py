"""`nianbao registry import FILE.csv`: a spreadsheet of agencies -> registry entries.

A provincial office keeps its agencies in a spreadsheet; saved as CSV it becomes registry
entries, validated exactly as the registry is (config.registry.Agency), with the same one-line
errors naming the file, the line (and the agency) and the field:

    nianbao: config error: agencies.csv: line 4: agency 'hf-tjj': field 'kind': Input should be 'department' or 'government'

Columns (a header row; English names or the Chinese ones in COLUMN_ALIASES, any order):
id, name, kind (department/government, or 部门/政府), region, start_year, sources (one or
more URLs separated by spaces, ';', '；', '|' or line breaks); optional domains (same
separators) and deadline (MM-DD). Empty optional cells are left out. The file may be UTF-8
(with or without the BOM Excel writes) or GB18030/GBK (what Excel writes on a Chinese
Windows).

Output: the entries as YAML on stdout (`agencies:` and the list), to paste or redirect;
with `--append REGISTRY` they are added at the end of that registry's `agencies` list,
in place, after the whole result was validated (ids unique across both): the file's other
text and comments stay as they are. Nothing is written when anything is wrong.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from pathlib import Path

import click
import yaml
from pydantic import ValidationError

from nianbao.config.registry import (
    Agency,
    ConfigError,
    _first_problem,
    load_registry,
    read_registry_bytes,
    show,
)
from nianbao.monitor.cli_options import fail_config

REQUIRED = ("id", "name", "kind", "region", "start_year", "sources")
OPTIONAL = ("domains", "deadline")
COLUMN_ALIASES = {
    "代码": "id", "编号": "id", "机构代码": "id",
    "名称": "name", "机构名称": "name", "机构": "name",
    "类型": "kind", "机构类型": "kind",
    "地区": "region", "行政区划": "region",
    "起始年份": "start_year", "开始年份": "start_year",
    "网址": "sources", "栏目网址": "sources", "来源": "sources",
    "域名": "domains", "截止日期": "deadline",
}
KIND_ALIASES = {"部门": "department", "政府": "government"}
LIST_SPLIT = re.compile(r"[\s;；|]+")


def read_csv_text(path: Path) -> str:
    """The sheet's text: UTF-8 (a BOM or not) or GB18030, as Excel saves it; ConfigError
    when it cannot be read or is neither."""
    data = read_registry_bytes(path, what="a CSV file")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ConfigError(f"{path}: neither UTF-8 nor GBK text; save the sheet as CSV UTF-8")


def parse_agencies_csv(path: Path) -> list[tuple[int, dict]]:
    """(line number, entry for the registry) per data row; ConfigError on the first problem."""
    text = read_csv_text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ConfigError(f"{path}: empty file: expected a header row ({', '.join(REQUIRED)})") from None
    except csv.Error as exc:
        raise ConfigError(f"{path}: line 1: not CSV ({exc})") from None
    columns = [COLUMN_ALIASES.get(name.strip(), name.strip().lower()) for name in header]
    unknown = [name for name in columns if name and name not in REQUIRED + OPTIONAL]
    if unknown:
        raise ConfigError(f"{path}: line 1: unknown column {show(unknown[0])} (columns: "
                          f"{', '.join(REQUIRED + OPTIONAL)})")
    missing = [name for name in REQUIRED if name not in columns and name != "region"]
    if missing:
        raise ConfigError(f"{path}: line 1: column {show(missing[0])} is missing")
    seen = {c for c in columns if c}
    twice = next((c for c in seen if columns.count(c) > 1), None)
    if twice:
        raise ConfigError(f"{path}: line 1: column {show(twice)} given twice")
    entries: list[tuple[int, dict]] = []
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue  # a blank line between blocks of a sheet
            if len(row) > len(columns) and any(cell.strip() for cell in row[len(columns):]):
                raise ConfigError(f"{path}: line {line}: {len(row)} cells, the header has "
                                  f"{len(columns)}")
            cells = {name: cell.strip() for name, cell in zip(columns, row, strict=False) if name}
            entries.append((line, _entry(cells)))
    except csv.Error as exc:
        raise ConfigError(f"{path}: line {reader.line_num}: not CSV ({exc})") from None
    return entries


def _entry(cells: dict[str, str]) -> dict:
    entry: dict = {}
    for name in REQUIRED + OPTIONAL:
        value = cells.get(name, "")
        if not value:
            if name in REQUIRED and name != "region":
                entry[name] = None  # validation names it as required
            continue
        if name == "kind":
            value = KIND_ALIASES.get(value, value)
        elif name == "start_year":
            value = int(value) if re.fullmatch(r"[0-9]{4}", value) else value
        elif name in ("sources", "domains"):
            value = [part for part in LIST_SPLIT.split(value) if part]
        entry[name] = value
    return {k: v for k, v in entry.items() if v is not None}


def _label(entry: dict, line: int) -> str:
    agency = f"agency {show(entry['id'])}: " if isinstance(entry.get("id"), str) else ""
    return f"line {line}: {agency}"


def validate(path: Path, entries: list[tuple[int, dict]], taken: dict[str, str]) -> list[dict]:
    """Each entry as the registry validates it; ids unique in the file and against `taken`
    (id -> where it is already). Returns the entries in registry form."""
    seen: dict[str, int] = {}
    result = []
    for line, entry in entries:
        try:
            agency = Agency.model_validate(entry)
        except ValidationError as exc:
            raise ConfigError(f"{path}: {_label(entry, line)}{_first_problem(exc)}") from None
        if agency.id in seen:
            raise ConfigError(f"{path}: {_label(entry, line)}field 'id': duplicate of line "
                              f"{seen[agency.id]}")
        if agency.id in taken:
            raise ConfigError(f"{path}: {_label(entry, line)}field 'id': already in {taken[agency.id]}")
        seen[agency.id] = line
        result.append(_registry_form(agency))
    if not result:
        raise ConfigError(f"{path}: no agencies (only a header row)")
    return result


def _registry_form(agency: Agency) -> dict:
    form = {"id": agency.id, "name": agency.name, "kind": agency.kind}
    if agency.region:
        form["region"] = agency.region
    form["start_year"] = agency.start_year
    form["sources"] = list(agency.sources)
    if agency.domains:
        form["domains"] = list(agency.domains)
    if agency.deadline:
        form["deadline"] = agency.deadline
    return form


def entries_yaml(entries: list[dict], indent: str = "  ") -> str:
    """The entries as YAML list items, each line indented by `indent`."""
    text = yaml.safe_dump(entries, allow_unicode=True, sort_keys=False, default_flow_style=False,
                          width=1000)
    return "".join(f"{indent}{line}\n" for line in text.splitlines())


def append_to_registry(registry_path: Path, entries: list[dict]) -> None:
    """Add the entries at the end of the registry's `agencies` list, in place; the result is
    validated (load_registry) before it replaces the file."""
    text = registry_path.read_text(encoding="utf-8")
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if re.match(r"agencies\s*:", line)), None)
    if start is None:
        raise ConfigError(f"{registry_path}: no top-level 'agencies:' line to append to")
    later_key = next((line for line in lines[start + 1:]
                      if line and not line[0].isspace() and not line.startswith(("#", "-"))), None)
    if later_key is not None:
        raise ConfigError(f"{registry_path}: 'agencies:' is not the last top-level field "
                          f"({show(later_key)} follows it): move it last, or paste the printed "
                          "entries yourself")
    if re.match(r"agencies\s*:\s*\[\s*\]\s*(#.*)?$", lines[start]):
        lines[start] = "agencies:"
    item = next((line for line in lines[start + 1:] if line.lstrip().startswith("- ")), None)
    indent = item[:len(item) - len(item.lstrip())] if item is not None else "  "
    new_text = "\n".join(lines).rstrip("\n") + "\n" + entries_yaml(entries, indent)
    folder = registry_path.resolve().parent
    handle, temp = tempfile.mkstemp(dir=folder, prefix=".registry-", suffix=".yaml")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(new_text)
        load_registry(temp)  # the whole result, as every command will read it
        os.replace(temp, registry_path)
    except ConfigError as exc:
        raise ConfigError(str(exc).replace(temp, str(registry_path))) from None
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


@click.group()
def registry() -> None:
    """The agency registry: import agencies from a spreadsheet."""


@registry.command("import")
@click.argument("csv_path", metavar="FILE.csv", type=click.Path(path_type=Path))
@click.option("--append", "append_path", metavar="REGISTRY", type=click.Path(path_type=Path),
              help="Add the entries to this registry file (validated as a whole first) "
                   "instead of printing them.")
def import_csv(csv_path: Path, append_path: Path | None) -> None:
    """Turn a CSV of agencies (id, name, kind, region, start_year, sources) into registry
    entries: printed as YAML, or appended to a registry with --append."""
    try:
        taken: dict[str, str] = {}
        if append_path is not None:
            existing = load_registry(append_path)
            taken = {a.id: str(append_path) for a in existing.agencies}
        entries = validate(csv_path, parse_agencies_csv(csv_path), taken)
        if append_path is None:
            click.echo("agencies:\n" + entries_yaml(entries), nl=False)
            return
        append_to_registry(append_path, entries)
    except ConfigError as exc:
        fail_config(exc)
    click.echo(f"added {len(entries)} agencies to {append_path}", err=True)
