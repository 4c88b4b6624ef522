"""Tables and summary of a Monte Carlo batch: samples.csv, results.csv, summary.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from memspice import __version__
from memspice.io import write_csv, write_json
from memspice.montecarlo.engine import PlanResult


def sample_table(result: PlanResult) -> dict[str, list]:
    """One row per sample: its index, chunk and every drawn value (columns named by member)."""
    groups = result.circuit.param_groups()
    cols: dict[str, list] = {"sample": [], "chunk": []}
    for rec in result.records:
        cols["sample"] += rec["samples"]
        cols["chunk"] += [rec["chunk"]] * len(rec["samples"])
    for name, group in groups.items():
        values = result.values(name)
        for j, label in enumerate(group.labels):
            cols[label] = values[:, j].tolist()
    return cols


def result_table(result: PlanResult) -> dict[str, list]:
    cols: dict[str, list] = {"sample": [], "status": [], "retried": [], "reason": []}
    names = list(result.records[0]["measures"]) if result.records else []
    for name in names:
        cols[name] = []
    for rec in result.records:
        cols["sample"] += rec["samples"]
        cols["status"] += rec["status"]
        cols["retried"] += rec["retried"]
        cols["reason"] += rec["reason"]
        for name in names:
            cols[name] += [np.nan if v is None else v for v in rec["measures"][name]]
    return cols


def summarize(result: PlanResult) -> dict[str, Any]:
    res = result_table(result)
    names = [k for k in res if k not in ("sample", "status", "retried", "reason")]
    stats = {}
    for name in names:
        v = np.asarray(res[name], dtype=float)
        v = v[np.isfinite(v)]
        stats[name] = {"mean": float(v.mean()) if v.size else None, "std": float(v.std(ddof=1)) if v.size > 1 else None,
                       "min": float(v.min()) if v.size else None, "max": float(v.max()) if v.size else None}
    computed = sum(len(result.plan.chunk_range(0)) for _ in range(result.computed_chunks))
    return {
        "memspice_version": __version__,
        "plan": result.plan.name,
        "circuit": result.plan.circuit,
        "plan_spec_hash": result.plan.spec_hash(),
        "seed": result.plan.seed,
        "samples": result.plan.samples,
        "chunks": result.plan.n_chunks,
        "chunk_size": result.plan.chunk_size,
        "failures": result.n_failed,
        "retried": int(sum(res["retried"])),
        "chunks_computed_now": result.computed_chunks,
        "seconds_now": result.seconds,
        "samples_per_second_now": (computed / result.seconds) if result.seconds > 0 and computed else None,
        "cache_dir": str(result.cache_dir),
        "measures": stats,
    }


def write_outputs(result: PlanResult, out_dir: Path, *, figures: bool = True) -> dict[str, Any]:
    """samples.csv, results.csv and summary.json; returns the summary. ``figures`` is taken as every
    flow's writer takes it (:func:`memspice.api.write_outputs`); a plan's outputs have none."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(out_dir / "samples.csv", sample_table(result))
    write_csv(out_dir / "results.csv", result_table(result))
    summary = summarize(result)
    write_json(out_dir / "summary.json", summary)
    return summary
