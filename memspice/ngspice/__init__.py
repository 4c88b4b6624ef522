"""Running ngspice (subprocess or shared library) and checking that it really succeeded."""

from memspice.ngspice.engine import BACKENDS, SimResult, simulate

__all__ = ["BACKENDS", "SimResult", "simulate"]
