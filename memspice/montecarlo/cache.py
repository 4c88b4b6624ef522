"""The Monte Carlo chunk cache: one JSON file per finished chunk, written atomically, keyed by the plan.

``<cache>/<plan>-<hash>/chunk_NNNNN.json``: a chunk's drawn values go as base64 of their float64 bytes
(exact) and the rest as compact JSON; ``meta.json`` names the plan and the cache format. Rerunning a
plan, even after SIGKILL, reads the finished chunks back and computes only the missing ones.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from memspice import __version__
from memspice.errors import InputError
from memspice.io import to_jsonable, write_bytes_atomic, write_json
from memspice.montecarlo.circuit import MonteCarloCircuit
from memspice.montecarlo.plan import Plan

#: 2: a chunk's drawn values stored as little-endian float64 bytes in base64 (exact, fast);
#: 3: the crossbar's batched chunk decks write their cells inline (netlist.crossbar.CELL_FORMS; the same
#: numbers to 1e-12, tested) -- a cache of the decks before is refused, not mixed in;
#: 4: the state tables' entries as integers over a power of two where exact (netlist.cards._table_texts; the
#: same doubles, read exactly by ngspice: results move by ~1e-15 relative, docs/DEVELOPING.md);
#: 5: a state table spanning two binades as 17-digit integers over one more power of two (was reprs)
CACHE_FORMAT = 5


def plan_key(plan: Plan, circuit: MonteCarloCircuit) -> str:
    text = json.dumps({"format": CACHE_FORMAT, "plan": plan.cache_fields(), "circuit": circuit.spec_hash()},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def estimate_mb(plan: Plan, circuit: MonteCarloCircuit) -> float:
    """Rough size of the plan's chunk records (JSON, about 24 bytes a number), held in memory once assembled."""
    members = sum(len(g.labels) for g in circuit.param_groups().values())
    measures = len(plan.measure) or len(list(circuit.measure_names()))
    return plan.samples * (members + measures + 4) * 24 / 1e6


class ChunkCache:
    """Finished chunks of one plan, one JSON file each, written atomically."""

    def __init__(self, root: Path, plan: Plan, circuit: MonteCarloCircuit):
        self.dir = Path(root) / f"{_safe(plan.name)}-{plan_key(plan, circuit)}"
        self.plan = plan
        meta = self.dir / "meta.json"
        if meta.exists():
            try:
                found = json.loads(meta.read_text())
            except json.JSONDecodeError:
                raise InputError(f"Monte Carlo cache {self.dir}: meta.json is unreadable; remove the folder") from None
            if found.get("format") != CACHE_FORMAT:
                raise InputError(
                    f"Monte Carlo cache {self.dir} was written by cache format {found.get('format')!r} "
                    f"(memspice {found.get('memspice', '?')}); this memspice reads format {CACHE_FORMAT}. "
                    "Nothing was overwritten: remove that folder or choose another --cache")
        else:
            write_json(meta, {"format": CACHE_FORMAT, "memspice": __version__, "plan": plan.cache_fields(),
                              "circuit_hash": circuit.spec_hash()})

    def path(self, chunk: int) -> Path:
        return self.dir / f"chunk_{chunk:05d}.json"

    def load(self, chunk: int) -> dict[str, Any] | None:
        path = self.path(chunk)
        if not path.exists():
            return None
        try:
            record = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None  # an interrupted or lost write (the files are not fsync'ed): recompute
        if not isinstance(record, dict):
            return None
        if record.get("format") != CACHE_FORMAT:
            raise InputError(f"Monte Carlo cache {path}: chunk written by format {record.get('format')!r}, "
                             f"expected {CACHE_FORMAT}; remove the folder {self.dir}")
        try:
            record["values"] = {g: _decode_values(v) for g, v in record["values"].items()}
        except (KeyError, TypeError, ValueError):
            return None  # not a chunk this writer made: recompute it
        return record

    def finished(self) -> dict[int, dict[str, Any]]:
        """Every readable finished chunk, by chunk index (each file read once)."""
        return {k: r for k in range(self.plan.n_chunks) if (r := self.load(k)) is not None}

    def store(self, record: dict[str, Any]) -> dict[str, Any]:
        """Write the chunk atomically and return its measures as :meth:`load` reads them back (NaN as None).
        Its values (most of a record: samples x members) go as base64 of their float64 bytes and the rest
        as compact JSON: 2 ms for a 50-sample, 256-member chunk where indented JSON of the floats took 75 ms
        (more than a third of that chunk's ngspice run). The base64 text is spliced into the JSON rather
        than passed through the encoder (which scanned its 137 kB for escapes; the same JSON either way),
        and the file is not fsync'ed: an unreadable chunk is recomputed (:meth:`load`)."""
        rest = to_jsonable({k: v for k, v in record.items() if k != "values"})
        head = json.dumps(rest, separators=(",", ":"), sort_keys=True)
        parts = [head[:-1].encode("utf-8"), b',"values":{']
        for i, (g, v) in enumerate(sorted(record["values"].items())):
            parts += [b"," if i else b"", json.dumps(g).encode("utf-8"), b":", *_encode_values_json(v)]
        parts.append(b"}}\n")
        write_bytes_atomic(self.path(record["chunk"]), b"".join(parts), durable=False)  # bytes: the base64 text
        return rest["measures"]  # (most of the file) is not decoded, joined and encoded again


def _encode_values_json(rows: Any) -> tuple[bytes, bytes, bytes]:
    """``{"f8_base64": <base64 of the little-endian float64 bytes>, "shape": [...]}`` as compact sorted JSON
    (UTF-8, in three pieces), written without the encoder's scan of the base64 text (its alphabet needs no
    escape)."""
    arr = np.ascontiguousarray(np.asarray(rows, dtype="<f8"))
    shape = ",".join(str(int(n)) for n in arr.shape)
    return b'{"f8_base64":"', base64.b64encode(arr.tobytes()), b'","shape":[' + shape.encode("ascii") + b"]}"


def _decode_values(enc: Mapping[str, Any]) -> np.ndarray:
    arr = np.frombuffer(base64.b64decode(enc["f8_base64"], validate=True), dtype="<f8")
    return arr.reshape([int(n) for n in enc["shape"]]).copy()


def _safe(name: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in name)[:60] or "plan"
