"""Training is a function of its spec: the same seed gives bit-identical weights whatever torch's
thread count in the process (``TrainSpec.threads`` fixes the count training runs with)."""

from __future__ import annotations

import json

import pytest

from memspice.nn.spec import TrainSpec
from tests.idx_files import write_fashion_standin

pytestmark = [pytest.mark.unit, pytest.mark.torch]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """96 training and 20 test images of a learnable stand-in for Fashion-MNIST."""
    folder = tmp_path_factory.mktemp("tiny")
    write_fashion_standin(folder, 96, 20, seed=3)
    return folder


def _train(spec, data, cache, process_threads):
    import torch

    from memspice.nn.train import train

    before = torch.get_num_threads()
    torch.set_num_threads(process_threads)
    try:
        result = train(spec, data_root=data, cache_dir=cache, force=True, show_progress=False)
        assert torch.get_num_threads() == process_threads  # training's count is restored afterwards
    finally:
        torch.set_num_threads(before)
    return {k: v.clone() for k, v in result.model.state_dict().items()}, result


@pytest.mark.parametrize("qat_bits", [0, 8])
def test_same_seed_same_weights_with_one_and_two_process_threads(tiny, tmp_path, qat_bits):
    import torch

    # 3 optimizer steps; the last layer's weight gradient is a small matrix product (10 outputs) whose
    # summation order MKL splits by thread count: without a fixed count the weights differ in the last bits
    spec = TrainSpec(width=0.0625, epochs=1, batch_size=32, qat_bits=qat_bits)
    one, _ = _train(spec, tiny, tmp_path / "a", 1)
    two, result = _train(spec, tiny, tmp_path / "b", 2)
    assert one.keys() == two.keys()
    for name in one:
        assert torch.equal(one[name], two[name]), name
    meta = json.loads((result.path / "meta.json").read_text())
    assert meta["torch_threads"] == spec.threads == 2 and meta["spec"]["threads"] == 2


def test_threads_is_in_the_cache_key_and_checked_on_load(tiny, tmp_path):
    from memspice.errors import DataError
    from memspice.nn.train import cache_path, load_trained

    assert TrainSpec().spec_hash() == "7f38818a8a03cc50"  # the default keeps the names cached before the field
    assert TrainSpec(threads=1).spec_hash() != TrainSpec().spec_hash()
    assert TrainSpec(threads=1, qat_bits=8).spec_hash() != TrainSpec(qat_bits=8).spec_hash()
    spec = TrainSpec(width=0.0625, epochs=1, batch_size=32, train_images=32)
    _train(spec, tiny, tmp_path, 1)
    assert load_trained(spec, tmp_path).meta["torch_threads"] == 2
    # an entry written before the field existed, by a one-thread process, is not this spec's network
    meta_file = cache_path(spec, tmp_path) / "meta.json"
    meta = json.loads(meta_file.read_text())
    meta_file.write_text(json.dumps({**meta, "torch_threads": 1}))
    with pytest.raises(DataError, match="trained with 1 torch threads, the spec says 2"):
        load_trained(spec, tmp_path)


@pytest.mark.parametrize("threads", [0, -1, 257])
def test_bad_thread_count_names_the_field(threads):
    from memspice.errors import SpecError

    with pytest.raises(SpecError, match="threads"):
        TrainSpec(threads=threads)
