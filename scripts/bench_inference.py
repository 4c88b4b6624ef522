"""Time CIM inference with a 4-bit Lloyd-Max ADC against float inference of the same network.

Both run over the same test images (default: all 10,000 Fashion-MNIST test images) in one process,
alternating, ``--repeats`` times each; the medians are compared. The network is the one that
``memspice train`` caches with the given options (default configuration), or, if none is cached,
a freshly initialised one of the same shape (timing does not depend on the weights' values).
Calibration and the Lloyd-Max fit happen before timing starts. The last line is
``cim_over_float_time_ratio: X``. With ``--legacy`` the same converters also run through the forward
pass as it was before issue 16 (a copy below: per-read loop, broadcast matmul, int64 ``take``
lookup), alternating with the other two in the same run, and ``legacy_cim_over_float_time_ratio``
is printed before it. With ``--eager`` the CIM network also runs with the lookup conversion as
separate torch operations (``MEMSPICE_COMPILE=0``: the forward pass before the fused, compiled
kernel of :mod:`memspice.nn.fused`), alternating with the others, and its logits are compared with
the compiled ones (``torch.equal``). The warm-up (which includes compiling, or loading the compiled
kernel from inductor's disk cache) is timed and printed apart. Times are wall clock and process CPU
time (user + sys of this process).

    python scripts/bench_inference.py [--device cpu|cuda|auto] [--repeats 3] [--images 10000] [--legacy] [--eager]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time
import types
from pathlib import Path

import torch
import torch.nn.functional as F

from memspice.errors import DataError
from memspice.nn.calibration import calibrate
from memspice.nn.cim import cim_layers, exact_float32, map_to_cim
from memspice.nn.data import load_dataset
from memspice.nn.evaluate import Fitter, adc_function
from memspice.nn.fused import ENV_COMPILE
from memspice.nn.spec import CimSpec, TrainSpec
from memspice.nn.train import load_trained, new_model, resolve_device, to_float


@contextlib.contextmanager
def _compile_off(off: bool):
    old = os.environ.get(ENV_COMPILE)
    if off:
        os.environ[ENV_COMPILE] = "0"
    try:
        yield
    finally:
        if off:
            if old is None:
                os.environ.pop(ENV_COMPILE, None)
            else:
                os.environ[ENV_COMPILE] = old


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


@torch.inference_mode()
def _run(model: torch.nn.Module, images: torch.Tensor, batch: int,
         dev: torch.device) -> tuple[float, float, torch.Tensor]:
    _sync(dev)
    t0, c0 = time.perf_counter(), time.process_time()
    preds = [model(images[i:i + batch].to(dev)).argmax(1) for i in range(0, len(images), batch)]
    _sync(dev)
    return time.perf_counter() - t0, time.process_time() - c0, torch.cat(preds).cpu()


# -- the forward pass before issue 16 (analog inputs, one weight slice, sub-array conversion) --------


def _legacy_lookup(lut, p):
    idx = p.sub_(lut.lo - 0.5).clamp_(0, lut.n - 1).long()
    return torch.take(lut.table, idx)


def _legacy_partial_sums(layer, plane):
    wsub, n = layer.w_sub0, plane.shape[0]
    if layer.mapping == "channel_group":
        pad_ch = layer.subarrays * layer.group - plane.shape[1]
        if pad_ch:
            plane = F.pad(plane, (0, 0, 0, 0, 0, pad_ch))
        out = F.conv2d(plane, wsub, None, layer.stride, layer.padding, layer.dilation, groups=layer.subarrays)
        return out.view(n, layer.subarrays, layer.out_features, *out.shape[2:])
    if layer.is_conv:
        raise NotImplementedError("legacy path: channel_group convolutions and linear layers only")
    cols = plane.reshape(n, -1, 1)
    pad = layer.subarrays * layer.rows - layer.in_rows
    if pad:
        cols = F.pad(cols, (0, 0, 0, pad))
    out = torch.matmul(wsub, cols.view(n, layer.subarrays, layer.rows, 1))  # broadcast: weights copied per image
    return out.view(n, layer.subarrays, layer.out_features)


def _legacy_forward(layer, x):
    x_int = torch.clamp(torch.round(x / layer.act_scale()), 0, layer.act_levels)
    part = _legacy_lookup(layer.adc, _legacy_partial_sums(layer, x_int)).sum(1)
    out = part * (layer.w_scale * layer.act_scale())
    if layer.bias is not None:
        out = out + (layer.bias.view(1, -1, 1, 1) if layer.is_conv else layer.bias)
    return out


def legacy_copy(cim: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``cim`` whose CIM layers run the pre-issue-16 forward pass."""
    import copy

    old = copy.deepcopy(cim)
    for layer in cim_layers(old):
        layer.forward = types.MethodType(_legacy_forward, layer)
    return old


def build(device: str, width: float, cache_dir: Path, n_images: int, batch: int) -> dict:
    """The float network (cached weights, else a fresh one), its CIM copy calibrated on 512 training
    images with a 4-bit Lloyd-Max lookup converter per layer, and the first ``n_images`` test images."""
    dev = resolve_device(device)
    spec = TrainSpec(width=width)
    try:
        model = load_trained(spec, cache_dir, dev).model
        origin = "trained (cached)"
    except DataError:
        torch.manual_seed(0)
        model = new_model(spec).to(dev).eval()
        origin = "untrained (no cached weights; timing is unaffected)"
    test = load_dataset(spec.dataset, "test").head(n_images)
    calib = load_dataset(spec.dataset, "train").head(512)
    cim = map_to_cim(model, CimSpec()).to(dev)
    with exact_float32():
        stats = calibrate(cim, to_float(calib.images, dev), batch_size=batch, samples=50_000, seed=0)
        fits = Fitter(stats, 0).fits("lloyd_max", 4)
        for layer in cim_layers(cim):
            st = stats[layer.name]
            layer.adc = adc_function(fits[layer.name], dev, lut_range=(st.minimum, st.maximum))
    # images stay in host memory; batches move to the device as in memspice evaluate
    return {"spec": spec, "model": model, "cim": cim, "origin": origin, "test": test,
            "images": to_float(test.images), "labels": torch.from_numpy(test.labels)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--images", type=int, default=10_000)
    ap.add_argument("--batch", type=int, default=0, help="0: 100 on a CPU, 2000 on a GPU (as memspice evaluate)")
    ap.add_argument("--width", type=float, default=TrainSpec().width)
    ap.add_argument("--cache-dir", type=Path, default=Path("runs/cache/train"))
    ap.add_argument("--legacy", action="store_true", help="also time the forward pass as it was before issue 16")
    ap.add_argument("--eager", action="store_true",
                    help="also time the CIM network with the conversion as separate torch operations")
    args = ap.parse_args()
    dev = resolve_device(args.device)
    args.batch = args.batch or (2000 if dev.type == "cuda" else 100)
    setup = build(args.device, args.width, args.cache_dir, args.images, args.batch)
    spec, model, cim, origin = setup["spec"], setup["model"], setup["cim"], setup["origin"]
    test, images, labels = setup["test"], setup["images"], setup["labels"]
    with exact_float32():
        models = {"float": model, "cim": cim}
        if args.eager:
            models["eager"] = cim  # the same network, run with MEMSPICE_COMPILE=0
        if args.legacy:
            models["legacy"] = legacy_copy(cim)
        warm = {}
        for k, m in models.items():  # warm-up (the CIM network's first call compiles its kernel)
            with _compile_off(k == "eager"):
                warm[k] = _run(m, images[: args.batch], args.batch, dev)[:2]
        if args.eager:
            with torch.inference_mode():
                first = images[: args.batch].to(dev)
                with _compile_off(True):
                    logits_eager = cim(first)
                logits_same = bool(torch.equal(cim(first), logits_eager))
        wall: dict[str, list[float]] = {k: [] for k in models}
        cpu: dict[str, list[float]] = {k: [] for k in models}
        preds = {}
        for _ in range(args.repeats):
            for k, m in models.items():
                with _compile_off(k == "eager"):
                    t, c, preds[k] = _run(m, images, args.batch, dev)
                wall[k].append(t)
                cpu[k].append(c)
    med = {k: statistics.median(v) for k, v in wall.items()}
    cmed = {k: statistics.median(v) for k, v in cpu.items()}
    print(f"network: vgg8 width {spec.width:g} on {spec.dataset}, {origin}; device {dev}; "
          f"threads {torch.get_num_threads()}")
    print(f"images: {len(test)}, batch {args.batch}, repeats {args.repeats}")
    print(f"float accuracy {100 * float((preds['float'] == labels).float().mean()):.2f} %, "
          f"CIM 4-bit lloyd_max accuracy {100 * float((preds['cim'] == labels).float().mean()):.2f} %")
    print("warm-up (s, one batch; cim includes compiling or loading the compiled kernel): "
          + ", ".join(f"{k} wall {w:.2f} cpu {c:.2f}" for k, (w, c) in warm.items()))
    if args.eager:
        print(f"eager CIM logits identical to compiled (first batch, torch.equal): {logits_same}; "
              f"predictions identical: {bool(torch.equal(preds['eager'], preds['cim']))}")
    if args.legacy:
        print(f"legacy CIM predictions identical: {bool(torch.equal(preds['legacy'], preds['cim']))}")
    for k in models:
        print(f"{k} times (s): wall " + ", ".join(f"{t:.3f}" for t in wall[k]) + f" (median {med[k]:.3f}); cpu "
              + ", ".join(f"{t:.3f}" for t in cpu[k]) + f" (median {cmed[k]:.3f})")
    if args.eager:
        print(f"eager_cim_over_float_cpu_time_ratio: {cmed['eager'] / cmed['float']:.2f}")
        print(f"eager_cim_over_float_time_ratio: {med['eager'] / med['float']:.2f}")
    if args.legacy:
        print(f"legacy_cim_over_float_cpu_time_ratio: {cmed['legacy'] / cmed['float']:.2f}")
        print(f"legacy_cim_over_float_time_ratio: {med['legacy'] / med['float']:.2f}")
    print(f"cim_over_float_cpu_time_ratio: {cmed['cim'] / cmed['float']:.2f}")
    print(f"cim_over_float_time_ratio: {med['cim'] / med['float']:.2f}")


if __name__ == "__main__":
    main()
