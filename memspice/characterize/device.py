"""``memspice characterize device``: hysteresis, extracted figures and write-verify programming.

(a) a sine sweep gives the pinched hysteresis loop; (b) one slow transient (triangular ramps, then
a long SET and a long RESET pulse each followed by a read) gives the switching thresholds and the
ON/OFF resistances the device actually reaches; (c) write-verify programs devices to target
conductances with incremental-step pulses and verify reads, all devices of one iteration
simulated together in one deck; with ``mc`` > 0 the programming is repeated over devices whose
parameters are drawn from the card's device-to-device spread.

Everything the simulator computes comes from ngspice; Python only decides the next pulse (as a
write-verify controller does) and adds the card's read noise to verify reads.

:func:`run_device` computes a :class:`DeviceResult` and writes nothing;
:func:`memspice.characterize.device_outputs.write_outputs` writes its files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from memspice import __version__
from memspice.extract.device import energy_J, lobe_areas, mean_over, pinched, switching_onsets
from memspice.netlist.cards import VSource
from memspice.netlist.deck import Analyze, Deck, Tran
from memspice.netlist.device import (
    DEVICE_TRAN_OPTIONS,
    device_testbench,
    memristor,
    model_include,
    state_node,
    stimulus_waveform,
)
from memspice.ngspice import simulate
from memspice.progress import progress
from memspice.reference import memristor as ref
from memspice.spec.base import MAX_DEVICES, Spec, check, check_count, check_positive, param
from memspice.spec.device import DeviceCard
from memspice.spec.stimulus import PwlStimulus, SineStimulus

PAPER_LEVELS_S = (100e-6, 150e-6, 200e-6, 250e-6, 300e-6, 350e-6, 400e-6)


@dataclass(frozen=True)
class ProgramSpec(Spec):
    """Write-verify programming: incremental-step pulses until the read is within tolerance."""

    targets_s: tuple[float, ...] = param(PAPER_LEVELS_S, "target conductances (default: the paper's seven levels)",
                                         "S")
    tolerance_s: float = param(5e-6, "accepted |G - target| after a verify read", "S")
    max_pulses: int = param(300, "pulses per device before giving up")
    pulse_width_s: float | None = param(None, "pulse width; default: chosen so a first pulse moves G by about "
                                        "tolerance/2", "s")
    step_v: float | None = param(None, "amplitude increment between consecutive pulses of one polarity; "
                                 "default 2 % of the threshold", "V")
    max_amplitude_factor: float = param(2.0, "largest pulse amplitude as a multiple of the threshold")
    start_amplitude_factor: float = param(1.05, "first pulse amplitude as a multiple of the threshold")

    def validate(self) -> None:
        check_count("targets_s", len(self.targets_s), 64, what="target conductances")
        for k, g in enumerate(self.targets_s):
            check_positive(f"targets_s[{k}]", g, "S")
        check_positive("tolerance_s", self.tolerance_s, "S")
        check_count("max_pulses", self.max_pulses, 100_000, what="pulses per device")
        if self.pulse_width_s is not None:
            check_positive("pulse_width_s", self.pulse_width_s, "s")
        if self.step_v is not None:
            check_positive("step_v", self.step_v, "V")
        check(self.start_amplitude_factor > 1.0, "start_amplitude_factor", self.start_amplitude_factor,
              "a factor above 1 (pulses must exceed the threshold)")
        check(self.max_amplitude_factor >= self.start_amplitude_factor, "max_amplitude_factor",
              self.max_amplitude_factor, f"a factor >= start_amplitude_factor ({self.start_amplitude_factor:g})")


@dataclass(frozen=True)
class DeviceStudySpec(Spec):
    """What ``characterize device`` runs for one card."""

    sweep_amplitude_v: float | None = param(None, "sine amplitude; default 1.5x the larger threshold", "V")
    sweep_freq_hz: float | None = param(None, "sine frequency; default: the device switches ~90 % per half cycle",
                                        "Hz")
    sweep_cycles: float = param(2.0, "sine periods")
    program: ProgramSpec = param(doc="write-verify settings", default_factory=ProgramSpec)
    mc: int = param(0, "Monte Carlo devices programmed with device-to-device spread (0: nominal only)")
    seed: int = param(0, "seed of the Monte Carlo draws and read noise")
    backend: str = param("subprocess", "ngspice backend: subprocess or shared")

    def validate(self) -> None:
        if self.sweep_amplitude_v is not None:
            check_positive("sweep_amplitude_v", self.sweep_amplitude_v, "V")
        if self.sweep_freq_hz is not None:
            check_positive("sweep_freq_hz", self.sweep_freq_hz, "Hz")
        check(0 < self.sweep_cycles <= 1000, "sweep_cycles", self.sweep_cycles, "a number of periods in (0, 1000]")
        check_count("mc", self.mc, MAX_DEVICES, low=0, what="Monte Carlo devices, each programmed in ngspice")
        check(self.seed >= 0, "seed", self.seed, "a seed >= 0")
        check(self.backend in ("subprocess", "shared"), "backend", self.backend, "subprocess or shared")


# -- (a) hysteresis ---------------------------------------------------------------------------

def auto_sweep(card: DeviceCard, amplitude_v: float | None = None) -> tuple[float, float]:
    """Sine amplitude (V) and frequency (Hz) that switch the device by ~90 % of its range per half
    cycle on its slower polarity, from the model's rate equation with the window open."""
    th = ref.switching_thresholds(card.model, card.params)
    amp = amplitude_v if amplitude_v is not None else 1.5 * max(th)
    u = np.linspace(0.0, 0.5, 2001)
    open_params = dict(card.params)
    if card.model == "vteam":
        open_params["window"] = "none"
    excursions = []
    for sign in (1.0, -1.0):
        rate = np.abs(ref.dxdt(card.model, open_params, sign * amp * np.sin(2 * np.pi * u), np.full_like(u, 0.5)))
        excursions.append(float(np.trapezoid(rate, u)))  # = f * (state change per half cycle)
    slow = min(excursions)
    if slow <= 0:
        raise ValueError(f"amplitude {amp:g} V does not exceed both thresholds {th}")
    return amp, slow / 0.9


@dataclass
class Waveforms:
    t: np.ndarray
    v: np.ndarray
    i: np.ndarray
    x: np.ndarray


def _run_testbench(card: DeviceCard, stimulus, x0: float, backend: str) -> Waveforms:
    plot = simulate(device_testbench(card, stimulus, x0=x0), backend=backend)["tran"]
    return Waveforms(t=plot["time"], v=plot["v(p)"], i=-plot["i(vdrive)"], x=plot[state_node("dut")])


def hysteresis(card: DeviceCard, amplitude_v: float, freq_hz: float, cycles: float, backend: str,
               x0: float = 0.5) -> Waveforms:
    return _run_testbench(card, SineStimulus(amplitude_v=amplitude_v, freq_hz=freq_hz, cycles=cycles), x0, backend)


# -- (b) extraction ---------------------------------------------------------------------------

def _extraction_stimulus(card: DeviceCard, amp: float, freq: float) -> tuple[PwlStimulus, dict[str, tuple]]:
    """Triangular ramps to +amp and -amp, then a long SET pulse + read and a long RESET pulse + read."""
    set_sign = ref.set_polarity(card.model, card.params)
    ramp = 0.5 / freq  # each ramp as slow as half a sine period
    full = 1.0 / max(abs(float(ref.dxdt(card.model, card.params, s * amp, 0.5))) for s in (1.0, -1.0))
    hold = 30.0 * full  # saturate well into the window's tail
    edge = ramp / 100.0
    read = max(10 * edge, hold / 20.0)
    t, v = [0.0], [0.0]

    def go(level: float, duration: float) -> None:
        t.append(t[-1] + duration)
        v.append(level)

    go(amp, ramp)
    go(0.0, ramp)
    go(-amp, ramp)
    go(0.0, ramp)
    marks: dict[str, tuple] = {}
    for name, sign in (("on", set_sign), ("off", -set_sign)):
        go(sign * amp, edge)
        go(sign * amp, hold)
        go(0.0, edge)
        go(card.read_v, edge)
        start = t[-1]
        go(card.read_v, read)
        marks[name] = (start + 0.25 * read, t[-1])
        go(0.0, edge)
    return PwlStimulus(times_s=tuple(t), volts=tuple(v)), marks


def extract_figures(card: DeviceCard, amp: float, freq: float, backend: str) -> dict[str, float]:
    """Thresholds (V, first motion on slow ramps) and R_on/R_off (ohm, reads after long pulses)."""
    stim, marks = _extraction_stimulus(card, amp, freq)
    wf = _run_testbench(card, stim, 0.5, backend)
    ramps_end = stim.times_s[4]
    mask = wf.t <= ramps_end
    onsets = switching_onsets(wf.v[mask], wf.x[mask])
    set_sign = ref.set_polarity(card.model, card.params)
    set_onset = onsets.positive_v if set_sign > 0 else onsets.negative_v
    reset_onset = onsets.negative_v if set_sign > 0 else onsets.positive_v
    i_on = mean_over(wf.t, wf.i, *marks["on"])
    i_off = mean_over(wf.t, wf.i, *marks["off"])
    th_set, th_reset = ref.switching_thresholds(card.model, card.params)
    return {
        "set_threshold_V": abs(set_onset),
        "reset_threshold_V": abs(reset_onset),
        "card_set_threshold_V": th_set,
        "card_reset_threshold_V": th_reset,
        "r_on_ohm": card.read_v / i_on,
        "r_off_ohm": card.read_v / i_off,
        "card_r_on_ohm": 1.0 / card.window_s()[1],
        "card_r_off_ohm": (1.0 / card.window_s()[0]) if card.window_s()[0] > 0 else math.inf,
    }


# -- (c) write-verify -------------------------------------------------------------------------

@dataclass
class _Device:
    index: int
    sample: int
    card: DeviceCard
    target_s: float
    x: float
    g: float
    pulses: int = 0
    energy_J: float = 0.0
    last_sign: float = 0.0
    amplitude_v: float = 0.0
    width_s: float = 0.0
    done: bool = False
    trajectory: list[tuple[int, float, float]] = field(default_factory=list)


@dataclass
class ProgrammingPlan:
    """Pulse timing and amplitude schedule, derived from the nominal card."""

    width_s: float
    edge_s: float
    gap_s: float
    read_s: float
    set_start_v: float
    reset_start_v: float
    set_max_v: float
    reset_max_v: float
    step_v: float
    start_state: float
    set_sign: float

    min_width_factor: float = 0.125
    max_width_factor: float = 64.0

    def stimulus(self, amplitude_v: float, width_s: float, read_v: float, slot_s: float) -> PwlStimulus:
        """0 V, then a pulse of ``width_s`` ending at ``slot_s`` (the same end for every width in one
        iteration), then a read plateau at ``read_v``."""
        e = self.edge_s
        lead = slot_s - width_s
        times = [0.0]
        volts = [0.0]
        if lead > 0:
            times.append(lead)
            volts.append(0.0)
        t = times[-1]
        for dt, level in ((e, amplitude_v), (width_s, amplitude_v), (e, 0.0), (self.gap_s, 0.0), (e, read_v),
                          (self.read_s, read_v), (e, 0.0), (self.gap_s, 0.0)):
            t += dt
            times.append(t)
            volts.append(level)
        return PwlStimulus(times_s=tuple(times), volts=tuple(volts))

    def read_window_s(self, slot_s: float) -> tuple[float, float]:
        """Second half of the read plateau."""
        start = slot_s + 3 * self.edge_s + self.gap_s
        return start + 0.5 * self.read_s, start + self.read_s

    def next_width(self, dev: _Device, delta_g: float, error_before: float, error_after: float) -> float:
        """Model-free width control from the last verify read: aim the next pulse at half the
        remaining error given the change the last pulse made; halve it after an overshoot."""
        if error_before * error_after < 0:  # crossed the target
            width = dev.width_s / 2
        elif abs(delta_g) > 0 and delta_g * error_before < 0:  # moved towards the target
            width = dev.width_s * float(np.clip(0.5 * abs(error_after) / abs(delta_g), 0.25, 4.0))
        else:
            width = dev.width_s * 2
        return float(np.clip(width, self.width_s * self.min_width_factor, self.width_s * self.max_width_factor))


def _nice(value: float) -> float:
    """Round down to 1, 2 or 5 times a power of ten."""
    exp = math.floor(math.log10(value))
    base = value / 10**exp
    return (5.0 if base >= 5 else 2.0 if base >= 2 else 1.0) * 10**exp


def plan_programming(card: DeviceCard, spec: ProgramSpec) -> ProgrammingPlan:
    th_set, th_reset = ref.switching_thresholds(card.model, card.params)
    set_sign = ref.set_polarity(card.model, card.params)
    lo = card.window_s()[0]
    targets = np.asarray(spec.targets_s)
    g_mid = float(np.median(targets))
    x_mid = float(card.state_for(g_mid))
    dx = 1e-4
    dg_dx = abs(float(card.conductance(min(x_mid + dx, 1.0)) - card.conductance(max(x_mid - dx, 0.0)))) / (2 * dx)
    v_start = set_sign * spec.start_amplitude_factor * th_set
    rate = abs(float(ref.dxdt(card.model, card.params, v_start, x_mid)))
    if spec.pulse_width_s is not None:
        width = spec.pulse_width_s
    else:
        width = _nice(0.5 * spec.tolerance_s / (dg_dx * rate)) if rate > 0 else 1e-6
    step = spec.step_v if spec.step_v is not None else 0.02 * min(th_set, th_reset)
    g_start = max(lo, 0.25 * float(targets.min()))
    return ProgrammingPlan(
        width_s=width, edge_s=width / 20.0, gap_s=width / 4.0, read_s=width / 2.0,
        set_start_v=spec.start_amplitude_factor * th_set, reset_start_v=spec.start_amplitude_factor * th_reset,
        set_max_v=spec.max_amplitude_factor * th_set, reset_max_v=spec.max_amplitude_factor * th_reset,
        step_v=step, start_state=float(card.state_for(g_start)), set_sign=set_sign,
    )


def _next_pulse(dev: _Device, plan: ProgrammingPlan) -> float:
    """Signed amplitude of the device's next pulse (incremental step within one polarity)."""
    sign = plan.set_sign if dev.g < dev.target_s else -plan.set_sign
    start, top = ((plan.set_start_v, plan.set_max_v) if sign == plan.set_sign
                  else (plan.reset_start_v, plan.reset_max_v))
    if sign != dev.last_sign:
        dev.amplitude_v = start
    else:
        dev.amplitude_v = min(dev.amplitude_v + plan.step_v, top)
    dev.last_sign = sign
    return sign * dev.amplitude_v


def _pulse_deck(devices: list[_Device], amplitudes: list[float], plan: ProgrammingPlan, read_v: float,
                slot_s: float) -> Deck:
    cards: list = [model_include(devices[0].card)]
    vectors: list[str] = []
    stim = None
    for dev, amp in zip(devices, amplitudes, strict=True):
        stim = plan.stimulus(amp, dev.width_s, read_v, slot_s)
        name = f"d{dev.index}"
        cards.append(VSource(name, f"p{dev.index}", "0", 0.0, stimulus_waveform(stim)))
        cards.append(memristor(dev.card, f"m{dev.index}", f"p{dev.index}", "0", x0=dev.x))
        vectors += [f"i(v{name})", state_node(f"m{dev.index}")]
    assert stim is not None
    # A pulse moves G by a fraction of the remaining error; 1/10 of the shortest width in the deck
    # resolves that, and ngspice's truncation-error control (reltol 1e-6) keeps the state accurate.
    max_step = min(d.width_s for d in devices) / 10.0
    tran = Tran(step_s=max_step, stop_s=stim.duration_s, max_step_s=max_step)
    return Deck("write-verify pulse", cards, steps=[Analyze(tran, tuple(vectors), label="pulse")],
                options=DEVICE_TRAN_OPTIONS)


def write_verify(devices: list[_Device], plan: ProgrammingPlan, spec: ProgramSpec, read_v: float,
                 rng: np.random.Generator, read_sigma_s: float, backend: str, show_progress: bool = True) -> None:
    """Program every device to its target; all active devices share one deck per iteration."""
    for dev in devices:
        dev.done = abs(dev.g - dev.target_s) <= spec.tolerance_s
        dev.width_s = plan.width_s
    with progress(spec.max_pulses, "write-verify pulses", enabled=show_progress) as prog:
        for _ in range(spec.max_pulses):
            active = [d for d in devices if not d.done]
            if not active:
                break
            amps = [_next_pulse(d, plan) for d in active]
            slot = max(d.width_s for d in active)
            read_start, read_stop = plan.read_window_s(slot)
            plot = simulate(_pulse_deck(active, amps, plan, read_v, slot), backend=backend)["pulse"]
            t = plot["time"]
            for dev, amp in zip(active, amps, strict=True):
                i_dev = -plot[f"i(vd{dev.index})"]
                x = plot[state_node(f"m{dev.index}")]
                stim = plan.stimulus(amp, dev.width_s, read_v, slot)
                v = np.interp(t, stim.times_s, stim.volts)
                i_read = mean_over(t, i_dev, read_start, read_stop)
                g_before = dev.g
                dev.g = i_read / read_v + (rng.normal(0.0, read_sigma_s) if read_sigma_s > 0 else 0.0)
                dev.x = float(x[-1])
                dev.energy_J += energy_J(t, v, i_dev)
                dev.pulses += 1
                dev.trajectory.append((dev.pulses, amp, dev.width_s, dev.g))
                dev.done = abs(dev.g - dev.target_s) <= spec.tolerance_s
                dev.width_s = plan.next_width(dev, dev.g - g_before, g_before - dev.target_s, dev.g - dev.target_s)
            prog.advance()


def draw_device_cards(card: DeviceCard, n: int, rng: np.random.Generator) -> list[DeviceCard]:
    """``n`` cards with parameters drawn from the card's relative device-to-device spread
    (normal, truncated at 3 sigma; a draw that breaks a physical rule is drawn again)."""
    spread = card.variability.d2d_rel_sigma
    out = []
    for _ in range(n):
        for _attempt in range(100):
            values = {}
            for key, rel in spread.items():
                z = rng.standard_normal()
                while abs(z) > 3.0:
                    z = rng.standard_normal()
                values[key] = float(card.params[key]) * (1.0 + rel * z)
            try:
                out.append(card.with_params(**values))
                break
            except ValueError:
                continue
        else:  # pragma: no cover - spreads are small
            raise ValueError("could not draw a valid device from the card's spread")
    return out


# -- the whole characterization -----------------------------------------------------------------

@dataclass
class DeviceResult:
    """Everything ``characterize device`` computed for one card (no files written)."""

    card: DeviceCard
    spec: DeviceStudySpec
    loop: Waveforms  # (a) the hysteresis sweep
    devices: list[_Device]  # (c) every programmed device with its pulse trajectory
    device_cards: list[DeviceCard]  # the nominal card, then the Monte Carlo devices' cards
    summary: dict[str, Any]  # summary.json


def run_device(card: DeviceCard, spec: DeviceStudySpec, *, show_progress: bool = True) -> DeviceResult:
    """Run (a), (b) and (c) (and the Monte Carlo); writes no file
    (:func:`memspice.characterize.device_outputs.write_outputs` does)."""
    lo, hi = card.window_s()
    for k, g in enumerate(spec.program.targets_s):
        check(lo <= g <= hi, f"program.targets_s[{k}]", g,
              f"a conductance inside card {card.name}'s window {lo:.4g}..{hi:.4g} S (at {card.read_v:g} V)")
    amp, freq = auto_sweep(card, spec.sweep_amplitude_v)
    if spec.sweep_freq_hz is not None:
        freq = spec.sweep_freq_hz

    loop = hysteresis(card, amp, freq, spec.sweep_cycles, spec.backend)
    area_pos, area_neg = lobe_areas(loop.v, loop.i)

    figures_b = extract_figures(card, amp, freq, spec.backend)

    plan = plan_programming(card, spec.program)
    ss = np.random.SeedSequence(spec.seed)
    rng_devices, rng_noise = (np.random.default_rng(s) for s in ss.spawn(2))
    device_cards = [card] + (draw_device_cards(card, spec.mc, rng_devices) if spec.mc else [])
    devices: list[_Device] = []
    for sample, dcard in enumerate(device_cards):
        for target in spec.program.targets_s:
            x0 = plan.start_state
            devices.append(_Device(index=len(devices), sample=sample, card=dcard, target_s=target, x=x0,
                                   g=float(dcard.conductance(x0))))
    write_verify(devices, plan, spec.program, card.read_v, rng_noise, card.variability.read_sigma_s,
                 spec.backend, show_progress)

    per_target = []
    for target in spec.program.targets_s:
        group = [d for d in devices if d.target_s == target]
        finals = np.array([d.g for d in group])
        per_target.append({
            "target_S": target,
            "devices": len(group),
            "converged": int(sum(abs(d.g - target) <= spec.program.tolerance_s for d in group)),
            "final_mean_S": float(finals.mean()),
            "final_std_S": float(finals.std(ddof=1)) if len(group) > 1 else 0.0,
            "pulses_mean": float(np.mean([d.pulses for d in group])),
            "pulses_max": int(max(d.pulses for d in group)),
            "energy_mean_J": float(np.mean([d.energy_J for d in group])),
        })
    summary = {
        "memspice_version": __version__,
        "card": card.name,
        "model": card.model,
        "card_spec_hash": card.spec_hash(),
        "params": dict(card.params),
        "read_v_V": card.read_v,
        "window_S": [lo, hi],
        "set_polarity": ref.set_polarity(card.model, card.params),
        "sweep": {"amplitude_V": amp, "freq_hz": freq, "cycles": spec.sweep_cycles,
                  "pinched": pinched(loop.v, loop.i), "lobe_area_pos_VA": area_pos, "lobe_area_neg_VA": area_neg,
                  "state_min": float(loop.x.min()), "state_max": float(loop.x.max())},
        "extracted": figures_b,
        "programming": {
            "width_s": plan.width_s, "step_V": plan.step_v, "set_start_V": plan.set_start_v,
            "reset_start_V": plan.reset_start_v, "set_max_V": plan.set_max_v, "reset_max_V": plan.reset_max_v,
            "tolerance_S": spec.program.tolerance_s, "max_pulses": spec.program.max_pulses,
            "read_noise_sigma_S": card.variability.read_sigma_s,
            "per_target": per_target,
        },
        "mc": {"devices": spec.mc, "seed": spec.seed,
               "d2d_rel_sigma": dict(card.variability.d2d_rel_sigma),
               "final_std_S_mean": float(np.mean([p["final_std_S"] for p in per_target])) if spec.mc else None,
               "paper_program_sigma_S": [2.4e-6, 3.0e-6]},
        "backend": spec.backend,
    }
    return DeviceResult(card=card, spec=spec, loop=loop, devices=devices, device_cards=device_cards, summary=summary)
