"""One ``write_outputs(result, out_dir)`` for every typed result of the Python API.

Each flow computes a dataclass and writes nothing (``run_device``, ``run_crossbar``, ``run_adc``,
``run_plan``, ``run_explore``); its own module writes it. This dispatcher picks that writer from the
result's type, so a script needs one name. Modules are imported only for the result at hand.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any

#: result class (module, name) -> (writer module, writer function); the writer takes (result, out_dir, **options)
WRITERS: dict[tuple[str, str], tuple[str, str]] = {
    ("memspice.characterize.device", "DeviceResult"): ("memspice.characterize.device_outputs", "write_outputs"),
    ("memspice.characterize.crossbar.flow", "CrossbarResult"): ("memspice.characterize.crossbar.outputs",
                                                                "write_outputs"),
    ("memspice.characterize.adc.flow", "AdcResult"): ("memspice.characterize.adc.outputs", "write_outputs"),
    ("memspice.characterize.explore", "ExploreResult"): ("memspice.characterize.explore_outputs", "write_outputs"),
    ("memspice.montecarlo.engine", "PlanResult"): ("memspice.montecarlo.outputs", "write_outputs"),
}


def write_outputs(result: Any, out_dir: str | Path, **options: Any) -> Any:
    """Write ``result`` into ``out_dir`` as the matching ``memspice characterize``/``mc``/``explore``
    command does and return what that writer returns (the summary dict for device, crossbar and ADC).
    ``options``: the writer's keywords (e.g. ``figures=False``). A type without a writer is a TypeError
    naming the types that have one."""
    key = (type(result).__module__, type(result).__name__)
    if key not in WRITERS:
        known = ", ".join(name for _, name in WRITERS)
        raise TypeError(f"write_outputs: no writer for {key[1]} (from {key[0]}); results with one: {known}")
    module, name = WRITERS[key]
    return getattr(import_module(module), name)(result, Path(out_dir), **options)
