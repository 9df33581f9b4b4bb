"""The import rule (docs/architecture.md): data flows one way through the stages, and a module imports
only from its own stage or the stages before it; `commands`, `benchmarks` and `cli` sit on top and
nothing imports them. Walks every import (module level and inside functions) with `ast`.

KNOWN_BACKWARD lists the imports that still run against the order: the simulator backends that live in
`scene/` (they render, annotate and ask questions). Moving them into a backends package removes these
lines; the test fails on any *new* backward import, and on a listed one that no longer exists, so the
list only shrinks.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("simsv_stream", "trainers")

# stage order; a module's stage is its first dotted name below the package (trainers is one stage)
STAGES: tuple[tuple[str, ...], ...] = (
    ("errors", "config"),
    ("scene",),
    ("camera",),
    ("trajectory",),
    ("render",),
    ("annotate",),
    ("episode", "episode_json"),
    ("simulator",),
    ("questions",),
    ("sample",),
    ("wire",),
    ("eval",),
    ("stream",),
    ("export",),
    ("trainers",),
    ("benchmarks", "commands", "cli"),
)
TOP = {"benchmarks", "commands", "cli"}

KNOWN_BACKWARD = {
    ("simsv_stream.scene.procthor", "simsv_stream.simulator"),
    ("simsv_stream.scene.procthor", "simsv_stream.questions"),
    ("simsv_stream.scene.thor", "simsv_stream.annotate"),
    ("simsv_stream.scene.thor", "simsv_stream.camera"),
    ("simsv_stream.scene.thor", "simsv_stream.episode"),
    ("simsv_stream.scene.thor", "simsv_stream.questions"),
    ("simsv_stream.scene.thor", "simsv_stream.trajectory"),
    ("simsv_stream.scene.thor_types", "simsv_stream.camera"),
}


def modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            out[name.removesuffix(".__init__")] = path
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules `name` imports (a name imported from a package counts as its submodule
    when one exists)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            targets = [module] + [f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in known]
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name:
                found.add(t)
    return found


def stage(name: str) -> tuple[int, str]:
    package, _, rest = name.partition(".")
    first = package if package == "trainers" else (rest.split(".")[0] if rest else "")
    for i, names in enumerate(STAGES):
        if first in names:
            return i, first
    return -1, first  # the package itself (simsv_stream/__init__.py): nothing but metadata


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_every_module_has_a_stage():
    unstaged = sorted(n for n in modules() if stage(n)[0] < 0 and n not in PACKAGES)
    assert not unstaged, f"modules outside the stage order (add them to STAGES and docs/architecture.md): {unstaged}"


def test_imports_follow_the_stage_order():
    backward, top = set(), set()
    for a, targets in graph().items():
        for b in targets:
            (sa, _), (sb, nb) = stage(a), stage(b)
            if nb in TOP and stage(a)[1] not in TOP:
                top.add((a, b))
            elif sb > sa and not (nb in TOP and stage(a)[1] in TOP):
                backward.add((a, b))
    assert not top, f"library modules importing commands/benchmarks/cli: {sorted(top)}"
    new, fixed = sorted(backward - KNOWN_BACKWARD), sorted(KNOWN_BACKWARD - backward)
    assert not new, f"new imports against the stage order: {new}"
    assert not fixed, f"fixed, drop from KNOWN_BACKWARD: {fixed}"


def test_no_import_cycles_between_modules():
    g = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g[v]:
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
            # a package's __init__ re-exporting its submodules is not a cycle of logic
            real = [m for m in comp if not any(o.startswith(m + ".") for o in comp)]
            if len(real) > 1:
                cycles.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"
