"""An independent reader of the text of a table source (``memspice.netlist.cards.TableSource``), for tests:
the exact rational value of every entry, whichever number form the writer chose."""

from __future__ import annotations

import re
from fractions import Fraction

_LINE = re.compile(r"^B\S+ \S+ 0 v=pwl\(v\(\S+\), (.*)\)((?:[/*]\d+)*)$")


def table_entries(line: str) -> tuple[list[int], list[float]]:
    """(index column, entries) of one table source's line ``B<name> <node> 0 v=pwl(v(ctl), 0, y0, ...)<scale>``,
    each entry the float64 nearest to the written number times the written scale (exact rationals)."""
    m = _LINE.match(line)
    assert m is not None, f"not a table source line: {line[:80]}..."
    nums = [x.strip() for x in m.group(1).split(",")]
    scale = Fraction(1)
    for op, factor in re.findall(r"([/*])(\d+)", m.group(2)):
        scale = scale / int(factor) if op == "/" else scale * int(factor)
    entries = [float(Fraction(y) * scale) for y in nums[1::2]]
    return [int(x) for x in nums[0::2]], [-0.0 if y.startswith("-") and v == 0 else v
                                         for y, v in zip(nums[1::2], entries, strict=True)]
