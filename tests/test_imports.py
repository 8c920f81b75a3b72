"""No import cycle in `mulco/`: a graph of every module's imports of other `mulco` modules, those
inside functions included (a lazy import still ties the two modules together), has no cycle.
Also: `mulco` never imports torch or collama_train, anywhere."""
from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

PKG = REPO / "mulco"


def module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PKG.rglob("*.py")) if "__pycache__" not in p.parts}


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules ``name`` imports, anywhere in its code, resolved to absolute names: ``from .a import b``
    is ``pkg.a.b`` when that is a module, else ``pkg.a``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            for a in node.names:
                sub = f"{mod}.{a.name}"
                out.add(sub if sub in known else mod)
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: {m for m in imports(name, path, known) if m in known and m != name} for name, path in mods.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return sorted(out)


def test_the_graph_sees_imports_inside_functions():
    g = graph()
    assert "mulco.card" in g["mulco.writer"]  # write_folder imports the card inside the function
    assert "mulco.taxonomy" in g["mulco"]


def test_no_import_cycle_in_mulco():
    found = cycles(graph())
    assert not found, "import cycles in mulco/ (each line: the modules of one cycle):\n" + "\n".join(
        " <-> ".join(c) for c in found)


def test_mulco_never_imports_torch_or_collama_train():
    known: set[str] = set()
    for name, path in modules().items():
        bad = {m for m in imports(name, path, known) if m.split(".")[0] in ("torch", "collama_train")}
        assert not bad, f"{name} imports {sorted(bad)}"
