"""memspice: SPICE-in-the-loop co-simulation of memristor compute-in-memory hardware.

Importing the package is light on purpose (numpy at most, lazily elsewhere): torch, matplotlib,
dask and PySpice are imported only by the functions that need them. The Python API below is
exported lazily: ``memspice.run_adc`` imports :mod:`memspice.characterize.adc` on first use.
``docs/api.md`` lists every name with what it takes and returns.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# part of the explorer's and the study stages' cache keys: bumped when results change without any spec change
# (0.1.1: cell 0 written, not verified, session 11)
__version__ = "0.1.1"

# public name -> module that defines it (the name is the same there)
_API: dict[str, str] = {
    # descriptions (specs) and their loaders
    "AdcSpec": "memspice.spec.adc",
    "load_adc_spec": "memspice.spec.adc",
    "DeviceCard": "memspice.spec.device",
    "load_card": "memspice.spec.device",
    "default_card": "memspice.spec.device",
    "load_study": "memspice.spec.crossbar",
    "load_plan": "memspice.montecarlo.plan",
    "load_study_file": "memspice.study.spec",
    "load_grid": "memspice.characterize.explore",
    # characterizations
    "DeviceStudySpec": "memspice.characterize.device",
    "ProgramSpec": "memspice.characterize.device",
    "DeviceResult": "memspice.characterize.device",
    "run_device": "memspice.characterize.device",
    "characterize_device": "memspice.characterize.device_outputs",
    "CrossbarResult": "memspice.characterize.crossbar",
    "run_crossbar": "memspice.characterize.crossbar",
    "characterize_crossbar": "memspice.characterize.crossbar",
    "RunOptions": "memspice.characterize.adc",
    "AdcResult": "memspice.characterize.adc",
    "run_adc": "memspice.characterize.adc",
    "write_outputs": "memspice.api",
    "PlanResult": "memspice.montecarlo.engine",
    "run_plan": "memspice.montecarlo.engine",
    "run_explore": "memspice.characterize.explore",
    "run_study": "memspice.study.run",
    "run_reproduce": "memspice.reproduce.run",
    "ReproduceContext": "memspice.reproduce.cell",
    # the simulator
    "simulate": "memspice.ngspice.engine",
}
# exported under another name than the defining module's
_RENAMED: dict[str, str] = {"ReproduceContext": "Context"}

__all__ = [  # the keys of _API and __version__ (a test checks)
    "AdcResult",
    "AdcSpec",
    "CrossbarResult",
    "DeviceCard",
    "DeviceResult",
    "DeviceStudySpec",
    "PlanResult",
    "ProgramSpec",
    "ReproduceContext",
    "RunOptions",
    "__version__",
    "characterize_crossbar",
    "characterize_device",
    "default_card",
    "load_adc_spec",
    "load_card",
    "load_grid",
    "load_plan",
    "load_study",
    "load_study_file",
    "run_adc",
    "run_crossbar",
    "run_device",
    "run_explore",
    "run_plan",
    "run_reproduce",
    "run_study",
    "simulate",
    "write_outputs",
]

if TYPE_CHECKING:  # for type checkers and editors; at run time the names resolve in __getattr__
    from memspice.api import write_outputs
    from memspice.characterize.adc import AdcResult, RunOptions, run_adc
    from memspice.characterize.crossbar import CrossbarResult, characterize_crossbar, run_crossbar
    from memspice.characterize.device import DeviceResult, DeviceStudySpec, ProgramSpec, run_device
    from memspice.characterize.device_outputs import characterize_device
    from memspice.characterize.explore import load_grid, run_explore
    from memspice.montecarlo.engine import PlanResult, run_plan
    from memspice.montecarlo.plan import load_plan
    from memspice.ngspice.engine import simulate
    from memspice.reproduce.cell import Context as ReproduceContext
    from memspice.reproduce.run import run_reproduce
    from memspice.spec.adc import AdcSpec, load_adc_spec
    from memspice.spec.crossbar import load_study
    from memspice.spec.device import DeviceCard, default_card, load_card
    from memspice.study.run import run_study
    from memspice.study.spec import load_study_file


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'memspice' has no attribute {name!r}")
    value = getattr(import_module(module), _RENAMED.get(name, name))
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
