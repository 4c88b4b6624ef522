"""Time CIM inference with a 4-bit Lloyd-Max ADC against float inference of the same network.

Both run over the same test images (default: all 10,000 Fashion-MNIST test images) in one process,
alternating, ``--repeats`` times each; the medians are compared. The network is the one that
``memspice train`` caches with the given options (default configuration), or, if none is cached,
a freshly initialised one of the same shape (timing does not depend on the weights' values).
Calibration and the Lloyd-Max fit happen before timing starts. The last line is
``cim_over_float_time_ratio: X``.

    python scripts/bench_inference.py [--device cpu|cuda|auto] [--repeats 3] [--images 10000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from memspice.errors import DataError
from memspice.nn.calibration import calibrate
from memspice.nn.cim import cim_layers, exact_float32, map_to_cim
from memspice.nn.data import load_dataset
from memspice.nn.evaluate import Fitter, adc_function
from memspice.nn.spec import CimSpec, TrainSpec
from memspice.nn.train import load_trained, new_model, resolve_device, to_float


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


@torch.inference_mode()
def _run(model: torch.nn.Module, images: torch.Tensor, batch: int, dev: torch.device) -> tuple[float, torch.Tensor]:
    _sync(dev)
    t0 = time.perf_counter()
    preds = [model(images[i:i + batch].to(dev)).argmax(1) for i in range(0, len(images), batch)]
    _sync(dev)
    return time.perf_counter() - t0, torch.cat(preds).cpu()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--images", type=int, default=10_000)
    ap.add_argument("--batch", type=int, default=0, help="0: 100 on a CPU, 2000 on a GPU (as memspice evaluate)")
    ap.add_argument("--width", type=float, default=TrainSpec().width)
    ap.add_argument("--cache-dir", type=Path, default=Path("runs/cache/train"))
    args = ap.parse_args()
    dev = resolve_device(args.device)
    args.batch = args.batch or (2000 if dev.type == "cuda" else 100)
    spec = TrainSpec(width=args.width)
    try:
        model = load_trained(spec, args.cache_dir, dev).model
        origin = "trained (cached)"
    except DataError:
        torch.manual_seed(0)
        model = new_model(spec).to(dev).eval()
        origin = "untrained (no cached weights; timing is unaffected)"
    test = load_dataset(spec.dataset, "test").head(args.images)
    calib = load_dataset(spec.dataset, "train").head(512)
    images = to_float(test.images)  # host memory; batches move to the device as in memspice evaluate
    labels = torch.from_numpy(test.labels)
    cim_spec = CimSpec()
    cim = map_to_cim(model, cim_spec).to(dev)
    with exact_float32():
        stats = calibrate(cim, to_float(calib.images, dev), batch_size=args.batch, samples=50_000, seed=0)
        fits = Fitter(stats, 0).fits("lloyd_max", 4)
        for layer in cim_layers(cim):
            st = stats[layer.name]
            layer.adc = adc_function(fits[layer.name], dev, lut_range=(st.minimum, st.maximum))
        _run(model, images[: args.batch], args.batch, dev)  # warm-up
        _run(cim, images[: args.batch], args.batch, dev)
        t_float, t_cim = [], []
        for _ in range(args.repeats):
            t, pred_f = _run(model, images, args.batch, dev)
            t_float.append(t)
            t, pred_c = _run(cim, images, args.batch, dev)
            t_cim.append(t)
    f_med, c_med = statistics.median(t_float), statistics.median(t_cim)
    print(f"network: vgg8 width {spec.width:g} on {spec.dataset}, {origin}; device {dev}; "
          f"threads {torch.get_num_threads()}")
    print(f"images: {len(test)}, batch {args.batch}, repeats {args.repeats}")
    print(f"float accuracy {100 * float((pred_f == labels).float().mean()):.2f} %, "
          f"CIM 4-bit lloyd_max accuracy {100 * float((pred_c == labels).float().mean()):.2f} %")
    print("float times (s): " + ", ".join(f"{t:.3f}" for t in t_float) + f"; median {f_med:.3f}")
    print("cim times (s): " + ", ".join(f"{t:.3f}" for t in t_cim) + f"; median {c_med:.3f}")
    print(f"cim_over_float_time_ratio: {c_med / f_med:.2f}")


if __name__ == "__main__":
    main()
