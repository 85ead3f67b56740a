"""The package's layering, read from the source with ``ast`` (imports inside functions count).

* ``lessonloop.store`` imports nothing above it: the layers above register what it needs
  (:mod:`lessonloop.bootstrap`).
* No import cycles between lessonloop modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import lessonloop

SRC = Path(lessonloop.__file__).resolve().parent
#: What ``store`` may import from the package: itself, the settings and the error types.
STORE_MAY_IMPORT = ("lessonloop.store", "lessonloop.settings", "lessonloop.errors")
#: Known exceptions, each named (none: the index ranks, lessonloop.search.service filters by actor).
STORE_EXCEPTIONS: set[tuple[str, str]] = set()


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _imports(path: Path, name: str, known: set[str]) -> Iterator[tuple[str, int]]:
    """Every lessonloop module ``path`` imports (module level, in functions, under
    TYPE_CHECKING), with its line. ``from x import y`` counts as importing ``x.y`` when that is a
    module, else ``x``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            if target == "lessonloop" or target.startswith("lessonloop."):
                yield target, node.lineno


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = set()
        for target, _line in _imports(path, name, known):
            # the deepest known module named by the import (``a.b.c`` may be an attribute)
            while target not in known and "." in target:
                target = target.rpartition(".")[0]
            if target != name:
                edges.add(target)
        graph[name] = edges
    return graph


def _is_under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_store_imports_nothing_above_it() -> None:
    modules = _modules()
    known = set(modules)
    wrong = [
        f"{path.relative_to(SRC.parent)}:{line}: {target}"
        for name, path in modules.items()
        if _is_under(name, "lessonloop.store")
        for target, line in _imports(path, name, known)
        if not any(_is_under(target, allowed) for allowed in STORE_MAY_IMPORT)
        and not any(name == mod and _is_under(target, pkg) for mod, pkg in STORE_EXCEPTIONS)
    ]
    assert wrong == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_no_import_cycle_in_signals() -> None:
    graph = _graph()
    signals = {n: {m for m in e if _is_under(m, "lessonloop.signals")} for n, e in graph.items()}
    assert _cycles({n: e for n, e in signals.items() if _is_under(n, "lessonloop.signals")}) == []


def test_no_import_cycle_anywhere() -> None:
    assert _cycles(_graph()) == []


def test_every_cli_module_imports_on_its_own() -> None:
    """``cli.main`` imports the command modules with importlib (invisible to the graph above):
    each one must import first, alone, in a fresh interpreter (no cycle back through main)."""
    import subprocess
    import sys

    names = sorted(p.stem for p in (SRC / "cli").glob("*_cmds.py"))
    assert names
    failures = []
    for name in names:
        done = subprocess.run(
            [sys.executable, "-c", f"import lessonloop.cli.{name}"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            failures.append(f"{name}: {done.stderr.strip().splitlines()[-1]}")
    assert failures == []
