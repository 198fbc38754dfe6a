"""The package's layers (docs/ARCHITECTURE.md): a module imports only from its own layer or
below, and the modules import one another without cycles. Read from the source with ``ast``,
so lazy imports inside functions count too."""

from __future__ import annotations

import ast
from pathlib import Path

import allegiance
from allegiance.architecture import LAYERS as DECLARED

SRC = Path(allegiance.__file__).resolve().parent

#: the declared layers (name, modules), bottom first
LAYERS = [(name, mods) for name, mods, _ in DECLARED]


def _modules() -> dict[str, Path]:
    out = {}
    for p in SRC.rglob("*.py"):
        rel = p.relative_to(SRC).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(["allegiance", *parts])] = p
    return out


MODULES = _modules()


def _layer(module: str) -> int:
    if module == "allegiance":
        return len(LAYERS)  # the package facade is above everything
    first = module.split(".")[1]
    for k, (_, names) in enumerate(LAYERS):
        if first in names:
            return k
    raise AssertionError(f"{module} is in no layer: add it to allegiance.architecture.LAYERS")


def _imports(module: str, path: Path) -> set[str]:
    """Modules of the package that ``module`` imports (anywhere in its source)."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("allegiance")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("allegiance"):
                continue
            for a in node.names:  # ``from . import data``: the submodule itself
                sub = f"{target}.{a.name}"
                found.add(sub if sub in MODULES else target)
    return {m for m in found if m in MODULES and m != module}


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def test_every_module_has_a_layer():
    for m in MODULES:
        _layer(m)


def _name(module: str) -> str:
    k = _layer(module)
    return LAYERS[k][0] if k < len(LAYERS) else "the package facade"


def test_no_import_goes_up_a_layer():
    bad = [f"{m} ({_name(m)}) imports {t} ({_name(t)})"
           for m, targets in GRAPH.items() if m != "allegiance" for t in targets
           if _layer(t) > _layer(m)]
    assert not bad, "imports that go up a layer:\n" + "\n".join(sorted(bad))


def test_no_import_cycles():
    """No cycle among modules (a package importing its own submodules is not a cycle)."""
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def edges(m: str) -> set[str]:
        return {t for t in GRAPH[m] if not t.startswith(m + ".") and not m.startswith(t + ".")}

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in edges(m):
            if state.get(t) == 1:
                cycles.append([*stack[stack.index(t):], t])
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(GRAPH):
        if m not in state:
            visit(m)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_checks_would_notice():
    """A back arrow and a cycle, planted in a copy of the graph, are found."""
    assert _layer("allegiance.engine") < _layer("allegiance.cli")
    graph = {k: set(v) for k, v in GRAPH.items()}
    graph["allegiance.engine"].add("allegiance.cli")
    ups = [(m, t) for m, ts in graph.items() if m != "allegiance" for t in ts
           if _layer(t) > _layer(m)]
    assert ("allegiance.engine", "allegiance.cli") in ups
