"""Atomic file output: a reader never sees a half-written file, an interrupted job leaves none.

Everything memspice writes as a result goes through these helpers: the content is written to a
temporary file in the same folder, flushed to disk, then renamed over the target. The file gets
the mode an ordinary ``open()`` would give it (0666 less the user's umask), not the temporary
file's private 0600.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

_UMASK: int | None = None


def file_mode() -> int:
    """0666 less the process umask (read once: changing the umask is not thread-safe)."""
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return 0o666 & ~_UMASK


def write_bytes_atomic(path: str | Path, data: bytes, *, durable: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically. ``durable=False`` skips the flush to disk (fsync): the rename
    still makes the file appear whole or not at all to every reader and after a killed process, but
    after a power loss it may be empty or missing -- for caches whose reader recomputes an unreadable
    file (the Monte Carlo chunk cache), where the fsync was a tenth of a chunk's own CPU time."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), file_mode())
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def write_text_atomic(path: str | Path, text: str, *, durable: bool = True) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"), durable=durable)


def to_jsonable(value: Any) -> Any:
    """Plain JSON data from numpy scalars/arrays, paths, tuples and mappings (NaN becomes null)."""
    kind = type(value)
    if kind is float:  # the common leaves first: the Mapping check below is an ABC check, slow per number
        return value if math.isfinite(value) else None
    if kind is int or kind is str or kind is bool or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if kind is list or kind is tuple:  # plain leaves inline (a chunk record's measures: hundreds of floats)
        return [v if (t := type(v)) is str or t is int or t is bool or v is None or (t is float and math.isfinite(v))
                else to_jsonable(v) for v in value]
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path: str | Path, data: Any) -> Path:
    text = json.dumps(to_jsonable(data), indent=2, sort_keys=True) + "\n"
    return write_text_atomic(path, text)


def write_csv(path: str | Path, columns: Mapping[str, Sequence[Any] | np.ndarray]) -> Path:
    """A CSV from equal-length columns, numbers written with full precision (repr)."""
    names = list(columns)
    cols = [np.asarray(columns[n]) for n in names]
    lengths = {len(c) for c in cols}
    if len(lengths) > 1:
        raise ValueError(f"columns of unequal length: { {n: len(c) for n, c in zip(names, cols, strict=True)} }")
    lines = [",".join(names)]
    for row in zip(*cols, strict=True):
        lines.append(",".join(_cell(v) for v in row))
    return write_text_atomic(path, "\n".join(lines) + "\n")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return repr(float(value)) if math.isfinite(value) else ""
    if isinstance(value, (np.integer,)):
        return str(int(value))
    text = str(value)
    if any(c in text for c in ',"\n'):
        text = '"' + text.replace('"', '""') + '"'
    return text
