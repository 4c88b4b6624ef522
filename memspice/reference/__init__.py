"""Independent references: the same physics computed without SPICE (scipy, numpy)."""
