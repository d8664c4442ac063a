"""The pure core needs no Spark: the specs, the source contract, the published tables' schemas,
the package reference data, the plan and ``phm check`` / ``phm explain`` all work where pyspark,
delta and py4j cannot be imported (a laptop without Java, a CI job checking specs).

Run in a fresh interpreter with an import hook refusing those packages, so a module importing
pyspark at import time fails here even though the test environment has pyspark installed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import contextlib, importlib, io, sys

    BLOCKED = ("pyspark", "delta", "py4j")
    refused = []

    class NoSpark:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                refused.append(name)
                raise ImportError(f"{name} is blocked (pure core test)")
            return None

    sys.meta_path.insert(0, NoSpark())
    assert not any(m.split(".")[0] in BLOCKED for m in sys.modules), "imported before the hook"

    for module in ("phm.spec", "phm.spec.catalogue", "phm.data.schemas",
                   "phm.data.reference_data", "phm.publish.tables", "phm.compile.plan",
                   "phm.cli.main"):
        importlib.import_module(module)

    from phm.compile.plan import build_plan
    from phm.data.schemas import ALL_TABLES
    from phm.publish.tables import PUBLISHED_TABLES
    from phm.spec import load_catalogue

    catalogue = load_catalogue(sys.argv[1])
    indicators = catalogue.select()
    plan = build_plan(catalogue, indicators)
    assert indicators and plan.indicators, "no indicator planned"
    # the contract is readable without Spark (column types are plain descriptions)
    ddl = {c.dtype.ddl for t in (*ALL_TABLES.values(), *PUBLISHED_TABLES.values())
           for c in t.columns}
    assert {"decimal(12,2)", "array<string>", "map<string,bigint>", "timestamp"} <= ddl, ddl

    from phm.cli.main import app

    for command in (["check", "--specs-dir", sys.argv[1]],
                    ["explain", "--specs-dir", sys.argv[1]]):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = app(command, standalone_mode=False)
        assert code in (None, 0), (command, code, out.getvalue())
        print(command[0], "->", " ".join(out.getvalue().split())[:300])

    assert not [m for m in sys.modules if m.split(".")[0] in BLOCKED], "Spark was imported"
    try:
        import pyspark.sql  # noqa: F401
    except ImportError:
        pass
    else:
        raise AssertionError("the import hook does not block pyspark")
    assert "pyspark" in refused or "pyspark.sql" in refused, refused
    print("PURE OK", len(indicators), "indicators")
""")


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", script, *args], cwd=REPO, capture_output=True, text=True, timeout=300
    )


def test_core_imports_and_check_run_without_spark():
    result = _run(SCRIPT, str(REPO / "indicator_specs"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PURE OK" in result.stdout
    assert "check -> " in result.stdout and "no errors" in result.stdout


def test_the_hook_catches_a_spark_import():
    """The same hook makes a module importing pyspark at import time fail (the test above can
    fail): the Spark side of the reference data does import it."""
    script = SCRIPT.split("for module in")[0] + "import phm.data.reference\n"
    result = _run(script)
    assert result.returncode != 0
    assert "pyspark" in result.stderr and "blocked" in result.stderr
