"""How ngspice runs for the ADC flow (:class:`RunOptions`) and the paper's figures it is compared with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from memspice.ngspice import simulate
from memspice.ngspice.engine import DEFAULT_BACKEND

PAPER = {
    "energy_per_conversion_J": 12.58e-15,
    "area_um2": 24.29,
    "bits": 5,
    "energy_split": {"source/input driver": 0.738, "ML precharge": 0.127, "other": 0.102, "encoder": 0.033},
    "area_split": {"encoder": 0.659, "cell array": 0.341},
    "walden_fom_J": 12.58e-15 / 2**5,
    "linearity_lsb": {  # RMS over samples of max |INL| (max |DNL|), DOMAIN.md section 1.2
        3: {"0%": (0.085, 0.085), "1%": (0.117, 0.118), "2.5%": (0.152, 0.192)},
        4: {"0%": (0.054, 0.033), "1%": (0.159, 0.210), "2.5%": (0.325, 0.491)},
        5: {"0%": (0.080, 0.142), "1%": (0.319, 0.419), "2.5%": (0.700, 1.070)},
        6: {"0%": (0.155, 0.141), "1%": (0.717, 0.940), "2.5%": (1.694, 2.262)},
    },
}


@dataclass(frozen=True)
class RunOptions:
    """How to run ngspice: backend, run-directory root, progress display, Monte Carlo workers and cache.

    ``workers``: Monte Carlo worker processes (None: one per core; the numbers do not depend on it).
    ``mc_cache_root``: folder of the Monte Carlo engine's chunk cache (``characterize adc`` uses
    ``OUT/mc_cache``, so an interrupted run resumes); None: a temporary folder, removed afterwards.
    ``timeout_s``: wall-clock limit of one ngspice run of the flow's own decks.
    """

    backend: str = DEFAULT_BACKEND
    run_root: Path | None = None
    show_progress: bool = True
    workers: int | None = None
    mc_cache_root: Path | None = None
    timeout_s: float = 600.0  # wall-clock guard per ngspice run (a hang guard: it is wall time, so load counts)

    def sim(self, deck):
        return simulate(deck, backend=self.backend, run_root=self.run_root, timeout_s=self.timeout_s)
