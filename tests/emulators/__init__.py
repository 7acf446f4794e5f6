"""Emulators of the platforms on loopback, for the tests and benchmarks only.

They live outside the `visibility` package so that neither the wheel nor the
container image carries them; `bench/` puts `tests/` on `sys.path` to use them.
"""

from __future__ import annotations
