"""Fitting model parameters to measured data."""
