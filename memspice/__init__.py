"""memspice: SPICE-in-the-loop co-simulation of memristor compute-in-memory hardware.

Importing the package is light on purpose (numpy at most, lazily elsewhere): torch, matplotlib,
dask and PySpice are imported only by the functions that need them.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
