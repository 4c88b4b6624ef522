"""The precharge/evaluate scheme against the static one (real ngspice): same codes, energy by cause."""

import numpy as np
import pytest

from memspice.characterize import adc as flow
from memspice.characterize.adc.timed import program_in_timing, timed_bounds
from memspice.errors import SpecError
from memspice.spec.adc import AdcSpec
from memspice.spec.device import load_card

pytestmark = pytest.mark.ngspice

OPTS = flow.RunOptions(backend="shared", show_progress=False)
PRE = {"timing.scheme": "precharge", "timing.read_s": 0.6e-9, "timing.period_s": 1.0e-9}


@pytest.fixture(scope="module")
def programmed():
    spec = AdcSpec(bits=3)
    card = load_card(spec.card)
    pmap = flow.programming_map(spec, card, OPTS)
    prog = flow.program(spec, card, pmap, spec.targets_v(), OPTS)
    return spec, card, pmap, prog


def test_precharge_converts_the_same_codes_as_static(programmed):
    spec, card, pmap, prog = programmed
    static = flow.conversion_energy_settled(spec, card, prog, OPTS)
    pre_spec = spec.with_overrides(PRE)
    timed = program_in_timing(pre_spec, card, pmap, prog, OPTS)
    # verified in its own timing: every boundary within the write-verify tolerance
    assert np.max(np.abs(timed.error_lsb)) <= spec.program_tol_lsb
    pre = flow.conversion_energy(pre_spec, card, timed.prog, OPTS)
    assert static.codes_ok and pre.codes_ok
    assert pre.sampled_codes == static.sampled_codes == static.expected_codes
    for en in (static, pre):
        # the split adds up to the per-supply totals computed independently (rail x delivered charge)
        assert en.static_j + en.switching_j == pytest.approx(en.energy_per_conversion_j, rel=1e-9)
        assert 0 < en.switching_j < en.energy_per_conversion_j
        causes = en.by_cause()
        assert sum(causes["static_J"].values()) == pytest.approx(en.static_j, rel=1e-9)
        # the dividers are the largest static cause in both schemes (DOMAIN.md 1.3)
        assert max(causes["static_J"], key=causes["static_J"].get) == "dividers"


@pytest.mark.slow
def test_timed_bounds_agree_with_dc_in_a_long_static_read(programmed):
    """The timed read is an independent measurement of the same bounds: in the static scheme with a
    read window long enough to settle, it agrees with the DC sweep within the sweep resolution."""
    spec, card, _, prog = programmed
    slow = spec.with_overrides({"timing.read_s": 4.8e-9, "timing.period_s": 5.2e-9})
    lo, up = timed_bounds(slow, card, prog.g_lower_s, prog.g_upper_s, prog.lower_v, prog.upper_v, OPTS)
    ok = np.isfinite(prog.lower_v)
    # DC bounds are read to +-half a sweep step; the timed crossing is interpolated: one step covers both
    assert np.max(np.abs(lo[ok] - prog.lower_v[ok])) <= spec.sweep_step_lsb * spec.lsb_v + 1e-4
    ok = np.isfinite(prog.upper_v)
    assert np.max(np.abs(up[ok] - prog.upper_v[ok])) <= spec.sweep_step_lsb * spec.lsb_v + 1e-4


def test_read_window_too_short_is_a_spec_error(programmed):
    spec, card, _, prog = programmed
    # valid timing on paper (sense after precharge, 3 edges to settle) but too short for the cell
    short = spec.with_overrides({**PRE, "timing.read_s": 0.15e-9, "timing.precharge_s": 0.05e-9,
                                 "timing.sense_s": 0.08e-9})
    with pytest.raises(SpecError, match=r"timing\.read_s"):
        flow.conversion_energy_settled(short, card, prog, OPTS)
