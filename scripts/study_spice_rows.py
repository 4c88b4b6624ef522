"""The default study's evaluate, reduced: 4 bits, lloyd_max and the spice rows (closed, open) only.

Needs a study run folder with the train, calibrate and adc stages (``memspice study
circuits/study_default.toml --stages train,calibrate,adc --out runs/study4``). Uses that study's network,
seeds and the adc stage's ``lloyd_max_4b/adc.json``, with the first K Monte Carlo chips of each
programming mode and N test images:

    PYTHONPATH=. python scripts/study_spice_rows.py N K      # e.g. 500 8
"""
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from memspice.nn.artifacts import load_spice_adc
from memspice.nn.evaluate import evaluate
from memspice.nn.spec import EvalSpec
from memspice.nn.train import load_trained, resolve_device
from memspice.study.run import Study
from memspice.study.spec import load_study_file

n_img, k = int(sys.argv[1]), int(sys.argv[2])
spec = load_study_file(Path("circuits/study_default.toml"))
st = Study(spec, Path("circuits/study_default.toml"), Path("runs/study4"), show_progress=False)
art = load_spice_adc("runs/study4/adc/lloyd_max_4b/adc.json")
art = replace(art, mc_measured_V=art.mc_measured_V[:k], mc_modes=tuple((m, r[:k]) for m, r in art.mc_modes))
espec = EvalSpec(bits=(4,), adcs=("lloyd_max",), test_images=n_img, sigmas=(), sweep_bits=(), trials=1,
                 seed=st.seeds["evaluate"])
dev = resolve_device("cpu")
trained = load_trained(st._train_spec(), Path(spec.network.cache_dir), dev)
t = time.monotonic()
res = evaluate(trained, st._cim_spec(), espec, out_dir=Path(f"runs/ev_spice_{n_img}_{k}"),
               data_root=st._data_root(), device="cpu", spice_adcs=[art], show_progress=True)
rows = res.rows
for label in ("lloyd_max", "spice", "spice_open"):
    acc = np.array([r["accuracy"] for r in rows if r["adc"] == label and r["bits"] == 4])
    print(label, len(acc), f"mean {100 * acc.mean():.2f} min {100 * acc.min():.2f} max {100 * acc.max():.2f}")
print("float/ideal", [(r["adc"], round(100 * r["accuracy"], 2)) for r in rows if r["bits"] == 0],
      f"{time.monotonic() - t:.0f} s")
