"""Voltage stimuli for device testbenches, with their exact values in Python.

Each stimulus gives its value as a numpy function of time (for the independent reference
integration), its duration and the breakpoints where its slope jumps; its SPICE waveform card is
made by the netlist layer (:func:`memspice.netlist.device.stimulus_waveform`), so spec imports no
netlist code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memspice.spec.base import Spec, check, check_positive, param


@dataclass(frozen=True)
class SineStimulus(Spec):
    """A sine of ``amplitude_v`` at ``freq_hz`` around ``offset_v``, for ``cycles`` periods."""

    amplitude_v: float = param(doc="peak amplitude", unit="V")
    freq_hz: float = param(doc="frequency", unit="Hz")
    cycles: float = param(2.0, "number of periods to simulate")
    offset_v: float = param(0.0, "DC offset", "V")

    def validate(self) -> None:
        check_positive("amplitude_v", self.amplitude_v, "V")
        check_positive("freq_hz", self.freq_hz, "Hz")
        check_positive("cycles", self.cycles)

    @property
    def duration_s(self) -> float:
        return self.cycles / self.freq_hz

    def value(self, t) -> np.ndarray:
        return self.offset_v + self.amplitude_v * np.sin(2 * np.pi * self.freq_hz * np.asarray(t, dtype=float))

    def breakpoints(self) -> tuple[float, ...]:
        return ()

    def shortest_feature_s(self) -> float:
        return 1.0 / self.freq_hz


@dataclass(frozen=True)
class PwlStimulus(Spec):
    """Piece-wise linear voltage through ``(time_s, volts)`` points; constant after the last."""

    times_s: tuple[float, ...] = param(doc="corner times, strictly increasing, first 0", unit="s")
    volts: tuple[float, ...] = param(doc="voltage at each corner", unit="V")

    def validate(self) -> None:
        check(len(self.times_s) == len(self.volts) and len(self.times_s) >= 2, "volts", len(self.volts),
              f"as many values as times_s ({len(self.times_s)}), at least 2")
        check(self.times_s[0] == 0.0, "times_s[0]", self.times_s[0], "0")
        steps = np.diff(self.times_s)
        check(bool(np.all(steps > 0)), "times_s", self.times_s, "strictly increasing times")

    @property
    def duration_s(self) -> float:
        return self.times_s[-1]

    def value(self, t) -> np.ndarray:
        return np.interp(np.asarray(t, dtype=float), self.times_s, self.volts)

    def breakpoints(self) -> tuple[float, ...]:
        return tuple(self.times_s)

    def shortest_feature_s(self) -> float:
        return float(np.min(np.diff(self.times_s)))


def pulse_train(amplitudes_v, width_s: float, *, edge_s: float, gap_s: float, settle_s: float = 0.0,
                read_v: float | None = None, read_s: float = 0.0) -> PwlStimulus:
    """Rectangular pulses (trapezoids with ``edge_s`` edges) of the given amplitudes (V).

    Each pulse is followed by ``gap_s`` at 0 V, or by a read plateau of ``read_s`` at ``read_v``
    (V) surrounded by ``gap_s`` at 0 V when ``read_v`` is given. ``settle_s`` of 0 V comes first.
    """
    check_positive("width_s", width_s, "s")
    check_positive("edge_s", edge_s, "s")
    times = [0.0]
    volts = [0.0]
    t = settle_s if settle_s > 0 else 0.0
    if settle_s > 0:
        times.append(t)
        volts.append(0.0)

    def ramp_to(level: float, hold: float) -> None:
        nonlocal t
        t += edge_s
        times.append(t)
        volts.append(level)
        if hold > 0:
            t += hold
            times.append(t)
            volts.append(level)

    for amp in amplitudes_v:
        ramp_to(float(amp), width_s)
        ramp_to(0.0, gap_s)
        if read_v is not None:
            ramp_to(float(read_v), read_s)
            ramp_to(0.0, gap_s)
    return PwlStimulus(times_s=tuple(times), volts=tuple(volts))
