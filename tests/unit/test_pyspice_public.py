"""memspice drives PySpice through its public API only.

Every module of the package that imports PySpice is read with ``ast``. A private name (one leading
underscore, not a dunder) may be reached only as ``self._x`` inside memspice's own classes; any other
``obj._x`` (``engine._ng._ngspice_shared``, ``vec._data``) is PySpice's private state, and so is
``self._x`` inside a class that subclasses a PySpice class. Such a subclass may override PySpice's
documented callbacks (``send_char``...), and private ones only where PySpice has no public way,
listed below with the reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "memspice"

ALLOWED_PRIVATE_OVERRIDES = {
    # PySpice 1.5 has no public end-of-background-run hook: its own callback stores ngspice's "not running"
    # flag as is_running and returns None, which cffi reports as an error on every background run
    "_background_thread_running",
}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _pyspice_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "PySpice":
            names |= {a.asname or a.name for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name.split(".")[0] == "PySpice"}
    return names


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def violations(source: str) -> list[str]:
    """``line: what`` for every private PySpice access in ``source``."""
    tree = ast.parse(source)
    pyspice = _pyspice_names(tree)
    found = []

    def visit(node: ast.AST, in_pyspice_class: bool) -> None:
        if isinstance(node, ast.ClassDef):
            sub = any(_root(b) in pyspice for b in node.bases)
            for item in node.body:
                if sub and isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and _private(item.name) \
                        and item.name not in ALLOWED_PRIVATE_OVERRIDES:
                    found.append(f"{item.lineno}: overrides PySpice's private {item.name}")
            for child in ast.iter_child_nodes(node):
                visit(child, sub)
            return
        if isinstance(node, ast.Attribute) and _private(node.attr):
            own = isinstance(node.value, ast.Name) and node.value.id == "self" and not in_pyspice_class
            if not own:
                found.append(f"{node.lineno}: {ast.unparse(node)}")
        for child in ast.iter_child_nodes(node):
            visit(child, in_pyspice_class)

    visit(tree, False)
    return found


def _modules_using_pyspice() -> dict[Path, str]:
    out = {}
    for f in PACKAGE.rglob("*.py"):
        text = f.read_text(encoding="utf-8")
        if _pyspice_names(ast.parse(text)):
            out[f] = text
    return out


def test_memspice_uses_only_public_pyspice():
    modules = _modules_using_pyspice()
    assert PACKAGE / "ngspice" / "engine.py" in modules  # the check reads the module that drives PySpice
    bad = {str(f.relative_to(PACKAGE.parent)): v for f, text in modules.items() if (v := violations(text))}
    assert not bad, bad


def test_checker_catches_private_access():
    # the engine as it was before it moved to the public API: every private use is reported
    old = '''
from PySpice.Spice.NgSpice import Shared as shared_mod

class Engine:
    def __init__(self):
        class _Shared(shared_mod.NgSpiceShared):
            @staticmethod
            def _background_thread_running(not_running, ngspice_id, user_data):
                return 0

            def _send_char(self, message, ngspice_id, user_data):
                return 0

            def send_stat(self, message, ngspice_id):
                self._stdout.append(message)
                return 0

        self._ng = _Shared.new_instance()
        self._lib = self._ng._ngspice_shared

    def output(self, vec):
        return [*self._ng._stderr, *self._ng._stdout], vec._data, str(vec._type)
'''
    found = violations(old)
    for needle in ("overrides PySpice's private _send_char", "self._stdout", "self._ng._ngspice_shared",
                   "self._ng._stderr", "self._ng._stdout", "vec._data", "vec._type"):
        assert any(needle in v for v in found), (needle, found)
    assert not any("_background_thread_running" in v or "self._lib" in v for v in found), found
