"""The Monte Carlo engine with real ngspice: exact against analytic results, invariant to workers and
backends, resumable after SIGKILL, failure-tolerant, and on a Dask cluster."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from memspice.characterize.registry import run_plan_by_kind as run_plan
from memspice.errors import InputError
from memspice.montecarlo.outputs import result_table, sample_table, write_outputs
from memspice.montecarlo.plan import load_plan

pytestmark = pytest.mark.ngspice
DATA = Path(__file__).resolve().parent.parent / "data" / "mc"


def _tables(result):
    return sample_table(result), result_table(result)


def test_every_sample_matches_the_analytic_divider(tmp_path):
    result = run_plan(load_plan(DATA / "ladder.toml"), workers=1, cache_root=tmp_path, show_progress=False)
    r = result.values("r")
    v = result.measure("v_out_V")
    i = result.measure("i_in_A")
    # a linear network solved by ngspice's direct solver: agreement to rounding (1e-12 relative)
    np.testing.assert_allclose(v, r[:, 2] / r.sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(-i, 1.0 / r.sum(axis=1), rtol=1e-12)
    assert result.n_failed == 0 and len(v) == 40
    assert 0.03 < np.std(r[:, 0]) / 1000 < 0.07  # the 5 % mismatch really was applied


def test_same_numbers_with_any_worker_count_and_backend(tmp_path):
    plan = load_plan(DATA / "ladder.toml")
    one = run_plan(plan, workers=1, cache_root=tmp_path / "a", show_progress=False)
    two = run_plan(plan, workers=2, cache_root=tmp_path / "b", show_progress=False)
    shared = run_plan(plan.replace(backend="shared"), workers=2, cache_root=tmp_path / "c", show_progress=False)
    assert _tables(one) == _tables(two) == _tables(shared)


def test_rerun_uses_the_cache(tmp_path):
    plan = load_plan(DATA / "ladder.toml")
    first = run_plan(plan, workers=1, cache_root=tmp_path, show_progress=False)
    again = run_plan(plan, workers=1, cache_root=tmp_path, show_progress=False)
    assert first.computed_chunks == plan.n_chunks and again.computed_chunks == 0
    assert _tables(first) == _tables(again)
    changed = run_plan(plan.replace(seed=8), workers=1, cache_root=tmp_path, show_progress=False)
    assert changed.computed_chunks == plan.n_chunks  # another seed is another cache entry


def test_failures_are_recorded_retried_and_counted(tmp_path):
    plan = load_plan(DATA / "bistable.toml")
    result = run_plan(plan, workers=1, cache_root=tmp_path, show_progress=False)
    current = result.values("i")[:, 0]
    v = result.measure("v_a_V")
    table = result_table(result)
    no_solution = (current > 0.5e-3) & (current < 1.5e-3)
    assert no_solution.any() and (~no_solution).any()  # the seed gives both kinds
    for k, bad in enumerate(no_solution):
        if bad:
            assert table["status"][k] == "failed" and table["retried"][k] is True
            assert "converge" in table["reason"][k] and np.isnan(v[k])
        else:
            assert table["status"][k] == "ok"
            # below 0.5 mA the load is R1 alone; above 1.5 mA it also sinks 1 mA
            expected = current[k] * 1e3 if current[k] <= 0.5e-3 else (current[k] - 1e-3) * 1e3
            assert v[k] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    summary = write_outputs(result, tmp_path / "out")
    assert summary["failures"] == int(no_solution.sum())


def test_incompatible_cache_is_refused_and_kept(tmp_path):
    plan = load_plan(DATA / "ladder.toml")
    result = run_plan(plan, workers=1, cache_root=tmp_path, show_progress=False)
    meta = result.cache_dir / "meta.json"
    data = json.loads(meta.read_text())
    data["format"] = 0
    meta.write_text(json.dumps(data))
    before = sorted(p.read_bytes() for p in result.cache_dir.iterdir())
    with pytest.raises(InputError, match="cache format 0"):
        run_plan(plan, workers=1, cache_root=tmp_path, show_progress=False)
    assert sorted(p.read_bytes() for p in result.cache_dir.iterdir()) == before


def test_sigkill_then_resume_gives_the_uninterrupted_table(tmp_path):
    plan_file = DATA / "rc_slow.toml"
    env = {**os.environ, "MEMSPICE_PROGRESS": "off"}
    cmd = [sys.executable, "-m", "memspice", "mc", str(plan_file), "--workers", "1"]
    proc = subprocess.Popen([*cmd, "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "killed")],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    chunks: list[Path] = []
    while time.monotonic() < deadline:
        chunks = list((tmp_path / "cache").glob("*/chunk_*.json"))
        if len(chunks) >= 3:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(list((tmp_path / "cache").glob("*/chunk_*.json")))
    assert 3 <= done_before < 24, done_before  # killed mid-way
    assert not list((tmp_path / "cache").glob("*/.*tmp"))  # no half-written chunk is visible
    resumed = subprocess.run([*cmd, "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "resumed")],
                             env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{24 - done_before} computed now, {done_before} from cache" in resumed.stdout
    clean = subprocess.run([*cmd, "--cache", str(tmp_path / "cache2"), "--out", str(tmp_path / "clean")],
                           env=env, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr
    for name in ("samples.csv", "results.csv"):
        assert (tmp_path / "resumed" / name).read_bytes() == (tmp_path / "clean" / name).read_bytes()


@pytest.mark.dask
def test_dask_local_cluster_and_tcp_scheduler(tmp_path):
    from distributed import LocalCluster

    plan = load_plan(DATA / "ladder.toml")
    local = run_plan(plan, workers=1, cache_root=tmp_path / "a", show_progress=False)
    on_local_cluster = run_plan(plan, workers=2, scheduler="local", cache_root=tmp_path / "b", show_progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        remote = run_plan(plan, scheduler=cluster.scheduler_address, cache_root=tmp_path / "c", show_progress=False)
        pids = {r["pid"] for r in remote.records}
    assert _tables(local) == _tables(on_local_cluster) == _tables(remote)
    assert os.getpid() not in pids  # the chunks really ran in the cluster's worker processes


@pytest.mark.dask
def test_unreachable_scheduler_fails_fast(tmp_path):
    # the client gives up after its 10 s connect timeout and the error names the address
    with pytest.raises(InputError, match=r"tcp://127\.0\.0\.1:9"):
        run_plan(load_plan(DATA / "ladder.toml"), scheduler="tcp://127.0.0.1:9", cache_root=tmp_path,
                 show_progress=False)
