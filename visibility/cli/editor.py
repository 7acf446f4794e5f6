"""Open text in the user's editor (``$VISUAL``, ``$EDITOR``, else a common one)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

from visibility.errors import UserError


def _editor_command() -> list[str]:
    for variable in ("VISUAL", "EDITOR"):
        value = os.environ.get(variable, "").strip()
        if value:
            return shlex.split(value)
    for candidate in ("sensible-editor", "nano", "vi"):
        if shutil.which(candidate):
            return [candidate]
    raise UserError("no editor found: set $EDITOR, or pass the new text with --text")


def edit_text(text: str, *, suffix: str = ".txt") -> str:
    """Return the text as saved in the editor; the original when nothing was saved."""
    command = _editor_command()
    with tempfile.TemporaryDirectory(prefix="visibility-") as folder:
        path = Path(folder) / f"post{suffix}"
        path.write_text(text, encoding="utf-8")
        try:
            # The editor is the user's own choice ($EDITOR), run without a shell.
            finished = subprocess.run([*command, str(path)], check=False)  # noqa: S603
        except FileNotFoundError:
            raise UserError(
                f"editor {command[0]!r} not found: set $EDITOR, or pass the text with --text"
            ) from None
        if finished.returncode != 0:
            raise UserError(
                f"the editor exited with status {finished.returncode}; nothing was changed"
            )
        return path.read_text(encoding="utf-8")
