"""``memspice characterize device`` and ``memspice fit``."""

from __future__ import annotations

import typer


def register(app: typer.Typer, characterize_app: typer.Typer) -> None:
    pass
