"""Netlist text emission from typed cards (pure; no simulator here)."""
