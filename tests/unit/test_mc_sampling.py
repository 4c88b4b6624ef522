"""Monte Carlo plans and sampling: pure code, no simulator."""

from pathlib import Path

import numpy as np
import pytest

from memspice.errors import SpecError
from memspice.montecarlo.cache import CACHE_FORMAT
from memspice.montecarlo.circuit import ParamGroup
from memspice.montecarlo.plan import Plan, load_plan
from memspice.montecarlo.sampling import check_plan_groups, draw_chunk

pytestmark = pytest.mark.unit
DATA = Path(__file__).resolve().parent.parent / "data" / "mc"
GROUPS = {"g": ParamGroup("g", "S", np.full(64, 2e-4), tuple(f"g{k}" for k in range(64)), lower=0.0)}


def plan(**kw):
    base = {"name": "t", "circuit": "netlist", "spec": {}, "samples": 1000, "seed": 5, "chunk_size": 100,
            "vary": [{"group": "g", "sigma": 2.8e-6, "label": "program"}, {"group": "g", "sigma": 0.2e-6}]}
    base.update(kw)
    return Plan.from_dict(base)


def test_draws_depend_only_on_plan_and_chunk():
    p = plan()
    a = draw_chunk(p, GROUPS, 3)["g"]
    b = draw_chunk(p, GROUPS, 3)["g"]
    assert np.array_equal(a, b)
    assert not np.array_equal(a, draw_chunk(p, GROUPS, 4)["g"])
    assert not np.array_equal(a, draw_chunk(plan(seed=6), GROUPS, 3)["g"])


def test_chunk_generator_is_the_spawned_child():
    """Each chunk's generator is made directly; it must be exactly child k of SeedSequence(seed).spawn(n),
    the draws every cache and recorded table so far were made with."""
    from memspice.montecarlo.sampling import chunk_generator

    p = plan()
    children = np.random.SeedSequence(p.seed).spawn(p.n_chunks)
    for k in (0, 3, p.n_chunks - 1):
        want = np.random.default_rng(children[k]).standard_normal(50)
        assert np.array_equal(chunk_generator(p, k).standard_normal(50), want)
    with pytest.raises(IndexError):
        chunk_generator(p, p.n_chunks)


def test_statistics_of_summed_contributions():
    p = plan()
    values = np.concatenate([draw_chunk(p, GROUPS, k)["g"] for k in range(p.n_chunks)])
    assert values.shape == (1000, 64)
    dev = values - 2e-4
    sigma = np.hypot(2.8e-6, 0.2e-6)
    # 64000 draws: the sample std is within 2 % of sigma (its own spread is ~0.3 %); truncation at 3 sigma
    # lowers it by 1.4 % (variance factor 0.973), so allow 3 %
    assert dev.std() == pytest.approx(sigma, rel=0.03)
    assert abs(dev.mean()) < 5 * sigma / np.sqrt(dev.size)
    assert np.all(np.abs(dev) <= 3 * 2.8e-6 + 3 * 0.2e-6)


def test_uniform_has_the_same_sigma_and_bounds_clip():
    p = plan(vary=[{"group": "g", "distribution": "uniform", "sigma": 1e-4}])
    v = draw_chunk(p, GROUPS, 0)["g"]
    assert v.min() >= 0.0  # lower bound of the group: clipped
    q = plan(vary=[{"group": "g", "distribution": "uniform", "sigma": 1e-5}])
    d = np.concatenate([draw_chunk(q, GROUPS, k)["g"] for k in range(q.n_chunks)]) - 2e-4
    assert d.std() == pytest.approx(1e-5, rel=0.02)
    assert np.abs(d).max() <= np.sqrt(3) * 1e-5


def test_chunks_cover_samples():
    p = plan(samples=250, chunk_size=100)
    assert p.n_chunks == 3
    assert [len(p.chunk_range(k)) for k in range(3)] == [100, 100, 50]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"samples": 0}, "samples"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"vary": [{"group": "g", "sigma": -1.0}]}, "vary[0].sigma"),
        ({"vary": [{"group": "g"}]}, "vary[0].sigma"),
        ({"vary": [{"group": "g", "sigma": 1.0, "sigma_rel": 0.1}]}, "vary[0].sigma"),
        ({"vary": [{"group": "g", "sigma": 1.0, "distribution": "cauchy"}]}, "vary[0].distribution"),
        ({"samples": 10, "bogus": 1}, "bogus"),
    ],
)
def test_bad_plans(change, field):
    with pytest.raises(SpecError) as info:
        plan(**change)
    assert info.value.field == field


def test_unknown_group_is_named():
    p = plan(vary=[{"group": "r", "sigma": 1.0}])
    with pytest.raises(SpecError, match="a parameter group of circuit netlist: g"):
        check_plan_groups(p, GROUPS)


def test_load_plan_resolves_base_dir():
    p = load_plan(DATA / "ladder.toml")
    assert Path(p.base_dir) == DATA
    assert p.samples == 40 and p.vary[0].sigma_rel == 0.05
    assert "base_dir" not in p.cache_fields() and "backend" not in p.cache_fields()


def test_chunk_cache_round_trip(tmp_path):
    """A chunk record is stored as JSON (values as base64 of float64 bytes, spliced in by hand) that the
    JSON encoder would have written, and reads back bit for bit; an unreadable file is recomputed."""
    import base64
    import json

    from memspice.montecarlo.cache import ChunkCache

    class _Circuit:
        def spec_hash(self):
            return "abc"

    p = plan()
    cache = ChunkCache(tmp_path, p, _Circuit())
    values = draw_chunk(p, GROUPS, 2)
    values["h"] = np.array([[-0.0, 5e-324], [1.7976931348623157e308, np.pi]])
    record = {"format": CACHE_FORMAT, "chunk": 2, "samples": list(range(200, 300)), "values": values,
              "measures": {"v": [1.5, float("nan"), None]}, "status": ["ok", "failed", "failed"], "seconds": 0.25}
    measures = cache.store(record)
    assert measures == {"v": [1.5, None, None]}
    text = cache.path(2).read_text()
    reference = {**{k: v for k, v in record.items() if k != "values"}, "measures": measures,
                 "values": {g: {"shape": list(v.shape), "f8_base64": base64.b64encode(v.astype("<f8").tobytes())
                                .decode("ascii")} for g, v in values.items()}}
    assert text == json.dumps(reference, separators=(",", ":"), sort_keys=True) + "\n"
    back = cache.load(2)
    assert back["values"].keys() == values.keys()
    for g, v in values.items():
        assert back["values"][g].tobytes() == v.tobytes()  # bit for bit, signed zero and subnormal included
    assert back["measures"] == measures and back["samples"] == record["samples"]
    for bad in ("", '{"format": 3, "chu', "[1, 2]", "\x00" * 8):  # what an interrupted or lost write leaves
        cache.path(2).write_text(bad)
        assert cache.load(2) is None
    assert cache.finished() == {}
