"""Strip outputs, execution counts and run timings from notebooks, in place, before committing
(tests/test_notebooks.py fails on a notebook with outputs).

    .venv/bin/python notebooks/strip_outputs.py              # every notebooks/*.ipynb
    .venv/bin/python notebooks/strip_outputs.py some.ipynb   # the files named
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat


def strip(path: Path) -> bool:
    """Strip one notebook; True when it changed."""
    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # JupyterLab's run timings
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.metadata.pop("widgets", None)
    after = nbformat.writes(nb)
    if after != before:
        path.write_text(after, encoding="utf-8")
    return after != before


if __name__ == "__main__":
    paths = [Path(p) for p in sys.argv[1:]] or sorted(Path(__file__).parent.glob("*.ipynb"))
    for p in paths:
        print(("stripped  " if strip(p) else "clean     ") + str(p))
