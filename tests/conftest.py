"""One SparkSession for the whole test session (start-up costs ~7 s)."""

from __future__ import annotations

import os

import pytest
from generated import CALIBRATION, SMALL, SMALL_AS_OF

from phm.data.warehouse import Warehouse

os.environ.setdefault("PHM_DRIVER_MEMORY", "3g")
os.environ.setdefault("PHM_SPARK_CORES", "2")

# -- pytest-xdist: `make test` runs `pytest -n 2 --dist loadfile` -----------------------------
# Each worker is its own process with its own SparkSession (own JVM, random ports, in-memory
# catalogue, its own basetemp). The one directory Spark keeps under the cwd is made per worker.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, ... on an xdist worker
if _WORKER:
    os.environ.setdefault("PHM_SPARK_SQL_DIR", os.path.abspath(f".cache/spark-sql-{_WORKER}"))

# With --dist loadfile a test file is one unit of work (its module fixtures are built once), and
# the files sharing an expensive session fixture are one unit, so it is built on one worker only.
# (Not xdist_group marks: --dist loadgroup cannot apply them under pytest 9, whose nodeid is
# no longer the `_nodeid` attribute xdist 3.8 rewrites.) A file using the fixture but missing
# here still passes; the fixture is then just built on both workers.
SHARED_FIXTURE_FILES = {
    "calibration_warehouse": [
        "tests/compile/test_catalogue_properties.py",
        "tests/synth/test_calibration.py",
        "tests/synth/test_generated_defects.py",
    ],
    "report_warehouse": ["tests/report/test_browser.py", "tests/report/test_report_build.py"],
}
_UNIT_OF_FILE = {f: unit for unit, files in SHARED_FIXTURE_FILES.items() for f in files}
# The longest units start first, so no worker is left with a long one at the end.
LONGEST_FIRST = [
    "calibration_warehouse",
    "tests/test_notebooks.py",
    "tests/synth/test_pilot_effect.py",
    "tests/simulations/test_planted_effect.py",
    "tests/runs/test_crash.py",
    "tests/runs/test_incremental.py",
    "tests/data/test_delivery_roundtrip.py",
    "report_warehouse",
]


def _unit(nodeid: str) -> str:
    file = nodeid.split("::", 1)[0]
    return _UNIT_OF_FILE.get(file, file)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixtureFileScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _unit(nodeid)

    return SharedFixtureFileScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not hasattr(config, "workerinput"):
        return  # not an xdist worker: the suite runs in its usual order
    # the order the units are handed out in is the workers' collection order (all equal)
    rank = {unit: i for i, unit in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(_unit(item.nodeid), len(rank)))  # stable


@pytest.fixture(scope="session")
def spark():
    from phm.spark import get_spark

    session = get_spark("phm-tests", for_tests=True)
    # plans name every table they scan in full (the one-scan tests count them), however long the
    # pytest tmp path (Spark abbreviates past 100 characters; xdist adds popen-gwN/ to the path)
    session.conf.set("spark.sql.maxMetadataStringLength", "1000")
    yield session
    session.stop()


# -- generated warehouses shared by several test folders (generation is the slow part) --------


@pytest.fixture(scope="session")
def small_warehouse(spark, tmp_path_factory) -> Warehouse:
    """300 persons, 2022-2023, booked up to April 2023, no defects.

    Generated once per test run (about two minutes), into a template the xdist workers share
    (the first to need it builds it under a file lock); each worker gets its own copy, since
    tests write into it."""
    import fcntl
    import shutil

    from phm.synth.generator import generate

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if _WORKER else base  # the workers' basetemps share their parent
    template = shared / "small-warehouse-template"
    with open(shared / "small-warehouse-template.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if not (template / "_generated").exists():
            shutil.rmtree(template, ignore_errors=True)  # a worker killed half-way
            generate(spark, Warehouse.at(template), **SMALL, as_of=SMALL_AS_OF)
            (template / "_generated").touch()
    root = tmp_path_factory.mktemp("small") / "wh"
    shutil.copytree(template, root, ignore=shutil.ignore_patterns("_generated"))
    return Warehouse.at(root)


@pytest.fixture(scope="session")
def calibration_warehouse(spark, tmp_path_factory) -> Warehouse:
    """A modest warehouse with defects planted: for calibration and the quarantine of defects."""
    from phm.synth.generator import generate

    wh = Warehouse.at(tmp_path_factory.mktemp("calibration"))
    generate(spark, wh, **CALIBRATION, defects=True, defect_rate=0.002)
    return wh
