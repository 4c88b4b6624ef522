"""``memspice train``: train a network (in floating point, or quantization-aware with ``qat_bits``,
memspice.nn.qat) and cache its weights by configuration hash.

The cache entry ``<cache_dir>/<network>-<dataset>-<hash>/`` holds ``model.pt`` (the state dict) and
``meta.json`` (the :class:`~memspice.nn.spec.TrainSpec`, its hash, the seed, the float test accuracy,
versions and timings). The hash covers every field of the spec (seed included; ``qat_bits`` only
when it is on), so a changed configuration trains anew and an unchanged one is loaded. A
quantization-aware network is stored with its float master weights (the inference path quantizes
them exactly as its training forward pass did) and records both test accuracies: its float forward
pass and its quantized one.
"""

from __future__ import annotations

import io
import json
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from memspice import __version__
from memspice.errors import DataError, InputError
from memspice.io import write_bytes_atomic, write_json
from memspice.nn import qat
from memspice.nn.data import ImageSet, dataset_info, load_dataset
from memspice.nn.networks import build_network, count_weights
from memspice.nn.quantizers import torch_threads
from memspice.nn.spec import TrainSpec
from memspice.progress import progress

DEFAULT_CACHE = Path("runs") / "cache" / "train"


@dataclass
class Trained:
    """A trained network with its cache entry."""

    model: nn.Module
    spec: TrainSpec
    meta: dict[str, Any]
    path: Path
    cached: bool


def resolve_device(name: str) -> torch.device:
    """'cpu', 'cuda' (an error when no GPU is usable) or 'auto' (cuda when present)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InputError(f"--device {name}: no CUDA GPU is usable here (torch {torch.__version__}); "
                             "use --device cpu or auto")
        return torch.device(name)
    raise InputError(f"--device {name}: expected cpu, cuda or auto")


def to_float(images: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 ``(N, C, H, W)`` images as float32 in [0, 1] (pixel / 255; no mean subtraction, so
    inputs stay non-negative like the read voltages of a crossbar)."""
    images = np.ascontiguousarray(images)
    if not images.flags.writeable:
        images = images.copy()
    return torch.from_numpy(images).to(device).float().div_(255.0)


def augment(x: torch.Tensor, pad: int, generator: torch.Generator) -> torch.Tensor:
    """Random crop after zero padding by ``pad`` pixels and random horizontal flip, per image."""
    n, _, h, w = x.shape
    if pad:
        padded = F.pad(x, (pad, pad, pad, pad))
        oy = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
        ox = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
        rows = (oy[:, None] + torch.arange(h, device=x.device))[:, :, None]
        cols = (ox[:, None] + torch.arange(w, device=x.device))[:, None, :]
        idx = torch.arange(n, device=x.device)[:, None, None]
        x = padded.permute(0, 2, 3, 1)[idx, rows, cols].permute(0, 3, 1, 2)
    flip = (torch.rand(n, generator=generator) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


@torch.inference_mode()
def accuracy(model: nn.Module, data: ImageSet, device: torch.device, batch_size: int = 500) -> float:
    """Top-1 accuracy (fraction) of ``model`` on ``data``."""
    model.eval()
    correct = 0
    for start in range(0, len(data), batch_size):
        x = to_float(data.images[start:start + batch_size], device)
        y = torch.from_numpy(data.labels[start:start + batch_size]).to(device)
        correct += int((model(x).argmax(1) == y).sum())
    return correct / max(len(data), 1)


def cache_path(spec: TrainSpec, cache_dir: Path = DEFAULT_CACHE) -> Path:
    return Path(cache_dir) / f"{spec.network}-{spec.dataset}-{spec.spec_hash()}"


def new_model(spec: TrainSpec) -> nn.Module:
    channels, size, classes = dataset_info(spec.dataset)
    return build_network(spec.network, in_channels=channels, image_size=size, num_classes=classes, width=spec.width,
                         act_bound=qat.bound(spec.qat_bits) if spec.qat_bits else 0.0)


def load_trained(spec: TrainSpec, cache_dir: Path = DEFAULT_CACHE, device: str | torch.device = "cpu") -> Trained:
    """The cached network of ``spec``; a DataError when it has not been trained yet."""
    path = cache_path(spec, cache_dir)
    weights, meta_file = path / "model.pt", path / "meta.json"
    if not weights.is_file() or not meta_file.is_file():
        raise DataError(f"no trained weights for this configuration at {path}; run memspice train first "
                        f"with the same options (network={spec.network}, dataset={spec.dataset}, width={spec.width:g}, "
                        f"epochs={spec.epochs}, seed={spec.seed}, qat_bits={spec.qat_bits})")
    model = new_model(spec)
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
        meta = json.loads(meta_file.read_text())
    except (RuntimeError, OSError, ValueError, KeyError) as err:
        raise DataError(f"{path}: cached weights cannot be loaded ({err}); delete the folder and train again") from None
    if meta.get("torch_threads", spec.threads) != spec.threads:  # an entry from before TrainSpec.threads
        raise DataError(f"{path}: trained with {meta['torch_threads']} torch threads, the spec says {spec.threads} "
                        "(the thread count changes the network); train again")
    return Trained(model.to(device).eval(), spec, meta, path, cached=True)


def train(spec: TrainSpec, *, data_root: str | Path | None = None, device: str = "cpu",
          cache_dir: Path = DEFAULT_CACHE, force: bool = False, show_progress: bool = True) -> Trained:
    """Train ``spec`` (or load it from the cache unless ``force``); returns the network in eval mode."""
    dev = resolve_device(device)
    if not force:
        try:
            return load_trained(spec, cache_dir, dev)
        except DataError:
            pass
    train_set = load_dataset(spec.dataset, "train", data_root)
    test_set = load_dataset(spec.dataset, "test", data_root)
    if spec.train_images:
        train_set = train_set.head(spec.train_images)
    with torch_threads(spec.threads):  # part of the network's definition (TrainSpec.threads)
        return _train(spec, train_set, test_set, dev, cache_dir, show_progress)


def _train(spec: TrainSpec, train_set: ImageSet, test_set: ImageSet, dev: torch.device, cache_dir: Path,
           show_progress: bool) -> Trained:
    torch.manual_seed(spec.seed)
    gen = torch.Generator().manual_seed(spec.seed)
    model = new_model(spec)
    bits = spec.qat_bits
    if bits:
        qat.init_wage(model, bits)
    model = model.to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=spec.lr, weight_decay=spec.weight_decay)
    steps_per_epoch = -(-len(train_set) // spec.batch_size)
    total = spec.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=spec.lr, total_steps=total, pct_start=0.15)
    images = to_float(train_set.images)  # stays on the CPU; batches move to the device
    labels = torch.from_numpy(train_set.labels)
    pad = 4 if spec.dataset == "cifar10" else 2
    history = []
    t0 = time.monotonic()
    how = f"quantization-aware ({bits} bits)" if bits else "float"
    with qat.quantized(model, bits) if bits else nullcontext(), \
            progress(total, f"train {spec.network} on {spec.dataset}, {how}", enabled=show_progress) as bar:
        for epoch in range(spec.epochs):
            model.train()
            order = torch.randperm(len(train_set), generator=gen)
            loss_sum, seen, correct = 0.0, 0, 0
            for start in range(0, len(order), spec.batch_size):
                idx = order[start:start + spec.batch_size]
                x = images[idx]
                if spec.augment:
                    x = augment(x, pad, gen)
                x, y = x.to(dev, non_blocking=True), labels[idx].to(dev, non_blocking=True)
                out = model(x)
                # NeuroSim's SSE is summed over the batch: its value per image is what the history holds
                loss = qat.sse_loss(out, y) if bits else F.cross_entropy(out, y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if bits:
                    qat.clip_weights(model, bits)
                sched.step()
                loss_sum += float(loss.detach()) * (1 if bits else len(idx))
                correct += int((out.argmax(1) == y).sum())
                seen += len(idx)
                bar.advance()
            history.append({"epoch": epoch + 1, "train_loss": loss_sum / seen, "train_accuracy": correct / seen})
        train_s = time.monotonic() - t0
        qat_acc = accuracy(model, test_set, dev) if bits else None  # the quantized forward pass
    test_acc = accuracy(model, test_set, dev)
    path = cache_path(spec, cache_dir)
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buf)
    write_bytes_atomic(path / "model.pt", buf.getvalue())
    meta = {
        "spec": spec.to_dict(), "spec_hash": spec.spec_hash(), "seed": spec.seed,
        "float_test_accuracy": test_acc, **({"qat_test_accuracy": qat_acc} if bits else {}),
        "test_images": len(test_set), "train_images": len(train_set),
        "weights": count_weights(model), "history": history, "train_time_s": train_s, "device": str(dev),
        # the same seed trains a slightly different network with another thread count (TrainSpec.threads)
        "torch_threads": torch.get_num_threads(),
        "data_source": str(train_set.source), "memspice_version": __version__, "torch_version": torch.__version__,
    }
    write_json(path / "meta.json", meta)
    return Trained(model.eval(), spec, meta, path, cached=False)
