"""Where the CIM forward pass spends its CPU beyond the float one, per layer and per step.

The network, calibration and 4-bit Lloyd-Max converters are those of ``scripts/bench_inference.py``.
One forward pass records every CIM layer's input; then each step of each layer runs on that input
``--reps`` times, alternating with the float layer's own convolution or matmul, and the median thread
CPU time per call is printed (one thread by default: thread CPU time is what a loaded machine does
not distort; with more threads, process CPU time). Steps, in the memory order the forward pass uses:
``quantize`` (input to integer levels), ``psums`` (the grouped convolution or matmul with the
lookup offset as its bias), ``lookup`` (clamp, index, table, sum over sub-arrays:
:func:`memspice.nn.fused.lookup_sum`), ``scale`` (``out *= s_w s_x``), ``layer`` (the CIM layer's
whole forward, which also holds the Python between the steps) beside ``float`` (the float layer).
The whole networks' forward passes are timed the same way (``network``).

    python scripts/profile_inference.py [--images 100] [--reps 20] [--threads 1] [--torch-profile]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_inference import build  # a script beside this one

from memspice.nn.cim import CimLayer, cim_layers
from memspice.nn.fused import lookup_sum


def _tcpu(fn, reps: int) -> float:
    """Median CPU time of ``fn()`` over ``reps`` calls, in ms: the thread's with one thread, else the
    process's (torch's worker threads included)."""
    clock = time.thread_time if torch.get_num_threads() == 1 else time.process_time
    out = []
    for _ in range(reps):
        t = clock()
        fn()
        out.append(clock() - t)
    return 1e3 * statistics.median(out)


def _float_op(module, x):
    if isinstance(module, torch.nn.Conv2d):
        return lambda: module(x)
    return lambda: F.linear(x.reshape(x.shape[0], -1), module.weight, module.bias)


def _steps(layer: CimLayer, x: torch.Tensor) -> dict:
    """Callables for each step of the layer's default (one read, lookup) path."""
    channels, nhwc = layer.one_read_layout(x)
    lut = layer._fused_lookup()
    x_int = layer.quantize_input(x, channels, channels_last=nhwc)
    psums = layer.partial_sums(x_int, 0, lut.offset)
    if nhwc and psums.dim() == 5 and psums.permute(0, 3, 4, 1, 2).is_contiguous():
        n, s, c, h, w = psums.shape
        psums = psums.permute(0, 3, 4, 1, 2).reshape(n * h * w, s, c)  # (pixels, S, Cout), a view
    out = lookup_sum(psums.clone(), lut.table)
    return {
        "quantize": lambda: layer.quantize_input(x, channels, channels_last=nhwc),
        "psums": lambda: layer.partial_sums(x_int, 0, lut.offset),
        "lookup": lambda: lookup_sum(psums.clone(), lut.table),
        "clone": lambda: psums.clone(),  # subtracted from lookup (the kernel clamps its input in place)
        "scale": lambda: out.mul_(1.0),  # the cost of the in-place multiply, values kept
        "layer": lambda: layer(x),
        "shape": tuple(psums.shape),
    }


@torch.inference_mode()
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=100, help="one batch of this many test images")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--width", type=float, default=0.125)
    ap.add_argument("--cache-dir", type=Path, default=Path("runs/cache/train"))
    ap.add_argument("--torch-profile", action="store_true", help="also print torch.profiler's operator table")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    setup = build("cpu", args.width, args.cache_dir, args.images, batch=args.images)
    model, cim, images = setup["model"], setup["cim"], setup["images"][: args.images]
    layers = cim_layers(cim)
    floats = dict(model.named_modules())
    inputs: dict[str, torch.Tensor] = {}
    hooks = [m.register_forward_pre_hook(lambda m, a: inputs.__setitem__(m.name, a[0].clone())) for m in layers]
    cim(images)
    for h in hooks:
        h.remove()
    print(f"threads {torch.get_num_threads()}, batch {args.images}, {args.reps} reps; "
          f"median {'thread' if args.threads == 1 else 'process'} CPU time per call, ms")
    print("| layer | psum shape (N, S, ...) | float | quantize | psums | lookup | scale | CIM layer | layer / float |")
    print("|---|---|---|---|---|---|---|---|---|")
    tot: dict[str, float] = {}
    for layer in layers:
        x = inputs[layer.name]
        st = _steps(layer, x)
        fl = _float_op(floats[layer.name], x)
        for fn in [fl, *[st[k] for k in ("quantize", "psums", "lookup", "clone", "scale", "layer")]]:
            fn()  # warm (the compiled kernel's first call compiles)
        row = {"float": _tcpu(fl, args.reps)}
        for k in ("quantize", "psums", "lookup", "clone", "scale", "layer"):
            row[k] = _tcpu(st[k], args.reps)
        row["lookup"] -= row.pop("clone")
        for k, v in row.items():
            tot[k] = tot.get(k, 0.0) + v
        print(f"| {layer.name} | {st['shape']} | {row['float']:.2f} | {row['quantize']:.2f} | {row['psums']:.2f} | "
              f"{row['lookup']:.2f} | {row['scale']:.2f} | {row['layer']:.2f} | {row['layer'] / row['float']:.2f} |")
    print(f"| all | | {tot['float']:.2f} | {tot['quantize']:.2f} | {tot['psums']:.2f} | {tot['lookup']:.2f} | "
          f"{tot['scale']:.2f} | {tot['layer']:.2f} | {tot['layer'] / tot['float']:.2f} |")
    fnet, cnet = _tcpu(lambda: model(images), args.reps), _tcpu(lambda: cim(images), args.reps)
    print(f"network: float {fnet:.2f} ms, CIM {cnet:.2f} ms, ratio {cnet / fnet:.2f}; "
          f"outside the crossbar layers: float {fnet - tot['float']:.2f}, CIM {cnet - tot['layer']:.2f} ms")
    if args.torch_profile:
        from torch.profiler import ProfilerActivity, profile

        for name, net in (("float", model), ("cim", cim)):
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                for _ in range(args.reps):
                    net(images)
            print(f"-- torch.profiler, {name}, {args.reps} forward passes")
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


if __name__ == "__main__":
    main()
