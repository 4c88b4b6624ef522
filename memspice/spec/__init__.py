"""Validated descriptions of devices, circuits, analyses and studies (pure data)."""

from memspice.spec.base import Spec, check, fail, load_spec, param, read_toml

__all__ = ["Spec", "check", "fail", "load_spec", "param", "read_toml"]
