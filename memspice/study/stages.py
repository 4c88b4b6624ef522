"""Cached stages of a study.

A stage is a named step with a key: a hash of its own configuration, the keys of the stages it
reads from and the memspice version. Its outputs live in ``<run>/<stage>/`` beside a
``stage.json`` holding the key. When a study reruns, a stage whose key is unchanged and whose
``stage.json`` says it finished is skipped; otherwise it is recomputed into a fresh folder that
replaces the old one only once complete, so an interrupted stage never leaves half its outputs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memspice import __version__
from memspice.io import to_jsonable, write_json

_log = logging.getLogger(__name__)


def as_json(data: Any) -> Any:
    """``data`` as a JSON file holding it reads back (tuples as lists, numpy as Python numbers)."""
    return json.loads(json.dumps(to_jsonable(data)))


def stage_key(name: str, config: Mapping[str, Any], upstream: Mapping[str, str]) -> str:
    text = json.dumps({"stage": name, "config": to_jsonable(config), "upstream": dict(upstream),
                       "memspice": __version__}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class StageResult:
    name: str
    key: str
    dir: Path
    cached: bool
    seconds: float
    summary: dict[str, Any] = field(default_factory=dict)


class StageRunner:
    """Runs stages into ``run_dir`` and reports each one (cached, running, done and its time) at INFO
    to ``logger`` (default ``memspice.study.stages``; the CLI prints INFO unless ``-q``)."""

    def __init__(self, run_dir: Path, logger: logging.Logger | None = None):
        self.run_dir = run_dir
        self.log = (logger or _log).info
        self.results: dict[str, StageResult] = {}

    def _record(self, name: str) -> dict[str, Any]:
        record = self.run_dir / name / "stage.json"
        if record.exists():
            try:
                return json.loads(record.read_text())
            except json.JSONDecodeError:
                pass
        return {}

    def finished_config(self, name: str) -> dict[str, Any]:
        """The configuration ``name`` last finished with in this run folder (as JSON reads it back), or {}."""
        done = self._record(name)
        return done.get("config", {}) if done.get("status") == "done" else {}

    def may_be_cached(self, name: str, config: Mapping[str, Any]) -> bool:
        """Whether ``name`` finished before with this configuration (its upstream keys not compared:
        they may not be known yet). A study starts a stage's work early only where this is false."""
        return self.finished_config(name) == as_json(config)

    def run(self, name: str, config: Mapping[str, Any], work: Callable[[Path], dict[str, Any]],
            upstream: tuple[str, ...] = ()) -> StageResult:
        keys = {u: self.results[u].key for u in upstream}
        key = stage_key(name, config, keys)
        final = self.run_dir / name
        done = self._record(name)
        if done.get("key") == key and done.get("status") == "done":
            result = StageResult(name, key, final, True, 0.0, done.get("summary", {}))
            self.results[name] = result
            self.log(f"[{len(self.results)}] {name}: cached ({key})")
            return result
        self.log(f"[{len(self.results) + 1}] {name}: running")
        tmp = self.run_dir / f".{name}.partial"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        t0 = time.monotonic()
        summary = work(tmp) or {}
        seconds = time.monotonic() - t0
        early = summary.get("seconds_beside_earlier_stages")
        write_json(tmp / "stage.json", {"stage": name, "key": key, "status": "done", "upstream": keys,
                                        "config": config, "seconds": seconds, "summary": summary,
                                        "memspice_version": __version__})
        if final.exists():
            old = self.run_dir / f".{name}.old"
            if old.exists():
                shutil.rmtree(old)
            final.rename(old)
            tmp.rename(final)
            shutil.rmtree(old)
        else:
            tmp.rename(final)
        result = StageResult(name, key, final, False, seconds, summary)
        self.results[name] = result
        beside = f"; {early:.1f} s of its work ran beside earlier stages" if early else ""
        self.log(f"[{len(self.results)}] {name}: done in {seconds:.1f} s ({key}{beside})")
        return result
