"""The shape of the code: one import name per module, no import cycles, layers respected.

The folders at the repository root import only as `nianbao.<folder>` (pyproject.toml maps
them). Data flows config -> storage -> crawler -> monitor, and imports may only point back
along that flow: config imports no other nianbao package, storage at most config, crawler
config and storage, monitor all three. The daemon process never loads Scrapy or Twisted.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PACKAGE_DIRS: dict[str, str] = PYPROJECT["tool"]["setuptools"]["package-dir"]
TOP_FOLDERS = {name.split(".", 1)[1] for name in PACKAGE_DIRS if "." in name}

# package -> the nianbao packages it may import ("" is the `nianbao` package itself: the CLI)
ALLOWED = {
    "config": set(),
    "storage": {"config"},
    "crawler": {"config", "storage"},
    "monitor": {"config", "storage", "crawler"},
    "demo": {"config", "storage", "crawler", "monitor", ""},
    # the bench's generated portal is built from the demo portal's page templates
    "bench": {"config", "storage", "crawler", "monitor", "demo"},
    "web": {"config", "storage", "monitor"},
    # the CLI also registers `nianbao demo` (demo/cli.py, which imports only click at the top)
    "": {"config", "storage", "crawler", "monitor", "web", "demo"},
}


def nianbao_modules() -> dict[str, Path]:
    """Every module of the distribution: its one import name -> its file."""
    modules: dict[str, Path] = {}
    for package, folder in PACKAGE_DIRS.items():
        root = REPO / folder
        for path in sorted(root.rglob("*.py")):
            relative = path.relative_to(root).with_suffix("")
            if not all((root / Path(*relative.parts[:i]) / "__init__.py").exists()
                       for i in range(len(relative.parts))):
                continue  # a data folder, not a package
            parts = [p for p in relative.parts if p != "__init__"]
            name = ".".join([package, *parts])
            # a nested mapped folder (none today) belongs to its own mapping
            if name in modules:
                continue
            modules[name] = path
    return modules


MODULES = nianbao_modules()


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in TOP_FOLDERS else ""


def imported_names(module: str, path: Path) -> set[str]:
    """The nianbao modules a module imports anywhere in its body (lazy imports included)."""
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            candidates = [origin] + [f"{origin}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in candidates:
            if name in MODULES:
                found.add(name)
    found.discard(module)
    return found


GRAPH = {module: imported_names(module, path) for module, path in MODULES.items()}


def test_every_folder_is_mapped_and_found():
    assert {"config", "storage", "crawler", "monitor", "demo", "bench", "web"} <= TOP_FOLDERS
    for package in ("nianbao.config.registry", "nianbao.storage.store", "nianbao.crawler.spiders.reports",
                    "nianbao.monitor.daemon", "nianbao.cli"):
        assert package in MODULES


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return cycles


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    return [
        f"{module} imports {target}"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        if target != "nianbao"  # the root package holds only __version__
        and layer_of(target) != layer_of(module) and layer_of(target) not in ALLOWED[layer_of(module)]
    ]


def test_no_import_cycles():
    assert find_cycles(GRAPH) == []


def test_imports_follow_the_layers():
    assert layer_violations(GRAPH) == []


def test_the_checks_catch_what_they_are_for():
    """The two checks on small graphs with a known cycle and known layer breaches."""
    graph = {
        "nianbao.monitor.cli": {"nianbao.monitor.check_cmd"},
        "nianbao.monitor.check_cmd": {"nianbao.monitor.cli", "nianbao.storage.store"},
        "nianbao.storage.store": {"nianbao.storage.parts"},
        "nianbao.storage.parts": {"nianbao.storage.store", "nianbao.crawler.items"},
        "nianbao.crawler.items": set(),
        "nianbao.config.registry": {"nianbao.monitor.cli"},
    }
    assert sorted(find_cycles(graph)) == [
        ["nianbao.monitor.check_cmd", "nianbao.monitor.cli"],
        ["nianbao.storage.parts", "nianbao.storage.store"],
    ]
    assert layer_violations(graph) == [
        "nianbao.config.registry imports nianbao.monitor.cli",
        "nianbao.storage.parts imports nianbao.crawler.items",
    ]


def test_each_module_has_exactly_one_import_name():
    """Import the whole distribution in a fresh interpreter from outside the checkout: no
    module may also be loaded under a bare name (config, storage, ...) or twice."""
    script = f"""
import importlib, sys
names = {sorted(MODULES)!r}
for name in names:
    if name.endswith("__main__"):
        continue
    importlib.import_module(name)
bare = sorted(m for m in sys.modules if m.split(".")[0] in {sorted(TOP_FOLDERS)!r})
files = {{}}
twice = []
for name, module in list(sys.modules.items()):
    path = getattr(module, "__file__", None)
    if path and path.startswith({str(REPO)!r}):
        if path in files:
            twice.append((files[path], name))
        files[path] = name
print(repr((bare, twice, len(files))))
"""
    result = subprocess.run([sys.executable, "-c", script], cwd="/", capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    bare, twice, loaded = ast.literal_eval(result.stdout.strip().splitlines()[-1])
    assert bare == []
    assert twice == []
    assert loaded >= len(MODULES) - 3  # every module was really loaded (the __main__s excepted)


def test_the_cli_and_the_daemon_never_load_scrapy_or_twisted():
    # `nianbao reextract` runs the extraction without a crawl: the extraction modules it
    # loads (when the command runs) must not pull Scrapy in either.
    script = """
import sys
import nianbao.cli, nianbao.monitor.daemon, nianbao.monitor.notify, nianbao.monitor.findings
import nianbao.monitor.reextract_cmd, nianbao.crawler.extract, nianbao.crawler.report_extract
print(sorted(m for m in sys.modules if m.split(".")[0] in ("scrapy", "twisted")))
"""
    result = subprocess.run([sys.executable, "-c", script], cwd="/", capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
