"""Characterization flows: spec -> netlist -> ngspice -> extraction -> output files."""
