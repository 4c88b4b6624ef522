"""The Python API: what `memspice` exports (lazily), its docs, and the README example run as written."""

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import memspice

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.unit
def test_all_lists_exactly_the_lazy_exports():
    assert set(memspice.__all__) == {"__version__", *memspice._API}
    assert set(memspice.__all__) <= set(dir(memspice))


@pytest.mark.unit
@pytest.mark.parametrize("name", sorted(memspice._API))
def test_each_export_is_its_module_object(name):
    module = importlib.import_module(memspice._API[name])
    assert getattr(memspice, name) is getattr(module, memspice._RENAMED.get(name, name))


@pytest.mark.unit
def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_thing"):
        memspice.no_such_thing  # noqa: B018


@pytest.mark.unit
def test_resolving_a_spec_stays_light():
    code = ("import sys, memspice\n"
            "memspice.AdcSpec, memspice.load_card, memspice.run_adc\n"
            "print(','.join(m for m in ('torch', 'matplotlib', 'dask') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.unit
def test_api_doc_lists_every_export():
    doc = (ROOT / "docs" / "api.md").read_text()
    missing = [n for n in memspice._API if f"`{n}" not in doc]
    assert not missing, missing


def _from_python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## From Python\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


@pytest.mark.ngspice
def test_readme_from_python_runs_as_written(tmp_path):
    blocks = _from_python_blocks()
    assert blocks, "README.md: no ```python block in the section 'From Python'"
    script = tmp_path / "readme_example.py"
    script.write_text("\n".join(blocks))
    env = {**os.environ, "MEMSPICE_PROGRESS": "off",
           "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    # what the example prints is what it wrote: the summary of the run in device/
    assert (tmp_path / "device" / "summary.json").is_file()
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("R_on ") and len(lines) == 3, proc.stdout
    for line, target in zip(lines[1:], (200, 300), strict=True):
        final = float(line.split("->")[1].split()[0])
        assert abs(final - target) <= 5.0, line  # the write-verify tolerance: 5 uS (ProgramSpec default)


@pytest.mark.unit
def test_write_outputs_names_the_results_it_writes():
    with pytest.raises(TypeError, match=r"no writer for dict.*DeviceResult.*AdcResult"):
        memspice.write_outputs({}, "unused")


@pytest.mark.unit
def test_every_writer_entry_resolves():
    from memspice.api import WRITERS

    for (module, cls), (wmod, fn) in WRITERS.items():
        assert isinstance(getattr(importlib.import_module(module), cls), type)
        assert callable(getattr(importlib.import_module(wmod), fn))
