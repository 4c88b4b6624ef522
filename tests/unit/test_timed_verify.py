"""Write-verify in the conversion timing against a synthetic cell (no simulator): the logic of
:func:`memspice.characterize.adc.timed.program_in_timing`. The circuit result is
tests/sim/test_qcell_precharge.py (3 bits in ngspice) and docs/adc.md 5d (5 bits)."""

import numpy as np
import pytest

from memspice.characterize.adc import timed
from memspice.characterize.adc.programming import Programming, plan_bounds
from memspice.extract.adc import ProgrammingMap
from memspice.spec.adc import AdcSpec
from memspice.spec.device import load_card

pytestmark = pytest.mark.unit

SPEC = AdcSpec().with_overrides({"bits": 4, "timing.scheme": "precharge"})
LSB = SPEC.lsb_v
# a linear map: each bound rises 2 mV/uS over the card's window (the DC read state)
G = np.linspace(40e-6, 470e-6, 21)
PMAP = ProgrammingMap(g_s=G, lower_v=0.60 + 2e3 * (G - 40e-6), upper_v=0.62 + 2e3 * (G - 40e-6))


def fake_timed(shift_lsb, calls, closed_seen):
    """The timing reads every lower bound ``shift_lsb`` below its DC value (as measured at 5 bits, where
    it grows to ~2 LSB at the top of the range) and 1.6x as sensitive to its conductance as the DC map
    says (so a step computed from the map overshoots); a window narrower than 0.6 LSB never matches in
    time (read as a closed window: lower one step above its search, upper one step below)."""

    def read(spec, card, gl, gu, lower_v, upper_v, opts, half_width_lsb=1.2, step_lsb=0.1):
        calls.append(half_width_lsb)
        dc = PMAP.boundary_v("lower", gl)
        lo = dc - shift_lsb * LSB + 0.6 * (dc - 0.9)
        up = PMAP.boundary_v("upper", gu)
        closed = (up - lo < 0.6 * LSB) & np.isfinite(lower_v) & np.isfinite(upper_v)
        closed_seen.append(int(closed.sum()))
        lo = np.clip(lo, lower_v - (half_width_lsb + step_lsb) * LSB, lower_v + (half_width_lsb + step_lsb) * LSB)
        up = np.clip(up, upper_v - (half_width_lsb + step_lsb) * LSB, upper_v + (half_width_lsb + step_lsb) * LSB)
        lo = np.where(closed, lower_v + (half_width_lsb + step_lsb) * LSB, lo)
        up = np.where(closed, upper_v - (half_width_lsb + step_lsb) * LSB, up)
        return np.where(np.isfinite(lower_v), lo, np.nan), np.where(np.isfinite(upper_v), up, np.nan)

    return read


def dc_programming():
    plan = plan_bounds(SPEC, SPEC.targets_v())
    gl = np.where(np.isfinite(plan.lower_v), PMAP.conductance_s("lower", np.nan_to_num(plan.lower_v, nan=0.7)), 40e-6)
    gu = np.where(np.isfinite(plan.upper_v), PMAP.conductance_s("upper", np.nan_to_num(plan.upper_v, nan=0.7)),
                  470e-6)
    return Programming(g_lower_s=gl, g_upper_s=gu, plan=plan, lower_v=plan.lower_v.copy(), upper_v=plan.upper_v.copy())


@pytest.mark.parametrize("shift_lsb", [0.4, 1.6])
def test_the_timed_read_is_the_verify_and_brings_every_boundary_on_target(monkeypatch, shift_lsb):
    calls, closed_seen = [], []
    monkeypatch.setattr(timed, "timed_bounds", fake_timed(shift_lsb, calls, closed_seen))
    prog = dc_programming()
    out = timed.program_in_timing(SPEC, load_card(SPEC.card), PMAP, prog)
    # on target in the timing, whatever the DC read of the same conductances says
    assert np.max(np.abs(out.error_lsb)) <= SPEC.program_aim_lsb + 1e-9
    if shift_lsb > 1:  # the map's step overshoots and closes windows in the timing, and the loop recovers
        assert max(closed_seen) > 0
    # the first read searches wide around the DC bounds, the later ones +-1.2 LSB around the targets
    # (a window read closed from two saturated readings is read again over the wide window first)
    reads = [c for c in calls if c != timed.WIDE_HALF_WIDTH_LSB]
    assert reads[0] == timed.FIRST_HALF_WIDTH_LSB and set(reads[1:]) <= {1.2}
    assert out.rounds == len(reads) <= timed.MAX_TIMED_READS and out.prog.g_lower_s is not prog.g_lower_s
