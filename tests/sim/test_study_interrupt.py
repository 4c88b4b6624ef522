"""An interrupted study (Ctrl-C during a stage) stops the SPICE work it started early (study.overlap):
that work's running ngspice is killed and it starts no new run, so the study ends now rather than when the
early work would have finished (ngspice runs in its own session, where the terminal's SIGINT does not
reach it). Real ngspice: the early work is a slow transient (tests/data/mc/rc_slow.toml, 20x the steps)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from memspice.characterize.registry import build_circuit
from memspice.montecarlo.plan import load_plan
from memspice.netlist.deck import Deck
from memspice.ngspice import simulate
from memspice.ngspice.engine import _LIVE
from memspice.study.run import Study
from memspice.study.spec import load_study_file
from tests.unit.test_study_overlap import STUDY as OVERLAP_STUDY

pytestmark = pytest.mark.ngspice

DATA = Path(__file__).resolve().parent.parent / "data" / "mc"
STUDY = OVERLAP_STUDY.replace("{extra}", "")  # the crossbar and uniform ADC stages, both started early


def test_ctrl_c_in_a_stage_stops_the_early_spice_work(tmp_path, monkeypatch):
    # rc_slow's transient with 20x the steps (~10 s of ngspice): killed at once, or it would finish
    plan = (DATA / "rc_slow.toml").read_text().replace("tran 1e-07 0.01 0 1e-07", "tran 5e-09 0.01 0 5e-09")
    plan = plan.replace('netlist = "rc_slow.cir"', f'netlist = "{DATA / "rc_slow.cir"}"')
    (tmp_path / "slow.toml").write_text(plan)
    circuit = build_circuit(load_plan(tmp_path / "slow.toml"))
    base = circuit.deck()
    slow = Deck(base.title, base.cards, steps=list(circuit.analyses()), options=base.options)
    outcome: list[object] = []
    runs: list[str] = []

    def run_crossbar(study, show_progress):  # early work 1: quick
        return "crossbar result"

    def run_adc(study, spec, show_progress):  # early work 2: two slow ngspice runs in turn
        try:
            for _ in range(2):
                runs.append("started")
                simulate(slow, backend="subprocess", timeout_s=600)
            outcome.append("finished")
        except BaseException as err:
            outcome.append(err)
            raise
        return "adc result"

    def interrupted_writer(result, out):  # the crossbar stage is interrupted once the early ngspice runs
        deadline = time.monotonic() + 60
        while not _LIVE and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _LIVE, "the early ngspice run never started"
        raise KeyboardInterrupt

    monkeypatch.setattr(Study, "_run_crossbar", run_crossbar)
    monkeypatch.setattr(Study, "_run_adc", run_adc)
    monkeypatch.setattr("memspice.characterize.crossbar.write_outputs", interrupted_writer)
    f = tmp_path / "s.toml"
    f.write_text(STUDY)
    study = Study(load_study_file(f), f, tmp_path / "run", show_progress=False)
    with pytest.raises(KeyboardInterrupt):
        study.run()
    # the early work did not run to its end: its ngspice was killed and no second run was started
    assert len(outcome) == 1 and isinstance(outcome[0], BaseException), outcome
    assert runs == ["started"]
    assert not _LIVE
    assert not [t for t in threading.enumerate() if t.name.startswith("memspice-early") and t.is_alive()]
    assert not (tmp_path / "run" / "crossbar" / "stage.json").exists()
