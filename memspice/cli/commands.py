"""Registers every command module on the app (kept apart so that ``main`` stays tiny)."""

from __future__ import annotations

import typer


def register(app: typer.Typer, characterize_app: typer.Typer) -> None:
    from memspice.cli import adc, crossbar, device, explore, mc, nn, reproduce, study

    for module in (device, crossbar, adc, explore, mc, nn, study, reproduce):
        module.register(app, characterize_app)
