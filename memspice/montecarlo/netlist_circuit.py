"""The ``netlist`` circuit kind: a user's own SPICE netlist with named parameter groups.

A designer brings a netlist (no ``.control`` block), names the element parameters to vary
(``alter``-able instance parameters such as a resistor's ``resistance`` or a source's ``dc``,
including inside subcircuits: ``v.x1.vbias``) with their nominal values, the analysis, and the
vectors to keep with a reduction.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from memspice.errors import InputError, SpecError
from memspice.montecarlo.circuit import ParamGroup
from memspice.netlist.cards import Raw
from memspice.netlist.deck import Alter, Analysis, Analyze, Dc, Deck, Op, Step, Tran
from memspice.raw import Plot
from memspice.spec.base import Spec, check, check_count, param


@dataclass(frozen=True)
class NetlistParam(Spec):
    name: str = param(doc="group name used in plans", safe="name")
    devices: tuple[str, ...] = param(doc="instances to alter, e.g. r1 or v.x1.vbias", safe="name")
    parameter: str = param(doc="instance parameter to alter, e.g. resistance, dc", safe="name")
    nominal: tuple[float, ...] = param(doc="nominal value per device (as written in the netlist)")
    unit: str = param("", "unit of the values")
    lower: float | None = param(None, "physical lower bound; draws below are clipped")

    def validate(self) -> None:
        check_count("devices", len(self.devices), 100_000, what="devices in one group")
        check(len(self.nominal) == len(self.devices), "nominal", self.nominal,
              f"one nominal value per device ({len(self.devices)})")


@dataclass(frozen=True)
class NetlistMeasure(Spec):
    name: str = param(doc="measurement name (put the unit in it: v_out_V)", safe="name")
    vector: str = param(doc="vector, e.g. v(out) or i(vdd)", safe="vector")
    reduce: Literal["last", "first", "max", "min", "mean"] = param("last", "how the vector becomes one number")
    analysis: int = param(0, "index of the analysis it comes from")


@dataclass(frozen=True)
class NetlistCircuitSpec(Spec):
    netlist: str = param(doc="netlist file without a .control block (relative to the plan file)")
    measures: tuple[NetlistMeasure, ...] = param(doc="measurements")
    analyses: tuple[str, ...] = param(("op",), "analyses per sample: op, dc SRC START STOP STEP, tran STEP STOP")
    params: tuple[NetlistParam, ...] = param((), "parameter groups")

    def validate(self) -> None:
        check(len(self.measures) >= 1, "measures", self.measures, "at least one measurement")
        names = [p.name for p in self.params]
        check(len(set(names)) == len(names), "params", names, "distinct group names")
        for k, m in enumerate(self.measures):
            check(0 <= m.analysis < len(self.analyses), f"measures[{k}].analysis", m.analysis,
                  f"an index below {len(self.analyses)}")
        for k, a in enumerate(self.analyses):
            parse_analysis(a, f"analyses[{k}]")


def parse_analysis(text: str, field: str = "analysis") -> Analysis:
    words = text.split()
    try:
        if words == ["op"]:
            return Op()
        if words and words[0] == "dc" and len(words) == 5:
            return Dc(words[1], float(words[2]), float(words[3]), float(words[4]))
        if words and words[0] == "tran" and len(words) in (3, 5):
            extra = {"start_s": float(words[3]), "max_step_s": float(words[4])} if len(words) == 5 else {}
            return Tran(float(words[1]), float(words[2]), **extra)
    except ValueError:
        pass
    raise SpecError(field, text, "op, 'dc SOURCE START STOP STEP' or 'tran STEP STOP [START MAXSTEP]' (numbers in SI, "
                    "no suffixes)")


_CONTROL = re.compile(r"^\s*\.(control|endc)\b", re.IGNORECASE | re.MULTILINE)


class NetlistCircuit:
    """A user netlist as a Monte Carlo circuit."""

    kind = "netlist"

    def __init__(self, spec: NetlistCircuitSpec, base_dir: str | Path = "."):
        self.spec = spec
        path = Path(spec.netlist)
        if not path.is_absolute():
            path = Path(base_dir) / path
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise InputError(f"netlist {path}: file not found") from None
        if _CONTROL.search(text):
            raise InputError(f"netlist {path}: remove its .control block; memspice adds the analyses")
        lines = text.splitlines()
        self.title = lines[0] if lines else "netlist"
        body = [ln for ln in lines[1:] if ln.strip().lower() != ".end"]
        self.body = "\n".join(body)
        self._hash = hashlib.sha256((spec.spec_hash() + text).encode()).hexdigest()[:16]

    @classmethod
    def from_spec(cls, data: Mapping, base_dir: str | Path) -> NetlistCircuit:
        return cls(NetlistCircuitSpec.from_dict(data, where="plan.spec"), base_dir)

    def spec_hash(self) -> str:
        return self._hash

    def deck(self) -> Deck:
        return Deck(self.title, [Raw(self.body)])

    def param_groups(self) -> dict[str, ParamGroup]:
        return {p.name: ParamGroup(p.name, p.unit, np.asarray(p.nominal, dtype=float),
                                   tuple(f"{p.name}_{d}" for d in p.devices), lower=p.lower)
                for p in self.spec.params}

    def apply(self, values: Mapping[str, np.ndarray]) -> list[Step]:
        steps: list[Step] = []
        for p in self.spec.params:
            if p.name in values:
                pairs = zip(p.devices, values[p.name], strict=True)
                steps.extend(Alter(dev, p.parameter, float(v)) for dev, v in pairs)
        return steps

    def analyses(self) -> Sequence[Analyze]:
        out = []
        for k, text in enumerate(self.spec.analyses):
            vecs = tuple(dict.fromkeys(m.vector for m in self.spec.measures if m.analysis == k))
            out.append(Analyze(parse_analysis(text), vecs, label=f"a{k}"))
        return out

    def measure_names(self) -> list[str]:
        return [m.name for m in self.spec.measures]

    def measure(self, plots: Sequence[Plot]) -> dict[str, float]:
        out = {}
        for m in self.spec.measures:
            data = np.real(plots[m.analysis][m.vector])
            out[m.name] = float({"last": data[-1], "first": data[0], "max": data.max(), "min": data.min(),
                                 "mean": data.mean()}[m.reduce])
        return out
