"""Memristor models and device cards.

A :class:`ModelDecl` declares one hand-written subcircuit of ``models/``: its file, ports and
parameters (SI name used in cards and on the command line, SPICE name, unit, one-line doc,
published default) and the physical rules its parameters obey. A test parses the ``.lib`` file
and checks that it agrees with the declaration.

A :class:`DeviceCard` is a TOML file choosing a model and its parameter values, with the read
voltage that defines "conductance" and the variability figures used by Monte Carlo. The built-in
cards live in ``models/cards/``; users copy and edit them, or override any parameter by name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memspice.errors import InputError, SpecError
from memspice.resources import cards_dir, model_path
from memspice.spec.base import FrozenDict, Spec, check, check_nonnegative, check_positive, param, read_toml


@dataclass(frozen=True)
class ParamDecl:
    """One model parameter: SI name, SPICE name, unit, doc and the published default."""

    name: str
    spice: str
    unit: str | None
    doc: str
    default: float | str
    choices: Mapping[str, int] | None = None

    def to_spice(self, value: float | str) -> float:
        if self.choices is not None:
            return float(self.choices[str(value)])
        return float(value)


@dataclass(frozen=True)
class ModelDecl:
    """A memristor model: the subcircuit it lives in and the rules its parameters obey."""

    name: str
    subckt: str
    lib: str
    ports: tuple[str, ...]
    params: tuple[ParamDecl, ...]
    instance_params: tuple[str, ...]
    doc: str
    validate: Callable[[Mapping[str, Any]], None] = field(repr=False, compare=False, default=lambda p: None)

    @property
    def lib_path(self) -> Path:
        return model_path(self.lib)

    def param(self, name: str) -> ParamDecl:
        for p in self.params:
            if p.name == name:
                return p
        raise SpecError(f"params.{name}", name, f"a parameter of model {self.name}: {', '.join(self.param_names)}")

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def defaults(self) -> dict[str, float | str]:
        return {p.name: p.default for p in self.params}

    def spice_params(self, values: Mapping[str, float | str]) -> dict[str, float]:
        """Card values (SI names) as subcircuit parameters (SPICE names, numbers)."""
        return {p.spice: p.to_spice(values[p.name]) for p in self.params}


def _validate_vteam(p: Mapping[str, Any]) -> None:
    check_positive("params.r_on_ohm", p["r_on_ohm"], "ohm")
    check(p["r_off_ohm"] > p["r_on_ohm"], "params.r_off_ohm", p["r_off_ohm"],
          f"a resistance above r_on_ohm = {p['r_on_ohm']:g} ohm")
    check(p["w_off_m"] > p["w_on_m"], "params.w_off_m", p["w_off_m"], f"a bound above w_on_m = {p['w_on_m']:g} m")
    check(p["k_on_m_per_s"] < 0, "params.k_on_m_per_s", p["k_on_m_per_s"], "a negative rate in m/s (VTEAM sign)")
    check(p["k_off_m_per_s"] > 0, "params.k_off_m_per_s", p["k_off_m_per_s"], "a positive rate in m/s")
    check_positive("params.alpha_on", p["alpha_on"])
    check_positive("params.alpha_off", p["alpha_off"])
    check(p["v_on_v"] < 0, "params.v_on_v", p["v_on_v"], "a negative threshold in V (VTEAM sign)")
    check(p["v_off_v"] > 0, "params.v_off_v", p["v_off_v"], "a positive threshold in V")
    check(p["biolek_p"] >= 1, "params.biolek_p", p["biolek_p"], "an exponent >= 1")
    check_positive("params.w_c_m", p["w_c_m"], "m")


def _validate_yakopcic(p: Mapping[str, Any]) -> None:
    check_positive("params.a1_a", p["a1_a"], "A")
    check_positive("params.a2_a", p["a2_a"], "A")
    check_positive("params.b_per_v", p["b_per_v"], "1/V")
    check_positive("params.v_p_v", p["v_p_v"], "V")
    check_positive("params.v_n_v", p["v_n_v"], "V (magnitude of the negative threshold)")
    check_nonnegative("params.a_p_per_s", p["a_p_per_s"], "1/s")
    check_nonnegative("params.a_n_per_s", p["a_n_per_s"], "1/s")
    for key in ("x_p", "x_n"):
        check(0 <= p[key] < 1, f"params.{key}", p[key], "a value in [0, 1)")
    check_nonnegative("params.alpha_p", p["alpha_p"])
    check_nonnegative("params.alpha_n", p["alpha_n"])
    check(p["eta"] in (1.0, -1.0), "params.eta", p["eta"], "+1 or -1")


VTEAM = ModelDecl(
    name="vteam",
    subckt="vteam",
    lib="vteam.lib",
    ports=("p", "n"),
    instance_params=("x0", "frozen"),
    doc="VTEAM voltage-controlled threshold model (Kvatinsky et al. 2015)",
    validate=_validate_vteam,
    params=(
        ParamDecl("r_on_ohm", "ron", "ohm", "resistance in the ON state (x = 0)", 50.0),
        ParamDecl("r_off_ohm", "roff", "ohm", "resistance in the OFF state (x = 1)", 1000.0),
        ParamDecl("w_on_m", "won", "m", "state-variable bound of the ON state", 0.0),
        ParamDecl("w_off_m", "woff", "m", "state-variable bound of the OFF state", 3e-9),
        ParamDecl("k_on_m_per_s", "kon", "m/s", "ON switching rate constant (negative)", -10.0),
        ParamDecl("k_off_m_per_s", "koff", "m/s", "OFF switching rate constant (positive)", 5e-4),
        ParamDecl("alpha_on", "alphaon", None, "ON rate exponent", 3.0),
        ParamDecl("alpha_off", "alphaoff", None, "OFF rate exponent", 1.0),
        ParamDecl("v_on_v", "von", "V", "ON threshold voltage (negative)", -0.2),
        ParamDecl("v_off_v", "voff", "V", "OFF threshold voltage (positive)", 0.02),
        ParamDecl("iv", "iv", None, "I-V relation: linear or exponential", "linear",
                  choices={"linear": 0, "exponential": 1}),
        ParamDecl("window", "win", None, "window function: none, biolek or kvatinsky", "biolek",
                  choices={"none": 0, "biolek": 1, "kvatinsky": 2}),
        ParamDecl("biolek_p", "p", None, "Biolek window exponent", 2.0),
        ParamDecl("a_on_m", "aon", "m", "Kvatinsky window position, ON side", 0.0),
        ParamDecl("a_off_m", "aoff", "m", "Kvatinsky window position, OFF side", 3e-9),
        ParamDecl("w_c_m", "wc", "m", "Kvatinsky window width", 1e-10),
    ),
)

YAKOPCIC = ModelDecl(
    name="yakopcic",
    subckt="yakopcic",
    lib="yakopcic.lib",
    ports=("p", "n"),
    instance_params=("x0", "frozen"),
    doc="Yakopcic generalized memristor model (Yakopcic et al. 2011/2013)",
    validate=_validate_yakopcic,
    params=(
        ParamDecl("a1_a", "a1", "A", "current scale for v >= 0", 0.17),
        ParamDecl("a2_a", "a2", "A", "current scale for v < 0", 0.17),
        ParamDecl("b_per_v", "b", "1/V", "I-V curvature of sinh(b v)", 0.05),
        ParamDecl("v_p_v", "vp", "V", "positive switching threshold", 0.16),
        ParamDecl("v_n_v", "vn", "V", "negative switching threshold (magnitude)", 0.15),
        ParamDecl("a_p_per_s", "ap", "1/s", "rate magnitude above the positive threshold", 4000.0),
        ParamDecl("a_n_per_s", "an", "1/s", "rate magnitude below the negative threshold", 4000.0),
        ParamDecl("x_p", "xp", None, "window corner when the state rises", 0.3),
        ParamDecl("x_n", "xn", None, "window corner when the state falls", 0.5),
        ParamDecl("alpha_p", "alphap", None, "window decay when the state rises", 1.0),
        ParamDecl("alpha_n", "alphan", None, "window decay when the state falls", 5.0),
        ParamDecl("eta", "eta", None, "direction of state motion (+1 or -1)", 1.0),
    ),
)

MODELS: dict[str, ModelDecl] = {m.name: m for m in (VTEAM, YAKOPCIC)}


def get_model(name: str) -> ModelDecl:
    try:
        return MODELS[name]
    except KeyError:
        raise SpecError("model", name, f"one of {', '.join(MODELS)}") from None


@dataclass(frozen=True)
class Variability(Spec):
    """Device-to-device and cycle-to-cycle spread of a card, used by Monte Carlo."""

    program_sigma_s: float = param(0.0, "std of the programmed conductance after write-verify", "S")
    read_sigma_s: float = param(0.0, "std of read-to-read conductance noise", "S")
    d2d_rel_sigma: Mapping[str, float] = param(
        doc="relative device-to-device std of model parameters, by SI name", default_factory=dict)

    def validate(self) -> None:
        check_nonnegative("program_sigma_s", self.program_sigma_s, "S")
        check_nonnegative("read_sigma_s", self.read_sigma_s, "S")
        for key, value in self.d2d_rel_sigma.items():
            check(0 <= value < 1, f"d2d_rel_sigma.{key}", value, "a relative std in [0, 1)")


@dataclass(frozen=True)
class DeviceCard(Spec):
    """A memristor model with parameter values, read voltage and variability."""

    name: str = param(doc="card name", safe="name")
    model: str = param(doc="model name: vteam or yakopcic")
    params: Mapping[str, float | str] = param(doc="model parameters by SI name (missing ones take defaults)")
    read_v: float = param(0.2, "read voltage that defines the conductance G = I(read_v) / read_v", "V")
    variability: Variability = param(doc="spread used by Monte Carlo", default_factory=Variability)
    source: str = param("", "where the values come from (citation or fit)")

    def validate(self) -> None:
        decl = get_model(self.model)
        merged = decl.defaults()
        for key, value in self.params.items():
            pdecl = decl.param(key)  # unknown names fail here, naming the known ones
            if pdecl.choices is not None:
                check(str(value) in pdecl.choices, f"params.{key}", value, f"one of {', '.join(pdecl.choices)}")
            else:
                check(isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value),
                      f"params.{key}", value, f"a number{' in ' + pdecl.unit if pdecl.unit else ''}")
            merged[key] = value
        object.__setattr__(self, "params", FrozenDict(merged))
        decl.validate(merged)
        check_positive("read_v", self.read_v, "V")
        for key in self.variability.d2d_rel_sigma:
            if key not in decl.param_names:
                raise SpecError(f"variability.d2d_rel_sigma.{key}", key,
                                f"a parameter of model {self.model}: {', '.join(decl.param_names)}")

    @property
    def decl(self) -> ModelDecl:
        return get_model(self.model)

    def with_params(self, **values: float | str) -> DeviceCard:
        """A copy with parameter values replaced (validated again)."""
        return self.replace(params={**self.params, **values})

    def spice_params(self) -> dict[str, float]:
        return self.decl.spice_params(self.params)

    # analytic device quantities (closed-form functions of the I-V relation)
    def conductance(self, x):
        """Read conductance (S) of state ``x`` at ``read_v``."""
        from memspice.reference import memristor

        return memristor.conductance(self.model, self.params, x, self.read_v)

    def state_for(self, g_s):
        """State whose read conductance is ``g_s`` (S); checked against the window."""
        import numpy as np

        from memspice.reference import memristor

        g = np.asarray(g_s, dtype=float)
        lo, hi = self.window_s()
        bad = (g < lo * (1 - 1e-12)) | (g > hi * (1 + 1e-12))
        if np.any(bad):
            first = float(np.atleast_1d(g)[np.atleast_1d(bad)][0])
            raise SpecError("g_target_s", first,
                            f"a conductance inside card {self.name}'s window {lo:.4g}..{hi:.4g} S at {self.read_v:g} V")
        return memristor.state_for_conductance(self.model, self.params, g, self.read_v)

    def window_s(self) -> tuple[float, float]:
        """Lowest and highest read conductance (S)."""
        from memspice.reference import memristor

        return memristor.conductance_window(self.model, self.params, self.read_v)


def card_to_toml(card: DeviceCard, comment: str = "") -> str:
    """The card as a TOML file (``[card]`` table), with ``comment`` lines on top."""
    import tomli_w

    data = card.to_dict()
    head = "".join(f"# {line}\n".replace("# \n", "#\n") for line in comment.splitlines())
    return head + ("\n" if head else "") + tomli_w.dumps({"card": data})


def builtin_cards() -> dict[str, Path]:
    """Built-in card files by name (``models/cards/<name>.toml``)."""
    return {p.stem: p for p in sorted(cards_dir().glob("*.toml"))}


def load_card(name_or_path: str | Path) -> DeviceCard:
    """A card from a built-in name (``vteam_paper``) or a TOML file path."""
    text = str(name_or_path)
    path = Path(text)
    if not path.suffix and text in builtin_cards():
        path = builtin_cards()[text]
    elif not path.exists():
        known = ", ".join(builtin_cards())
        raise InputError(f"device card {text!r}: no such built-in card or file (built-in cards: {known})")
    data = read_toml(path)
    if "card" not in data:
        raise SpecError("card", None, "a [card] table", source=str(path))
    return DeviceCard.from_dict(data["card"], where="card", source=str(path))


def default_card(model: str) -> DeviceCard:
    """The paper-window card of a model (``<model>_paper``)."""
    get_model(model)
    return load_card(f"{model}_paper")
