"""The web interface and REST API (FastAPI), served with the scheduler by `visibility serve`."""

from __future__ import annotations
