"""The package's imports flow one way: no import cycle, and no module imports from a layer above its own.

Every ``import`` and ``from ... import`` is read with ``ast`` (module level and inside functions
alike: a lazy import is still a dependency). The package face ``memspice/__init__.py`` is left out:
it may re-export (lazily) names from every layer for users, and nothing inside the package imports
through it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "memspice"

# Bottom to top. A module may import from its own layer and the layers below it, never above.
# The order follows the data flow: a description becomes a deck, the deck is simulated and parsed,
# numbers are extracted and gathered into flows, flows feed the network, the system and the study.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("errors", "io", "progress", "resources", "papers", "reference")),  # no domain imports:
    # errors, atomic files, progress bars, packaged models, the paper's numbers, independent references
    ("artifacts", ("artifacts",)),  # file formats that cross stages (adc.json, column model, psum<->volt map):
    # versioned dataclasses shared by the characterization that writes them and the network side that reads them
    ("spec", ("spec",)),  # validated descriptions: what the user asks for
    ("netlist", ("netlist",)),  # pure text emission from specs
    ("raw", ("raw",)),  # parsing of simulator output (pure); the simulator driver returns parsed plots
    ("ngspice", ("ngspice",)),  # the only code that starts the simulator: runs decks, parses with raw
    ("extract", ("extract",)),  # pure numpy: thresholds, transfer curves, boundaries, energy
    ("report", ("report",)),  # tables and figures from arrays: below every flow that draws its own
    ("fit", ("fit",)),  # device-model fits to measured I-V (uses references and report)
    ("montecarlo", ("montecarlo",)),  # plans, sampling, the engine: knows only the circuit protocol
    ("characterize", ("characterize",)),  # flows and concrete circuits (and their registry) above the engine
    ("nn", ("nn",)),  # networks and CIM inference, fed by characterization artifacts
    ("system", ("system",)),  # energy and area roll-up of a network on the hardware
    ("study", ("study",)),  # the staged study chaining characterize -> nn -> system -> tables
    ("reproduce", ("reproduce",)),  # the paper's figures, built from studies and flows
    ("api", ("api",)),  # the Python API's one write_outputs, dispatching to every flow's writer
    ("cli", ("cli", "__main__", "testing")),  # the command line and the test-suite helpers: nothing imports them
]
LAYER_OF = {top: k for k, (_, tops) in enumerate(LAYERS) for top in tops}


def _sources() -> dict[str, tuple[str, bool]]:
    """Module name -> (source text, is a package ``__init__``)."""
    mods = {}
    for f in PACKAGE.rglob("*.py"):
        name = ".".join(f.relative_to(PACKAGE.parent).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = (f.read_text(encoding="utf-8"), f.name == "__init__.py")
    return mods


def _edges(mods: dict[str, tuple[str, bool]]) -> dict[str, set[str]]:
    """Module -> the package modules it imports (``from a.b import c`` counts ``a.b.c`` if that is a
    module, else ``a.b``); the package face ``memspice`` is neither walked nor counted."""

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    edges: dict[str, set[str]] = {}
    for m, (text, is_pkg) in mods.items():
        if m == "memspice":
            continue
        here = m.split(".") if is_pkg else m.split(".")[:-1]
        out = set()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = here[: len(here) - (node.level - 1)]
                    base = ".".join(parts + ([base] if base else []))
                targets = [f"{base}.{a.name}" for a in node.names] + [base]
            else:
                continue
            for t in targets:
                r = resolve(t) if t.split(".")[0] == "memspice" else None
                if r and r not in (m, "memspice"):
                    out.add(r)
        edges[m] = out
    return edges


def _upward(edges: dict[str, set[str]]) -> list[str]:
    return [f"{m} ({LAYERS[LAYER_OF[_top(m)]][0]}) imports {t} ({LAYERS[LAYER_OF[_top(t)]][0]})"
            for m, targets in sorted(edges.items()) for t in sorted(targets)
            if LAYER_OF.get(_top(t), -1) > LAYER_OF.get(_top(m), len(LAYERS))]


def _top(module: str) -> str:
    return module.split(".")[1]


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    comps: list[list[str]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in edges:
                    continue
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    comps.append(sorted(comp))
    return comps


@pytest.fixture(scope="module")
def edges() -> dict[str, set[str]]:
    return _edges(_sources())


def test_every_top_level_module_has_a_layer(edges):
    missing = sorted({_top(m) for m in edges} - set(LAYER_OF))
    assert not missing, f"modules with no layer in LAYERS (add them with a reason): {missing}"


def test_no_import_from_a_higher_layer(edges):
    upward = _upward(edges)
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)


def test_no_import_cycle(edges):
    cycles = _cycles(edges)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_checks_catch_a_function_local_upward_import_and_a_relative_cycle():
    mods = {
        "memspice": ("from memspice.cli import x\n", True),  # the face: ignored
        "memspice.spec": ("", True),
        "memspice.spec.a": ("import numpy\n\ndef f():\n    from memspice.cli.x import y\n", False),
        "memspice.cli": ("", True),
        "memspice.cli.x": ("from ..spec import a\nfrom . import x\n", False),
    }
    edges = _edges(mods)
    assert edges == {"memspice.spec": set(), "memspice.cli": set(), "memspice.spec.a": {"memspice.cli.x"},
                     "memspice.cli.x": {"memspice.spec", "memspice.spec.a", "memspice.cli"}}
    assert _cycles(edges) == [["memspice.cli.x", "memspice.spec.a"]]
    assert _upward(edges) == ["memspice.spec.a (spec) imports memspice.cli.x (cli)"]
