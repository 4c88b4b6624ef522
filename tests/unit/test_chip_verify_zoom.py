"""The fine part of a closed-loop chip's coarse whole-range read (chip_verify._zoom), on synthetic
coarse readings (the ngspice readings themselves: tests/sim/test_qcell_closed_loop.py)."""

import numpy as np

from memspice.characterize.adc.chip_verify import Read, _zoom

VDD = 1.0


def _coarse(n: int, matches=(), ml=None):
    out = np.full(n, VDD)
    out[list(matches)] = 0.0
    return out, (np.zeros(n) if ml is None else np.asarray(ml, dtype=float))


def test_zoom_reads_between_the_coarse_points_around_the_matches():
    rd = Read(first=0, last=80, stride=8)  # coarse points at 0, 8, ..., 80
    out, ml = _coarse(11, matches=(4, 5))
    z = _zoom(rd, out, ml, VDD)
    assert (z.first, z.last, z.stride, z.final) == (24, 48, 1, True)


def test_zoom_without_a_match_reads_one_coarse_step_around_the_single_peak():
    rd = Read(first=0, last=80, stride=8)
    out, ml = _coarse(11, ml=[0, 0, 0.01, 0.2, 0.4, 0.25, 0.02, 0, 0, 0, 0])
    z = _zoom(rd, out, ml, VDD)
    assert (z.first, z.last) == (24, 40)


def test_zoom_reads_the_whole_range_fine_when_the_match_line_rises_twice():
    # two separate rises above ML_RISE_V: the one-peak premise fails, so no zoom
    rd = Read(first=0, last=80, stride=8)
    out, ml = _coarse(11, ml=[0, 0.2, 0.3, 0.01, 0, 0, 0.05, 0.35, 0.1, 0, 0])
    z = _zoom(rd, out, ml, VDD)
    assert (z.first, z.last, z.stride, z.final) == (0, 80, 1, True)
