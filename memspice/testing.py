"""pytest plugin: how tests that need ngspice, torch or dask behave when those are missing.

``MEMSPICE_TEST_MODE`` (default ``required``):

- ``required``: a test marked ``ngspice``/``torch``/``dask`` fails when its dependency is missing
  (CI runs this way, so such tests can never be skipped silently);
- ``if_available``: such a test is skipped when its dependency is missing (for a workstation
  without the dependency);
- ``disabled``: such tests are skipped.

Load it from ``conftest.py`` with ``pytest_plugins = ["memspice.testing"]``.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

MODES = ("required", "if_available", "disabled")
_CACHE: dict[str, str | None] = {}


def _mode() -> str:
    mode = os.environ.get("MEMSPICE_TEST_MODE", "required")
    if mode not in MODES:
        raise pytest.UsageError(f"MEMSPICE_TEST_MODE={mode!r}; expected one of {', '.join(MODES)}")
    return mode


def _missing(dep: str) -> str | None:
    """None when ``dep`` is usable, else why not."""
    if dep in _CACHE:
        return _CACHE[dep]
    reason = None
    if dep == "ngspice":
        from memspice.errors import NgspiceNotFoundError
        from memspice.ngspice.locate import find_libngspice, find_ngspice

        try:
            find_ngspice()
            find_libngspice()
        except NgspiceNotFoundError as err:
            reason = str(err)
    elif dep == "torch":
        if importlib.util.find_spec("torch") is None:
            reason = "torch is not installed (pip install torch==2.13.0)"
    elif dep == "dask":
        if importlib.util.find_spec("distributed") is None:
            reason = "dask.distributed is not installed (pip install -e '.[dask]')"
    _CACHE[dep] = reason
    return reason


def pytest_report_header(config):
    return f"memspice test mode: {_mode()} (MEMSPICE_TEST_MODE)"


def pytest_runtest_setup(item):
    mode = _mode()
    for dep in ("ngspice", "torch", "dask"):
        if dep not in item.keywords:
            continue
        if mode == "disabled":
            pytest.skip(f"{dep} tests disabled (MEMSPICE_TEST_MODE=disabled)")
        reason = _missing(dep)
        if reason is None:
            continue
        if mode == "required":
            pytest.fail(f"{dep} is required (MEMSPICE_TEST_MODE=required) but unusable: {reason}",
                        pytrace=False)
        pytest.skip(f"{dep} unavailable: {reason}")
