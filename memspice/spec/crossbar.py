"""Descriptions of a crossbar column (or a small tile of columns) and of its characterization study.

A tile has ``rows`` input rows and ``cols`` signed (logical) columns. Each logical column is a
differential pair of physical columns (G+ and G-); a weight ``w`` in [-w_max, w_max] maps to

    G+ = g_min + (g_max - g_min) * max(w, 0) / w_max,   G- = g_min + (g_max - g_min) * max(-w, 0) / w_max

inside the card's conductance window, so the pair's current difference is linear in ``w`` and
``g_min`` cancels. An input ``x`` in [0, x_max] is a row voltage ``v = v_read * x / x_max`` (on
2^input_bits DAC levels, or one bit per read in bit-serial mode). The ideal column output is
``I = sum_i (G+_i - G-_i) v_i``; its full scale ``I_fs = rows (g_max - g_min) v_read`` belongs to
the partial sum ``rows * w_max * x_max``, which is how the column model normalises.

Everything that depends on the device card (window, switching thresholds, default read
voltage) is checked here at construction, with the field named, so bad input fails before any
netlist is written. Everything is SI.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from memspice.errors import InputError, SpecError
from memspice.spec.base import Spec, check, check_count, check_nonnegative, check_positive, param, read_toml

MAX_ROWS = 4096
MAX_COLS = 16


@functools.lru_cache(maxsize=32)
def _card(name: str):
    from memspice.spec.device import load_card

    return load_card(name)


def card_for(name: str):
    """The device card named by a crossbar spec (built-in name or TOML path); InputError if absent."""
    try:
        return _card(name)
    except InputError as err:
        raise SpecError("card", name, f"a built-in card name or a card file ({err})") from None


@dataclass(frozen=True)
class WireSpec(Spec):
    """Interconnect: a resistor per segment (cell pitch) and a capacitance to ground per node."""

    r_row_segment_ohm: float = param(1.0, "row-line resistance per cell pitch (also driver to first cell)", "ohm")
    r_col_segment_ohm: float = param(1.0, "column-line resistance per cell pitch (also last cell to the sense)",
                                     "ohm")
    c_row_segment_f: float = param(0.1e-15, "row-line capacitance to ground per cell pitch (transient only)", "F")
    c_col_segment_f: float = param(0.1e-15, "column-line capacitance to ground per cell pitch (transient only)", "F")

    def validate(self) -> None:
        # a zero resistance would merge nodes; 1e-6 ohm is an ideal wire for every purpose here
        check(self.r_row_segment_ohm > 0, "r_row_segment_ohm", self.r_row_segment_ohm,
              "a resistance > 0 ohm (use 1e-6 for an ideal wire)")
        check(self.r_col_segment_ohm > 0, "r_col_segment_ohm", self.r_col_segment_ohm,
              "a resistance > 0 ohm (use 1e-6 for an ideal wire)")
        check_nonnegative("c_row_segment_f", self.c_row_segment_f, "F")
        check_nonnegative("c_col_segment_f", self.c_col_segment_f, "F")


@dataclass(frozen=True)
class DriveSpec(Spec):
    """Row drivers: analog DAC levels or bit-serial pulses, and the read pulse timing."""

    mode: Literal["analog", "bit_serial"] = param("analog", "analog: one read at a DAC level per row; "
                                                  "bit_serial: one read per input bit (LSB first), 0 or v_read")
    input_bits: int = param(4, "input resolution: 2^bits DAC levels (analog) or bit slots (bit_serial)")
    v_read_v: float | None = param(None, "full-scale row voltage (default: the card's read voltage)", "V")
    r_driver_ohm: float = param(0.0, "output resistance of each row driver (0: ideal source)", "ohm")
    t_rise_s: float = param(100e-12, "rise and fall time of a read pulse", "s")
    t_read_s: float = param(20e-9, "flat top of a read pulse (the output is sampled at its end)", "s")
    t_gap_s: float = param(5e-9, "idle time before each read pulse (and after the last)", "s")

    def validate(self) -> None:
        check(1 <= self.input_bits <= 12, "input_bits", self.input_bits, "from 1 to 12 bits")
        if self.v_read_v is not None:
            check_positive("v_read_v", self.v_read_v, "V")
        check_nonnegative("r_driver_ohm", self.r_driver_ohm, "ohm")
        check_positive("t_rise_s", self.t_rise_s, "s")
        check(self.t_read_s > 2 * self.t_rise_s, "t_read_s", self.t_read_s,
              f"a pulse top longer than two edges ({2 * self.t_rise_s:g} s)")
        check_positive("t_gap_s", self.t_gap_s, "s")

    @property
    def slots(self) -> int:
        """Reads per input vector: 1 (analog) or input_bits (bit-serial)."""
        return 1 if self.mode == "analog" else self.input_bits

    @property
    def slot_s(self) -> float:
        """Duration of one read slot: gap, rise, top, fall (s)."""
        return self.t_gap_s + 2 * self.t_rise_s + self.t_read_s


@dataclass(frozen=True)
class AccessSpec(Spec):
    """NMOS access transistor of 1T1R cells (gate on the row's word line)."""

    lib: str = param("ptm_45nm_hp.lib", "transistor model file in models/", safe="name")
    nmos: str = param("ptm45hp_nmos", "NMOS model name in that file", safe="name")
    w_m: float = param(1e-6, "channel width", "m")
    l_m: float = param(45e-9, "drawn channel length", "m")
    v_wl_v: float = param(1.0, "word-line (gate) voltage during a read", "V")

    def validate(self) -> None:
        check(1e-8 <= self.w_m <= 1e-4, "w_m", self.w_m, "a width from 1e-08 to 1e-04 m")
        check(1e-8 <= self.l_m <= 1e-5, "l_m", self.l_m, "a length from 1e-08 to 1e-05 m")
        check_positive("v_wl_v", self.v_wl_v, "V")


@dataclass(frozen=True)
class SenseSpec(Spec):
    """Column sensing: a virtual-ground transimpedance amplifier, or an ideal 0 V ammeter."""

    kind: Literal["tia", "ammeter"] = param("tia", "tia: op-amp (models/opamp.lib) with feedback R_f || C_f; "
                                            "ammeter: 0 V source to ground (current only)")
    r_f_ohm: float | None = param(None, "feedback resistor (default: the largest column current reaches "
                                  "full_scale_fraction of the output swing)", "ohm")
    c_f_f: float | None = param(None, "feedback capacitor (default: 2 sqrt(C_in / (2 pi R_f GBW)))", "F")
    full_scale_fraction: float = param(0.8, "fraction of the output swing used by the largest column current "
                                       "(sets the default R_f)")
    a0: float = param(1e4, "op-amp DC open-loop gain (V/V)")
    gbw_hz: float = param(1e9, "op-amp gain-bandwidth product", "Hz")
    r_out_ohm: float = param(100.0, "op-amp output resistance", "ohm")
    i_q_a: float = param(20e-6, "op-amp quiescent supply current (vdd to vss)", "A")
    v_supply_v: float = param(1.0, "op-amp rails at +v_supply_v and -v_supply_v", "V")
    v_headroom_v: float = param(0.1, "output swing stops this far from each rail", "V")

    def validate(self) -> None:
        if self.r_f_ohm is not None:
            check_positive("r_f_ohm", self.r_f_ohm, "ohm")
        if self.c_f_f is not None:
            check_nonnegative("c_f_f", self.c_f_f, "F")
        check(0 < self.full_scale_fraction <= 1, "full_scale_fraction", self.full_scale_fraction,
              "a fraction in (0, 1]")
        check(self.a0 >= 10, "a0", self.a0, "an open-loop gain >= 10")
        check_positive("gbw_hz", self.gbw_hz, "Hz")
        check_positive("r_out_ohm", self.r_out_ohm, "ohm")
        check_nonnegative("i_q_a", self.i_q_a, "A")
        check_positive("v_supply_v", self.v_supply_v, "V")
        check(0 <= self.v_headroom_v < self.v_supply_v, "v_headroom_v", self.v_headroom_v,
              f"a headroom in [0, v_supply_v = {self.v_supply_v:g}) V")

    @property
    def swing_v(self) -> float:
        """Largest output magnitude before the op-amp clamps (V)."""
        return self.v_supply_v - self.v_headroom_v


@dataclass(frozen=True)
class CrossbarSpec(Spec):
    """One crossbar tile: ``rows`` x ``cols`` signed weights on differential column pairs."""

    rows: int = param(128, f"input rows (1 to {MAX_ROWS})")
    cols: int = param(1, f"signed (logical) columns, each a G+/G- pair of physical columns (1 to {MAX_COLS})")
    cell: Literal["1R", "1T1R"] = param("1R", "cell: memristor alone, or memristor plus NMOS access transistor")
    card: str = param("vteam_paper", "device card: built-in name or TOML file")
    device: Literal["memristor", "resistor"] = param("memristor", "memristor: the card's model; resistor: linear "
                                                     "resistors 1/G (the case the nodal reference solves exactly)")
    read_model: Literal["read", "full"] = param("read", "read: frozen-read subcircuits (models/memristor_read.lib); "
                                                "full: the full model subcircuits with frozen=1 (slow at many rows)")
    w_max: float = param(1.0, "largest weight magnitude (maps to g_max - g_min)")
    x_max: float = param(1.0, "largest input (maps to v_read)")
    g_min_s: float | None = param(None, "conductance of weight 0 (default: window low + window_margin of the span)",
                                  "S")
    g_max_s: float | None = param(None, "conductance of weight +-w_max (default: window high - window_margin of "
                                  "the span)", "S")
    window_margin: float = param(0.05, "default g_min/g_max stay this fraction of the window span inside it, so "
                                 "programming errors rarely clip")
    weights: tuple[tuple[float, ...], ...] | None = param(None, "explicit weights of pattern 0, rows x cols "
                                                          "(default: drawn from the study seed)")
    inputs_v: tuple[float, ...] | None = param(None, "explicit row voltages of pattern 0, one per row, in "
                                               "[0, v_read] (analog mode only)", "V")
    wire: WireSpec = param(doc="interconnect", default_factory=WireSpec)
    drive: DriveSpec = param(doc="row drivers and read timing", default_factory=DriveSpec)
    access: AccessSpec = param(doc="1T1R access transistor", default_factory=AccessSpec)
    sense: SenseSpec = param(doc="column sensing", default_factory=SenseSpec)

    def validate(self) -> None:
        check(1 <= self.rows <= MAX_ROWS, "rows", self.rows, f"a row count from 1 to {MAX_ROWS}")
        check(1 <= self.cols <= MAX_COLS, "cols", self.cols, f"a column count from 1 to {MAX_COLS}")
        check_positive("w_max", self.w_max)
        check_positive("x_max", self.x_max)
        check(0 <= self.window_margin < 0.5, "window_margin", self.window_margin, "a fraction in [0, 0.5)")
        card = card_for(self.card)
        lo, hi = card.window_s()
        window = f"card {card.name}'s window {lo:.4g}..{hi:.4g} S at {card.read_v:g} V"
        g_min, g_max = self.g_range_s
        if self.g_min_s is not None:
            check(lo * (1 - 1e-12) <= self.g_min_s <= hi, "g_min_s", self.g_min_s, f"a conductance inside {window}")
        if self.g_max_s is not None:
            check(lo <= self.g_max_s <= hi * (1 + 1e-12), "g_max_s", self.g_max_s, f"a conductance inside {window}")
        check(g_max > g_min, "g_max_s", g_max, f"a conductance above g_min_s = {g_min:.4g} S")
        check(g_min >= 0, "g_min_s", g_min, "a conductance >= 0 S")
        from memspice.reference.memristor import switching_thresholds

        v_read = self.v_read_v
        th = min(switching_thresholds(card.model, card.params))
        check(v_read < th, "drive.v_read_v", v_read,
              f"a read voltage below card {card.name}'s lowest switching threshold {th:.4g} V "
              "(a higher read would disturb the programmed state)")
        if self.weights is not None:
            check(len(self.weights) == self.rows, "weights", f"{len(self.weights)} rows",
                  f"one list per row ({self.rows} rows of {self.cols} weights)")
            for r, row in enumerate(self.weights):
                check(len(row) == self.cols, f"weights[{r}]", row, f"{self.cols} weight(s), one per column")
                for c, w in enumerate(row):
                    check(math.isfinite(w) and abs(w) <= self.w_max * (1 + 1e-12), f"weights[{r}][{c}]", w,
                          f"a weight in [-w_max, w_max] = [{-self.w_max:g}, {self.w_max:g}] (it maps to "
                          f"{g_min:.4g}..{g_max:.4g} S inside the conductance window)")
        if self.sense.kind == "tia" and self.sense.r_f_ohm is not None:
            i_max = self.rows * g_max * v_read
            check(self.sense.r_f_ohm * i_max <= self.sense.swing_v, "sense.r_f_ohm", self.sense.r_f_ohm,
                  f"a feedback resistor <= {self.sense.swing_v / i_max:.4g} ohm, so the largest column current "
                  f"{i_max:.4g} A stays inside the op-amp swing +-{self.sense.swing_v:g} V")
        if self.inputs_v is not None:
            check(self.drive.mode == "analog", "inputs_v", "given", "no explicit voltages in bit_serial mode "
                  "(the bits are the inputs)")
            check(len(self.inputs_v) == self.rows, "inputs_v", f"{len(self.inputs_v)} values",
                  f"one voltage per row ({self.rows})")
            for r, v in enumerate(self.inputs_v):
                check(0 <= v <= v_read * (1 + 1e-12), f"inputs_v[{r}]", v,
                      f"a row voltage from 0 to the read voltage {v_read:g} V (higher would disturb the state)")

    # -- resolved quantities (card-dependent defaults) -------------------------------------
    @property
    def device_card(self):
        return card_for(self.card)

    @property
    def v_read_v(self) -> float:
        """Full-scale row voltage (V)."""
        v = self.drive.v_read_v
        return float(v) if v is not None else float(self.device_card.read_v)

    @property
    def g_range_s(self) -> tuple[float, float]:
        """(g_min, g_max) of the weight mapping (S)."""
        lo, hi = self.device_card.window_s()
        span = hi - lo
        g_min = self.g_min_s if self.g_min_s is not None else lo + self.window_margin * span
        g_max = self.g_max_s if self.g_max_s is not None else hi - self.window_margin * span
        return float(g_min), float(g_max)

    @property
    def phys_cols(self) -> int:
        return 2 * self.cols

    @property
    def i_full_scale_a(self) -> float:
        """Ideal output of the full-scale partial sum rows * w_max * x_max: rows (g_max - g_min) v_read (A)."""
        g_min, g_max = self.g_range_s
        return self.rows * (g_max - g_min) * self.v_read_v

    @property
    def r_f_ohm(self) -> float:
        """Feedback resistor (ohm): given, or chosen so the largest single-ended column current
        rows * g_max * v_read reaches full_scale_fraction of the output swing."""
        if self.sense.r_f_ohm is not None:
            return float(self.sense.r_f_ohm)
        i_max = self.rows * self.g_range_s[1] * self.v_read_v
        return self.sense.full_scale_fraction * self.sense.swing_v / i_max

    @property
    def c_in_f(self) -> float:
        """Capacitance at each TIA input: the column line (F)."""
        return self.rows * self.wire.c_col_segment_f

    @property
    def c_f_f(self) -> float:
        """Feedback capacitor (F): given, or 2 sqrt(C_in / (2 pi R_f GBW)) (a well-damped TIA)."""
        if self.sense.c_f_f is not None:
            return float(self.sense.c_f_f)
        c_in = max(self.c_in_f, 1e-16)
        return 2.0 * math.sqrt(c_in / (2 * math.pi * self.r_f_ohm * self.sense.gbw_hz))

    @property
    def v_full_scale_v(self) -> float:
        """Differential TIA output of the full-scale partial sum: R_f I_fs (V); nan for an ammeter."""
        return self.r_f_ohm * self.i_full_scale_a if self.sense.kind == "tia" else math.nan

    # -- weights and inputs -> circuit values ----------------------------------------------
    def conductances(self, weights) -> np.ndarray:
        """Physical conductances (rows, 2 cols) in S of ``weights`` (rows, cols): columns 2j (G+), 2j+1 (G-)."""
        w = np.asarray(weights, dtype=float)
        if w.shape != (self.rows, self.cols):
            raise SpecError("weights", f"shape {w.shape}", f"shape ({self.rows}, {self.cols})")
        if np.any(np.abs(w) > self.w_max * (1 + 1e-12)):
            r, c = np.argwhere(np.abs(w) > self.w_max * (1 + 1e-12))[0]
            raise SpecError(f"weights[{r}][{c}]", float(w[r, c]), f"a weight in [-{self.w_max:g}, {self.w_max:g}]")
        g_min, g_max = self.g_range_s
        u = np.clip(w / self.w_max, -1.0, 1.0) * (g_max - g_min)
        g = np.empty((self.rows, self.phys_cols))
        g[:, 0::2] = g_min + np.maximum(u, 0.0)
        g[:, 1::2] = g_min + np.maximum(-u, 0.0)
        return g

    def voltages(self, x) -> np.ndarray:
        """Row voltages (V) of inputs ``x`` in [0, x_max]."""
        x = np.asarray(x, dtype=float)
        return self.v_read_v * np.clip(x / self.x_max, 0.0, 1.0)


@dataclass(frozen=True)
class CrossbarStudySpec(Spec):
    """What ``characterize crossbar`` runs on a tile."""

    patterns: int = param(64, "DC transfer patterns (random weights and inputs from the seed)")
    seed: int = param(0, "seed of numpy.random.SeedSequence for patterns, sweeps and Monte Carlo")
    adc_bits: int = param(5, "ADC resolution that defines the settling band (half an LSB of the full range)")
    sweep_rows: tuple[int, ...] = param((16, 64, 128, 256, 512), "row counts of the IR-drop sweep")
    sweep_r_wire_ohm: tuple[float, ...] = param((0.5, 1.0, 2.5, 5.0), "wire resistances per segment of the "
                                                "IR-drop sweep (rows and columns alike)", "ohm")
    sweep_patterns: int = param(8, "patterns per point of the IR-drop sweep")
    transient: bool = param(True, "run the transient read (settling time and energy)")
    mc: int = param(0, "Monte Carlo samples of programming error and read noise (0: none)")
    program_sigma_s: float | None = param(None, "programming error std (default: the card's)", "S")
    read_sigma_s: float | None = param(None, "read noise std (default: the card's)", "S")
    backend: Literal["subprocess", "shared"] = param("subprocess", "ngspice backend")
    workers: int = param(0, "Monte Carlo worker processes (0: one per core); results do not depend on it")
    mc_chunk: int = param(50, "Monte Carlo samples per chunk (one deck, one cache file)")

    def validate(self) -> None:
        check(self.workers >= 0, "workers", self.workers, "0 (one per core) or a positive count")
        check_count("mc_chunk", self.mc_chunk, 10_000, what="samples in one deck")
        check(1 <= self.patterns <= 100000, "patterns", self.patterns, "from 1 to 100000 patterns")
        check(self.seed >= 0, "seed", self.seed, "a seed >= 0")
        check(1 <= self.adc_bits <= 16, "adc_bits", self.adc_bits, "from 1 to 16 bits")
        for k, n in enumerate(self.sweep_rows):
            check(1 <= n <= MAX_ROWS, f"sweep_rows[{k}]", n, f"a row count from 1 to {MAX_ROWS}")
        for k, r in enumerate(self.sweep_r_wire_ohm):
            check(r > 0, f"sweep_r_wire_ohm[{k}]", r, "a resistance > 0 ohm")
        check_count("sweep_patterns", self.sweep_patterns, 100_000, what="patterns per sweep point")
        check_count("sweep_rows", len(self.sweep_rows), 64, low=0, what="row counts in the IR-drop sweep")
        check_count("sweep_r_wire_ohm", len(self.sweep_r_wire_ohm), 64, low=0, what="wire resistances in the sweep")
        check(0 <= self.mc <= 100000, "mc", self.mc, "from 0 to 100000 samples")
        for name in ("program_sigma_s", "read_sigma_s"):
            value = getattr(self, name)
            if value is not None:
                check_nonnegative(name, value, "S")


@dataclass(frozen=True)
class CrossbarStudy(Spec):
    """A crossbar study file: ``[crossbar]`` (the tile) and ``[study]`` (what to run)."""

    crossbar: CrossbarSpec = param(doc="the tile", default_factory=CrossbarSpec)
    study: CrossbarStudySpec = param(doc="what to run", default_factory=CrossbarStudySpec)


def load_study(path: str | Path, overrides: dict | None = None) -> CrossbarStudy:
    """A study from a TOML file (``[crossbar]`` and ``[study]`` tables) with dotted overrides.

    An override path may omit the ``crossbar.`` prefix (``rows=512``, ``wire.r_row_segment_ohm=2``).
    A relative card path is taken from the spec file's folder when it exists there.
    """
    path = Path(path)
    data = read_toml(path)
    unknown = sorted(set(data) - {"crossbar", "study"})
    if unknown:
        raise SpecError(unknown[0], data[unknown[0]], "a [crossbar] or [study] table", source=str(path))
    if "crossbar" not in data:  # an empty file must not silently run the default tile
        raise SpecError("crossbar", None, "a [crossbar] table (write [crossbar] with no keys for the defaults)",
                        source=str(path))
    card = data.get("crossbar", {}).get("card")
    if isinstance(card, str) and card.endswith(".toml") and not Path(card).is_absolute():
        local = path.parent / card
        if local.exists():
            data["crossbar"]["card"] = str(local)
    study = CrossbarStudy.from_dict(data, source=str(path))
    if overrides:
        fixed = {}
        for key, value in overrides.items():
            head = key.split(".", 1)[0]
            fixed[key if head in ("crossbar", "study") else f"crossbar.{key}"] = value
        try:
            study = study.with_overrides(fixed)
        except SpecError as err:
            raise err.within(None, str(path)) from None
    return study
