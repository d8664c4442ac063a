"""The analyst notebooks (notebooks/*.ipynb) run top to bottom on a small generated warehouse,
each in a fresh kernel (the venv's ``python3`` kernel, its own Spark), and are committed
without outputs.

The warehouse is a copy of the session's ``small_warehouse`` (300 persons, 2022-2023) with the
two indicators the notebooks read computed once; the financing notebook runs its reduced
scenario itself (its run-if-missing path), capitation_pilots with 10 bootstrap replicates.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from spec_helpers import REPO_SPECS

from phm.data.warehouse import Warehouse

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
# what notebooks 01 and 02 read by default (PHM_INDICATOR, PHM_QUALITY_INDICATOR)
INDICATORS = ["gp_contact_share", "readmission_unplanned_30d"]
CELL_TIMEOUT = 600  # seconds; a cell that hangs fails the test instead of the CI job


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS][:3] == [
        "01_atlas_results.ipynb",
        "02_hospital_quality.ipynb",
        "03_financing_scenario.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_are_committed_without_outputs(path):
    """Strip before committing: e.g. `jupyter nbconvert --clear-output --inplace` or
    nbstripout (see notebooks/README.md)."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} have outputs or execution counts"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.fixture(scope="module")
def notebook_warehouse(spark, small_warehouse, tmp_path_factory) -> Warehouse:
    from phm.runs.indicators import run_indicators

    root = tmp_path_factory.mktemp("notebooks") / "warehouse"
    shutil.copytree(small_warehouse.root, root)
    warehouse = Warehouse.at(root)
    run_indicators(spark, warehouse, REPO_SPECS, ids=INDICATORS)
    return warehouse


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, notebook_warehouse, tmp_path, monkeypatch):
    # the kernel inherits this environment
    monkeypatch.setenv("PHM_WAREHOUSE", notebook_warehouse.root)
    monkeypatch.setenv("PHM_SPECS", str(REPO_SPECS))
    monkeypatch.setenv("PHM_DRIVER_MEMORY", "2g")
    monkeypatch.setenv("PHM_SHUFFLE_PARTITIONS", "2")
    monkeypatch.setenv("PHM_REPLICATES", "10")
    # capitation attributes concurrently: one year read instead of two, ~25 s less than the
    # notebook's default budget_guarantee_2017 on 2 cores; the notebook's code is the same
    monkeypatch.setenv("PHM_SCENARIO", "capitation_pilots")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # CellExecutionError (with the cell and its traceback) on any error
    errors = [
        o
        for cell in nb.cells
        if cell.cell_type == "code"
        for o in cell.outputs
        if o.output_type == "error"
    ]
    assert not errors
