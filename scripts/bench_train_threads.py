"""CPU time per optimizer step of ``memspice train`` by torch thread count, side by side.

One process; ``--steps`` optimizer steps of the default network (VGG8 width 0.125, batch 128, the
quantization-aware forward pass with ``--qat 8``, float otherwise) on random 28x28 images, the
thread counts alternating ``--rounds`` times (so load changes hit both alike). Prints per count the
median over rounds of CPU seconds (process user + system) and wall seconds per step, and whether
the weights after the first round are bit-identical across counts (they are not: MKL's small
matrix products sum in an order that follows the thread count, hence ``TrainSpec.threads``).

    python scripts/bench_train_threads.py [--threads 1,2] [--steps 10] [--rounds 3] [--qat 8]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--qat", type=int, default=8)
    args = ap.parse_args()

    import torch
    import torch.nn.functional as F

    from memspice.nn import qat
    from memspice.nn.networks import build_network

    counts = [int(t) for t in args.threads.split(",")]
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(args.steps, 128, 1, 28, 28, generator=gen)
    y = torch.randint(0, 10, (args.steps, 128), generator=gen)

    def steps(threads: int) -> tuple[float, float, dict]:
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        bits = args.qat
        model = build_network("vgg8", in_channels=1, image_size=28, width=0.125,
                              act_bound=qat.bound(bits) if bits else 0.0)
        if bits:
            qat.init_wage(model, bits)
        opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=5e-4)
        model.train()
        c0, t0 = cpu_s(), time.monotonic()
        with qat.quantized(model, bits) if bits else torch.enable_grad():
            for i in range(args.steps):
                out = model(x[i])
                loss = qat.sse_loss(out, y[i]) if bits else F.cross_entropy(out, y[i])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if bits:
                    qat.clip_weights(model, bits)
        per = (cpu_s() - c0) / args.steps, (time.monotonic() - t0) / args.steps
        return *per, {k: v.clone() for k, v in model.state_dict().items()}

    cpu: dict[int, list[float]] = {t: [] for t in counts}
    wall: dict[int, list[float]] = {t: [] for t in counts}
    weights = {}
    for r in range(args.rounds):
        for t in counts:
            c, w, state = steps(t)
            cpu[t].append(c)
            wall[t].append(w)
            if r == 0:
                weights[t] = state
    ref = weights[counts[0]]
    print(f"{args.steps} steps x {args.rounds} rounds, batch 128, VGG8 width 0.125, "
          f"{'qat ' + str(args.qat) if args.qat else 'float'}")
    print("| torch threads | CPU s per step (median) | wall s per step (median) | weights = first count's |")
    print("|---|---|---|---|")
    for t in counts:
        same = all(torch.equal(ref[k], weights[t][k]) for k in ref)
        print(f"| {t} | {statistics.median(cpu[t]):.3f} | {statistics.median(wall[t]):.3f} | {same} |")


if __name__ == "__main__":
    main()
