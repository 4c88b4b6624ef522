"""Frozen-read memristor cells written inline: the I-V B-source of a state-port read variant
(``models/memristor_read.lib``) as a top-level card, for batched Monte Carlo decks.

The library stays the one source of the equations: :func:`read_x_expression` reads a variant's
``Bm p n i = ...`` line, :func:`inline_cell` renames its ports and parameters (``{ron}`` ->
``{cellp_ron}``, the deck's ``.param`` lines) and folds parameter mode switches
(:func:`fold_parameter_choices`). Pure text emission.
"""

from __future__ import annotations

import functools
import re

from memspice.netlist.cards import BSource, ident
from memspice.resources import model_path

#: The library of the frozen-read variants.
READ_LIB = "memristor_read.lib"
#: Prefix of the ``.param`` names that carry the card's parameters to inline cells.
CELL_PARAM_PREFIX = "cellp_"
_X_ONLY = re.compile(r"v\((p|n|x|p\s*,\s*n)\)")
_ANY_REF = re.compile(r"\b[vi]\s*\(")
_BRACED = re.compile(r"\{([a-z][a-z0-9_]*)\}")


@functools.cache
def read_x_expression(subckt: str) -> str:
    """The I-V expression of the state-port read variant ``subckt`` as written in models/memristor_read.lib
    (its ``Bm p n i = ...`` line and continuations, joined): the one source of the cell equations that both
    batched forms use. Only ``v(p,n)`` and ``v(x)`` may occur in it (checked)."""
    lines = model_path(READ_LIB).read_text().splitlines()
    head = next((k for k, s in enumerate(lines) if s.split()[:2] == [".subckt", subckt]), None)
    if head is None:
        raise ValueError(f"{READ_LIB} has no subcircuit {subckt}")
    body: list[str] = []
    for s in lines[head + 1:]:
        if s.startswith(".ends"):
            break
        if s.startswith("+"):  # a continuation: of the header's parameters, or of the body's last line
            if body:
                body[-1] += " " + s[1:].strip()
        else:
            body.append(s)
    cells = [s for s in body if s.startswith("Bm p n i =")]
    if len(cells) != 1 or len([s for s in body if s.strip() and not s.startswith("*")]) != 1:
        raise ValueError(f"{READ_LIB} {subckt}: expected one line 'Bm p n i = ...' and nothing else")
    expr = cells[0].split("=", 1)[1].strip()
    if len(_ANY_REF.findall(expr)) != len(_X_ONLY.findall(expr)) or re.search(r"v\((p|n)\)", expr):
        raise ValueError(f"{READ_LIB} {subckt}: the cell expression may reference only v(p,n) and v(x)")
    return expr


_PARAM_CONDITION = re.compile(r"\(\{([a-z][a-z0-9_]*)\}\s*(<=|>=|<|>)\s*([0-9.]+(?:e[-+]?[0-9]+)?)\)\s*\?")
_COMPARE = {"<": float.__lt__, ">": float.__gt__, "<=": float.__le__, ">=": float.__ge__}


def _skip_space(text: str, k: int) -> int:
    while k < len(text) and text[k].isspace():
        k += 1
    return k


def _group_end(text: str, start: int) -> int | None:
    """Index just past the parenthesised group opening at ``text[start]`` (None if it is not one)."""
    if start >= len(text) or text[start] != "(":
        return None
    depth = 0
    for k in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[k], 0)
        if depth == 0:
            return k + 1
    return None


def fold_parameter_choices(expr: str, params: dict[str, float]) -> str:
    """``expr`` with every ``({param} < c) ? (A) : (B)`` whose condition holds only a parameter of ``params``
    replaced by the branch it selects (a mode switch such as VTEAM's ``{iv}``): the value and derivative
    ngspice computes are the selected branch's either way, but a B-source builds the derivative trees of
    both branches, per cell. A choice that is not a whole parenthesised operand, or names a parameter
    not given, is kept as written."""
    pos = 0
    while (m := _PARAM_CONDITION.search(expr, pos)) is not None:
        name, op, const = m.groups()
        a0 = _skip_space(expr, m.end())  # (A) begins
        a1 = _group_end(expr, a0)
        colon = _skip_space(expr, a1) if a1 is not None else len(expr)
        b0 = _skip_space(expr, colon + 1) if expr[colon:colon + 1] == ":" else len(expr)  # (B) begins
        b1 = _group_end(expr, b0)
        whole = (expr[:m.start()].rstrip().endswith("(") and b1 is not None
                 and expr[_skip_space(expr, b1):].startswith(")"))  # the choice is a whole operand
        if name not in params or not whole:
            pos = m.end()
            continue
        pick = (a0, a1) if _COMPARE[op](float(params[name]), float(const)) else (b0, b1)
        expr = expr[:m.start()] + expr[pick[0]:pick[1]] + expr[b1:]
        pos = m.start()
    return expr


def inline_cell(name: str, top: str, bottom: str, state: str, subckt: str,
                params: dict[str, float] | None = None) -> BSource:
    """Cell ``name`` as the I-V B-source of ``subckt`` between [top] and [bottom] with state node [state]:
    the library's expression with its ports renamed, its parameter mode switches folded for ``params``
    (:func:`fold_parameter_choices`) and each ``{param}`` read from the ``.param`` ``cellp_<param>``
    (numparam substitutes it exactly as it does an instance parameter)."""
    expr = fold_parameter_choices(read_x_expression(subckt), params or {})
    expr = _X_ONLY.sub(lambda m: f"v({ident(state)})" if m.group(1) == "x" else f"v({ident(top)},{ident(bottom)})",
                       expr)
    expr = _BRACED.sub(lambda m: "{" + CELL_PARAM_PREFIX + m.group(1) + "}", expr)
    return BSource(f"m{name}", top, bottom, "i", expr)
