"""Zappa callbacks for the console's package (``callbacks`` in zappa_settings.json).

Zappa loads this file on its own, outside the ``privpi`` package: standard library only.
"""

from __future__ import annotations

import importlib.metadata
import zipfile
from pathlib import Path
from typing import Any


def restore_docutils(zappa_cli: Any) -> None:  # zappa.cli.ZappaCLI: Zappa has no types
    """Put docutils back into the package after Zappa built it.

    Zappa leaves out every ``docutils*`` path (a fixed exclude from its early days), but
    readme_renderer needs docutils to render reStructuredText descriptions in the console.
    """
    dist = importlib.metadata.distribution("docutils")
    root = Path(str(dist.locate_file("")))
    with zipfile.ZipFile(zappa_cli.zip_path, "a", zipfile.ZIP_DEFLATED) as zf:
        present = set(zf.namelist())
        for file in dist.files or []:
            name = file.as_posix()
            if "__pycache__" in name or name.startswith("..") or name in present:
                continue
            path = root / file
            if path.is_file():
                zf.write(path, name)
