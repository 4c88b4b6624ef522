"""A Monte Carlo batch that fails is loud: non-zero exit with the first failing deck and log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memspice.errors import MonteCarloFailed
from memspice.montecarlo.engine import run_plan
from memspice.montecarlo.plan import load_plan

pytestmark = pytest.mark.ngspice

DATA = Path(__file__).resolve().parent.parent / "data" / "mc"


def _plan(tmp_path: Path, old: str, new: str, extra: str = ""):
    (tmp_path / "ladder.cir").write_text((DATA / "ladder.cir").read_text())
    text = (DATA / "ladder.toml").read_text()
    assert old in text
    (tmp_path / "p.toml").write_text(text.replace(old, new).replace("chunk_size = 8", "chunk_size = 8" + extra))
    return load_plan(tmp_path / "p.toml")


@pytest.mark.parametrize(("old", "new", "needle"), [
    ('vector = "v(out)"', 'vector = "v(nope)"', "lacks v(nope)"),          # a typo in a measure vector
    ('devices = ["r1", "r2", "r3"]', 'devices = ["r1", "r2", "rx"]', "rx"),  # a typo in a device name
    ('parameter = "resistance"', 'parameter = "resistence"', "resistence"),       # a typo in a parameter name
])
def test_a_batch_where_every_sample_fails_stops_after_one_chunk(tmp_path, old, new, needle):
    plan = _plan(tmp_path, old, new)
    with pytest.raises(MonteCarloFailed) as err:
        run_plan(plan, workers=1, cache_root=tmp_path / "c", show_progress=False)
    text = str(err.value)
    assert "every sample of the first finished chunk failed (8 of 8)" in text
    assert needle in text and "deck: " in text and "run directory (kept)" in text
    # the deck named in the message exists and is the failing one
    deck = Path(next(ln for ln in text.splitlines() if ln.startswith("  deck: ")).split("deck: ")[1])
    assert deck.is_file()
    # one chunk computed (of 5), and deterministic failures are not retried with relaxed options
    chunks = sorted((tmp_path / "c").glob("*/chunk_*.json"))
    assert len(chunks) == 1
    record = json.loads(chunks[0].read_text())
    assert record["status"] == ["failed"] * 8 and record["retried"] == [False] * 8
    # a rerun reads the cached chunk and fails the same way (not exit 0 from the cache)
    with pytest.raises(MonteCarloFailed, match="first failing sample 0"):
        run_plan(plan, workers=1, cache_root=tmp_path / "c", show_progress=False)


def test_the_failed_fraction_limit(tmp_path):
    """bistable.toml: samples with no operating point fail; the plan's limit decides the verdict."""
    (tmp_path / "bistable.cir").write_text((DATA / "bistable.cir").read_text())
    text = (DATA / "bistable.toml").read_text()
    (tmp_path / "p.toml").write_text(text.replace("timeout_s = 20", "timeout_s = 20\nmax_failed_fraction = 0.0"))
    plan = load_plan(tmp_path / "p.toml")
    with pytest.raises(MonteCarloFailed, match=r"samples failed, more than max_failed_fraction 0"):
        run_plan(plan, workers=1, cache_root=tmp_path / "c", show_progress=False)
    lenient = plan.replace(max_failed_fraction=0.9)
    result = run_plan(lenient, workers=1, cache_root=tmp_path / "c", show_progress=False)
    assert 0 < result.n_failed <= 0.9 * plan.samples
