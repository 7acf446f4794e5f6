"""Test support shipped with the package: emulators of the platforms on loopback."""

from __future__ import annotations
