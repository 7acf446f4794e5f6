from __future__ import annotations

from visibility.cli.app import main

main()
