"""The command line interface (Typer and Rich)."""

from __future__ import annotations
