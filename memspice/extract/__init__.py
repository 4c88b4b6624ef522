"""Pure numpy extraction from simulated waveforms: thresholds, transfer curves, boundaries, INL/DNL, energy."""
