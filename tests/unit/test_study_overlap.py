"""study.overlap: the SPICE work that reads no earlier stage starts early, in one low-priority thread,
and its stage writes what it computed (the simulations themselves are replaced by stand-ins here; the
real-ngspice study in tests/cli/test_study_cli.py checks the tables against a run without overlap)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from memspice.errors import SimulationError
from memspice.resources import circuits_dir
from memspice.spec.adc import AdcSpec
from memspice.study.run import Study, lower_thread_priority
from memspice.study.spec import load_study_file

STUDY = f"""
[study]
name = "overlap"
bits = [3]
stages = ["crossbar", "adc"]
{{extra}}
[crossbar]
spec = "{circuits_dir() / 'crossbar_128.toml'}"
mc = 4

[adc]
spec = "{circuits_dir() / 'qcell_adc_4bit.toml'}"
boundary_sets = ["uniform"]
mc = 2
"""


class _Fake:
    """Stands in for the crossbar and ADC simulations and their writers: records who ran what, where."""

    def __init__(self, monkeypatch, fail: str = ""):
        self.calls: list[tuple[str, str, bool]] = []
        self.written: list[tuple[str, object]] = []
        fake = self

        def run_crossbar(study, show_progress):
            fake.calls.append(("crossbar", threading.current_thread().name, show_progress))
            if fail == "crossbar":
                raise SimulationError("crossbar failed in ngspice")
            return "crossbar result"

        def run_adc(study, spec, show_progress):
            fake.calls.append((f"adc {spec.bits}b", threading.current_thread().name, show_progress))
            return f"adc {spec.bits}b result"

        def write(name):
            def w(result, out):
                fake.written.append((name, result))
                Path(out).mkdir(parents=True, exist_ok=True)
                return {"energy_per_conversion_J": 1.0, "area_um2": 1.0, "inl_max_lsb": 0.0, "dnl_max_lsb": 0.0,
                        "boundary_sigma_rms_V": 0.0}
            return w

        monkeypatch.setattr(Study, "_run_crossbar", run_crossbar)
        monkeypatch.setattr(Study, "_run_adc", run_adc)
        monkeypatch.setattr(Study, "export", lambda study: study.run_dir / "index.html")
        monkeypatch.setattr("memspice.characterize.crossbar.write_outputs", write("crossbar"))
        monkeypatch.setattr("memspice.characterize.adc.write_outputs", write("adc"))


def _study(tmp_path: Path, extra: str = "") -> Study:
    f = tmp_path / "s.toml"
    f.write_text(STUDY.replace("{extra}", extra))
    return Study(load_study_file(f), f, tmp_path / "run", show_progress=True)


def test_crossbar_and_uniform_adc_run_early_in_one_thread_and_their_stages_write_them(tmp_path, monkeypatch):
    fake = _Fake(monkeypatch)
    study = _study(tmp_path)
    study.run()
    assert [(what, thread.startswith("memspice-early"), show) for what, thread, show in fake.calls] == [
        ("crossbar", True, False), ("adc 3b", True, False)]
    assert fake.written == [("crossbar", "crossbar result"), ("adc", "adc 3b result")]
    for stage in ("crossbar", "adc"):
        record = json.loads((study.run_dir / stage / "stage.json").read_text())
        assert record["summary"]["seconds_beside_earlier_stages"] >= 0.0
    # a rerun finds both stages finished with the same configuration: nothing is started early or again
    fake.calls.clear()
    again = _study(tmp_path)
    again.run()
    assert fake.calls == [] and all(r.cached for r in again.runner.results.values())


def test_without_overlap_every_stage_computes_in_the_main_thread(tmp_path, monkeypatch):
    fake = _Fake(monkeypatch)
    study = _study(tmp_path, "overlap = false")
    study.run()
    assert fake.calls == [("crossbar", "MainThread", True), ("adc 3b", "MainThread", True)]
    assert "seconds_beside_earlier_stages" not in study.runner.results["crossbar"].summary


def test_an_edited_adc_starts_the_uniform_adc_early_again(tmp_path, monkeypatch):
    fake = _Fake(monkeypatch)
    _study(tmp_path).run()
    (tmp_path / "s.toml").write_text(STUDY.replace("{extra}", "").replace("mc = 2", "mc = 3"))
    fake.calls.clear()
    study = Study(load_study_file(tmp_path / "s.toml"), tmp_path / "s.toml", tmp_path / "run")
    study.run()
    assert [(what, thread.startswith("memspice-early")) for what, thread, _ in fake.calls] == [("adc 3b", True)]


def test_early_work_that_fails_fails_its_stage(tmp_path, monkeypatch):
    _Fake(monkeypatch, fail="crossbar")
    study = _study(tmp_path)
    with pytest.raises(SimulationError, match="crossbar failed"):
        study.run()
    assert not (study.run_dir / "crossbar").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="nice is per thread on Linux only")
def test_lower_thread_priority_lowers_the_thread_and_what_it_starts_not_the_process(tmp_path):
    import os

    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen = {}

    def body():
        lower_thread_priority()
        seen["thread"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        seen["child"] = int(subprocess.run(["nice"], capture_output=True, text=True, check=True).stdout)

    t = threading.Thread(target=body)
    t.start()
    t.join()
    assert seen == {"thread": 19, "child": 19}
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before


def test_the_adc_stage_key_keeps_older_hashes_and_follows_the_rules_node(tmp_path):
    """The ADC stage is keyed on the specs' hash data: at 45 nm rules on the 45 nm card no
    ``rules_node_nm`` (the key of runs before the field, so their caches still hit); on the 22 nm card,
    whose rules now scale, it is part of the key."""
    study = _study(tmp_path)
    spec = AdcSpec()
    key = study._adc_config({("uniform", 4): spec})
    assert "rules_node_nm" not in key["specs"]["uniform_4b"]["layout"]
    spec22 = spec.with_overrides({"cell.transistors": "ptm_22nm_hp"})
    key22 = study._adc_config({("uniform", 4): spec22})
    assert key22["specs"]["uniform_4b"]["layout"]["rules_node_nm"] == 45.0
