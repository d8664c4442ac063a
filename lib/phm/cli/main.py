"""The ``phm`` command: thin typer commands, each calling one function of the layers.

User mistakes (:class:`phm.errors.PhmError`: a bad argument, a missing warehouse, no network for
the Delta jars) are printed in red on one line and exit with status 1; so are usage mistakes caught
by the parser (unknown option or command, missing or ill-typed value); anything else is a bug and
keeps its traceback.

Ids (indicators, scenarios, collections) are given the same way everywhere: as arguments, after their option
(repeated or not), or several in one value separated by commas or spaces. ``phm run a b``,
``phm run --specs a b``, ``phm run --specs a --specs b`` and ``phm run --specs a,b`` are the same.
"""

from __future__ import annotations

import contextlib
import functools
import os
import platform
import re
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer._click.exceptions import NoArgsIsHelpError, UsageError  # typer vendors click
from typer.core import TyperGroup

import phm
from phm.cli import args, render
from phm.data.warehouse import Warehouse
from phm.errors import InputError, PhmError, SetupError, WarehouseError
from phm.runs.gate import GateRules as GateDefaults


@contextlib.contextmanager
def _one_line_usage_errors(ctx):
    """A usage mistake found by the parser as one red line and exit status 1 (not click's box
    and status 2); ``phm`` alone still prints the help."""
    try:
        yield
    except NoArgsIsHelpError:
        raise
    except UsageError as exc:
        if exc.ctx is not None:
            path = exc.ctx.command_path
        else:  # the option parser's errors carry no context: the command being parsed
            path = " ".join(filter(None, (ctx.command_path, ctx.invoked_subcommand)))
        where = f" (see {path} --help)"
        message = Text("error: ", style="bold red")
        message.append(" ".join(exc.format_message().split()) + where, style="red")
        Console(stderr=True).print(message, soft_wrap=True)
        raise typer.Exit(1) from None


class _Commands(TyperGroup):
    """The phm group: parser errors of the group and of every command as one line."""

    def parse_args(self, ctx, args):
        with _one_line_usage_errors(ctx):
            return super().parse_args(ctx, args)

    def invoke(self, ctx):
        with _one_line_usage_errors(ctx):
            return super().invoke(ctx)


app = typer.Typer(
    cls=_Commands,
    name="phm",
    help="Population-health indicators from Belgian health-insurance claims, on Spark + Delta.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # a Spark session in the locals is no help
)
console = Console()
err_console = Console(stderr=True)

EXIT_USER_ERROR = 1
EXIT_VIOLATIONS = 2

F = TypeVar("F", bound=Callable[..., Any])

WarehouseOption = Annotated[
    str,  # not Path: Path("s3://b/x") collapses the "//"
    typer.Option(
        "--warehouse",
        "-w",
        help="Warehouse root: a directory of Delta tables (or an s3://, abfss://, dbfs:/ prefix).",
        envvar="PHM_WAREHOUSE",
    ),
]
WaitOption = Annotated[
    float,
    typer.Option(
        "--wait",
        min=0,
        metavar="SECONDS",
        help="When another command holds the warehouse's lease, wait up to SECONDS for it "
        "(default 0: fail at once, naming it).",
    ),
]


def user_errors(fn: F) -> F:
    """Print a PhmError as one red line and exit 1, without a traceback."""

    @functools.wraps(fn)
    def wrapper(*a: Any, **kw: Any) -> Any:
        try:
            return fn(*a, **kw)
        except PhmError as exc:
            message = Text("error: ", style="bold red")
            message.append(str(exc), style="red")
            err_console.print(message)
            raise typer.Exit(EXIT_USER_ERROR) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        console.print(f"phm {phm.__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Population-health indicators from Belgian health-insurance claims, on Spark + Delta Lake."""


def _start_spark(app_name: str):
    from phm.spark import delta_jars, get_spark
    from phm.spark.session import on_cluster

    message = "Starting Spark..."
    if not on_cluster() and delta_jars.cached_jars() is None:
        message = (
            f"Starting Spark; downloading the Delta jars into {delta_jars.ivy_dir()} "
            "(first run only)..."
        )
    with console.status(message):
        start = time.perf_counter()
        spark = get_spark(app_name)
    console.print(f"[dim]Spark {spark.version} ready in {time.perf_counter() - start:.1f} s[/]")
    return spark


def _stop_spark() -> None:
    from phm.spark import stop_spark

    stop_spark()


def _lease(wh: Warehouse, operation: str, wait: float):
    """Hold the warehouse's lease (phm.runs.lease) around a command that writes it: taken before
    Spark starts, so a busy warehouse fails at once with its holder named. An object-store
    warehouse has no lease yet: the command runs, with a warning that concurrent writers are
    not prevented (the scheduler must not start two)."""
    import contextlib

    from phm.runs.lease import holding

    if not wh.is_local:
        console.print(
            f"[yellow]warning:[/] {wh.root} is not a local or mounted folder: no lease is "
            "taken, so nothing stops a second command writing it at the same time"
        )
        return contextlib.nullcontext()
    return holding(wh, operation, wait_seconds=wait)


def _warehouse(path: str, *, must_exist: bool) -> Warehouse:
    wh = Warehouse.at(path)
    if must_exist and wh.is_local and not Path(wh.root).is_dir():
        raise WarehouseError(
            f"no warehouse at {wh.root} (create one with `phm generate --warehouse {path}`)"
        )
    return wh


# --------------------------------------------------------------------------------------- setup


@app.command()
@user_errors
def setup() -> None:
    """Start Spark once (downloading the Delta jars on first use); check a Delta write and read."""
    from phm.spark import delta_jars
    from phm.spark.session import on_cluster

    cluster = on_cluster()  # decide before starting: afterwards a session is always active
    spark = _start_spark("phm-setup")
    try:
        if cluster:
            console.print(
                "[yellow]Running under spark-submit / an existing session: "
                "skipping the local Delta check.[/]"
            )
        else:
            with tempfile.TemporaryDirectory(prefix="phm-setup-") as tmp:
                path = os.path.join(tmp, "delta_check")
                spark.range(5).write.format("delta").save(path)
                rows = spark.read.format("delta").load(path).count()
                if rows != 5 or not os.path.isdir(os.path.join(path, "_delta_log")):
                    raise SetupError(
                        f"Delta write/read check failed: read {rows} rows back instead of 5"
                    )
            console.print("[green]✓[/] Delta write and read in a temporary directory")
        versions = Table(title="phm environment", title_justify="left", show_header=False)
        versions.add_column("", style="bold")
        versions.add_column("")
        versions.add_row("phm", phm.__version__)
        versions.add_row("Python", f"{platform.python_version()} ({sys.executable})")
        versions.add_row("pyspark", metadata.version("pyspark"))
        versions.add_row("delta-spark", metadata.version("delta-spark"))
        versions.add_row("Delta artifact", delta_jars.delta_maven_coordinate())
        versions.add_row("Java", _java_version(spark))
        versions.add_row("Delta jar cache", str(delta_jars.ivy_dir()))
        console.print(versions)
    finally:
        _stop_spark()


def _java_version(spark) -> str:
    try:
        system = spark.sparkContext._jvm.java.lang.System  # noqa: SLF001 (no public API for it)
        return f"{system.getProperty('java.version')} ({system.getProperty('java.vendor')})"
    except Exception:  # Spark Connect has no JVM gateway
        return os.environ.get("JAVA_HOME", "unknown")


# ------------------------------------------------------------------------------------ generate


@app.command()
@user_errors
def generate(
    warehouse: WarehouseOption = "warehouse",
    persons: Annotated[
        int | None, typer.Option(help=f"Number of persons (at least {args.MIN_PERSONS}).")
    ] = None,
    years: Annotated[
        str | None, typer.Option(help="Years to generate: a range 2022-2024 or a list 2022,2023.")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Random seed (same seed, same data); 42 when not given.")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Accounting month YYYY-MM up to which claims have arrived "
            "(default: chosen by the generator).",
        ),
    ] = None,
    defects: Annotated[
        bool,
        typer.Option(
            "--defects/--no-defects",
            help="Plant known defective rows (null ids, unknown codes, negative amounts, "
            "impossible dates, duplicates, orphans) with a manifest, to exercise the quarantine.",
        ),
    ] = False,
    defect_rate: Annotated[float, typer.Option(help="Share of rows made defective.")] = 0.001,
    next_month: Annotated[
        bool,
        typer.Option(
            "--next-month",
            help="Append the next accounting month to an existing warehouse "
            "(settings come from the warehouse).",
        ),
    ] = False,
    pilot_effect: Annotated[
        str | None,
        typer.Option(
            "--pilot-effect",
            help="Plant a known effect AREA_SET:YEAR:PERCENT, e.g. pilot_regions:2023:-4: from "
            "service year YEAR on, the claim and delivery amounts of residents of the area "
            "set's municipalities are multiplied by 1 + PERCENT/100.",
        ),
    ] = None,
    specs_dir: SpecsDirOption = "indicator_specs",
    wait: WaitOption = 0,
    to_files: Annotated[
        str | None,
        typer.Option(
            "--to-files",
            help="Write the source tables as delivery files in DIR/<table>/ (shipped IMA "
            "layouts ima_<table>) instead of loading them; load them with `phm ingest`.",
            metavar="DIR",
        ),
    ] = None,
) -> None:
    """Generate a synthetic warehouse (population, claims, Farmanet, stays) into Delta tables."""
    wh = _warehouse(warehouse, must_exist=next_month)
    if next_month:
        given = [
            name
            for name, v in (
                ("--persons", persons),
                ("--years", years),
                ("--seed", seed),
                ("--as-of", as_of),
                ("--pilot-effect", pilot_effect),
            )
            if v is not None
        ]
        if given:
            raise InputError(
                "--next-month continues the warehouse with its own settings; "
                f"drop {', '.join(given)}"
            )
        if wh.is_local and not wh.read_state():
            raise WarehouseError(
                f"{wh.root} holds no generated warehouse (no {wh.root}/_phm/state.json); "
                "run `phm generate` without --next-month first"
            )
    else:
        if persons is None or years is None:
            missing = [o for o, v in (("--persons", persons), ("--years", years)) if v is None]
            raise InputError(
                f"{' and '.join(missing)} required, e.g. --persons 20000 --years 2022-2024"
            )
        args.check_persons(persons)
        year_list = args.check_consecutive(args.parse_years(years))
        as_of_date = args.check_as_of(args.parse_month(as_of), year_list) if as_of else None
        args.check_defect_rate(defect_rate)
        effect = None
        layouts = None
        if to_files is not None:
            from phm.data.layouts import load_layout
            from phm.synth.generator import SOURCE_TABLE_NAMES

            layouts = {t: load_layout(f"ima_{t}", specs_dir) for t in SOURCE_TABLE_NAMES}
        if pilot_effect is not None:
            from phm.synth.pilot import parse_pilot_effect

            effect = parse_pilot_effect(pilot_effect, _catalogue(specs_dir).areas, year_list)

    from phm.synth import generator

    with _lease(wh, "generate", wait):
        spark = _start_spark("phm-generate")
        try:
            with render.progress_status(console, "Generating") as progress:
                if next_month:
                    report = generator.generate_next_month(spark, wh, progress=progress)
                else:
                    report = generator.generate(
                        spark,
                        wh,
                        persons=persons,
                        years=year_list,
                        seed=42 if seed is None else seed,
                        as_of=as_of_date,
                        defects=defects,
                        defect_rate=defect_rate,
                        pilot_effect=effect,
                        progress=progress,
                        to_files=None if to_files is None else Path(to_files),
                        layouts=layouts,
                    )
            if to_files is not None:
                console.print(
                    f"Delivery files: [bold]{to_files}[/]/<table>; load each with `phm ingest "
                    f"--warehouse {wh.root} --layout ima_<table> --from {to_files}/<table>`, "
                    "population first"
                )
                return
            render.render_generate(console, report)
            console.print(f"Warehouse: [bold]{wh.root}[/]")
        finally:
            _stop_spark()


# ------------------------------------------------------------------------------------ validate


@app.command()
@user_errors
def validate(warehouse: WarehouseOption = "warehouse") -> None:
    """Check the warehouse against the data contract and the Belgian plausibility ranges.

    Exit status 0 when the loaded tables hold no violations (warnings do not count), 2 otherwise.
    """
    wh = _warehouse(warehouse, must_exist=True)
    from phm.data.load import validate_warehouse

    spark = _start_spark("phm-validate")
    try:
        with console.status("Validating..."):
            report = validate_warehouse(spark, wh)
        render.render_report(console, report, "Validation")
    finally:
        _stop_spark()
    warnings = getattr(report, "warnings", None)
    if warnings:
        console.print(
            f"[yellow]{len(warnings)} range-check warning(s): figures outside their "
            "plausible Belgian range (they do not fail validation).[/]"
        )
    if has_violations(report):
        err_console.print(Text("Violations found in the loaded tables.", style="bold red"))
        raise typer.Exit(EXIT_VIOLATIONS)
    console.print("[green]✓[/] No violations in the loaded tables.")


def has_violations(report: Any) -> bool:
    """Whether a validation report says the loaded tables hold violations.

    Uses the report's own verdict when it has one (``ok`` / ``passed``, a bool or a property),
    else counts what its ``violations`` field holds (a number, a mapping of numbers, or a list).
    """
    for verdict in ("ok", "passed"):
        if hasattr(report, verdict):
            return not bool(getattr(report, verdict))
    if hasattr(report, "violations"):
        return _nonzero(report.violations)
    raise TypeError(f"{type(report).__name__} has neither `ok` nor `violations`")


def _nonzero(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, (bool, int, float)):
        return value > 0
    if isinstance(value, Mapping):
        return any(_nonzero(v) for v in value.values())
    if isinstance(value, (list, tuple, set)):
        return len(value) > 0
    return True


# -------------------------------------------------------------------------------------- ingest


@app.command()
@user_errors
def ingest(
    layout: Annotated[
        str,
        typer.Option(
            "--layout",
            metavar="ID",
            help="Delivery layout id: a file <specs-dir>/layouts/<ID>.yaml, e.g. ima_population.",
        ),
    ],
    from_: Annotated[
        list[str],
        typer.Option(
            "--from",
            metavar="PATH",
            help="A delivered file (CSV or Parquet, as the layout says) or a folder of them; "
            "repeat for several.",
        ),
    ],
    warehouse: WarehouseOption = "warehouse",
    load_id: Annotated[
        str | None,
        typer.Option(
            "--load-id",
            metavar="ID",
            help="Batch id (default: from the layout and the file names); the same id again "
            "replaces that load.",
        ),
    ] = None,
    specs_dir: SpecsDirOption = "indicator_specs",
    wait: WaitOption = 0,
) -> None:
    """Load delivered files into a source table: rows breaking the contract are quarantined."""
    from phm.data.ingest import check_delivery, default_load_id
    from phm.data.ingest import ingest as ingest_files
    from phm.data.layouts import load_layout

    spec = load_layout(layout, specs_dir)
    check_delivery(spec, from_)  # a wrong file fails here: no lease, no Spark, nothing written
    wh = _warehouse(warehouse, must_exist=False)
    batch = load_id or default_load_id(spec, from_)
    with _lease(wh, "ingest", wait):
        spark = _start_spark("phm-ingest")
        try:
            with console.status(f"Ingesting {len(from_)} path(s) into {spec.table.name}..."):
                result = ingest_files(spark, wh, spec, from_, batch)
        finally:
            _stop_spark()
    console.print(
        f"{result.table} load [bold]{result.load_id}[/]: read {result.input_rows}, "
        f"accepted {result.accepted_rows}, quarantined {result.quarantined_rows}"
    )
    for reason, rows in result.reasons.items():
        console.print(f"  {reason}: {rows}")
    console.print(f"Warehouse: [bold]{wh.root}[/]")


# ------------------------------------------------------------------------------------ describe


@app.command()
@user_errors
def describe(
    warehouse: WarehouseOption = "warehouse",
    year: Annotated[int | None, typer.Option(help="Only this year (default: every year).")] = None,
) -> None:
    """Row counts per table and year, and headline figures beside the Belgian values."""
    args.check_year(year)
    wh = _warehouse(warehouse, must_exist=True)
    from phm.data.describe import describe as describe_warehouse

    spark = _start_spark("phm-describe")
    try:
        with console.status("Describing..."):
            start = time.perf_counter()
            description = describe_warehouse(spark, wh, year=year)
    finally:
        _stop_spark()
    if not description.years:
        where = f" for {year}" if year is not None else ""
        raise WarehouseError(f"no population rows in {wh.root}{where}")
    for table in render.describe_tables(description):
        console.print(table)
    if description.missing_tables:
        console.print(
            f"[yellow]Missing tables (read as empty): {', '.join(description.missing_tables)}[/]"
        )
    console.print(
        "[dim]Crude figures; definitions in lib/phm/data/describe.py. Belgian values from the "
        "public sources named there; \\[I] marks a calibration default, not a published figure. "
        f"{time.perf_counter() - start:.1f} s.[/]"
    )


# ------------------------------------------------------------------------------ specs and runs

SpecsDirOption = Annotated[
    str,
    typer.Option("--specs-dir", help="Folder of YAML specs.", envvar="PHM_SPECS_DIR"),
]


def _ids(*given: list[str] | None) -> list[str]:
    """Ids from arguments and repeated options, a value holding one id or several separated by
    commas or spaces, in the order given, without repeats."""
    out: list[str] = []
    for values in given:
        for value in values or []:
            out += [i for i in re.split(r"[,\s]+", value) if i and i not in out]
    return out


IdsArgument = Annotated[
    list[str] | None,
    typer.Argument(
        help="Indicator ids, e.g. a b or a,b (the same as --specs a b).",
        metavar="ID",
        show_default=False,
    ),
]
CollectionOption = Annotated[
    list[str] | None,
    typer.Option(
        "--collection", help="Collections to include, e.g. quality (repeat, or a list a,b)."
    ),
]


def _catalogue(specs_dir: str, *, show_warnings: bool = False):
    from phm.spec import load_catalogue

    catalogue = load_catalogue(specs_dir)
    if show_warnings:
        for warning in catalogue.warnings:
            err_console.print(Text(f"warning: {warning}", style="yellow"), soft_wrap=True)
    return catalogue


@app.command()
@user_errors
def check(specs_dir: SpecsDirOption = "indicator_specs") -> None:
    """Validate every spec (syntax, fields, references, columns) without starting Spark."""
    catalogue = _catalogue(specs_dir, show_warnings=True)
    console.print(
        f"[green]✓[/] {len(catalogue.indicators)} indicators, {len(catalogue.features)} features, "
        f"{len(catalogue.codelists)} code lists, {len(catalogue.age_schemes)} age schemes, "
        f"{len(catalogue.areas)} area sets, {len(catalogue.simulations)} financing scenarios "
        f"({sum(len(s.variants()) for s in catalogue.simulations.values())} variants): no errors"
        + (f", {len(catalogue.warnings)} warning(s)" if catalogue.warnings else "")
    )


@app.command()
@user_errors
def explain(
    ids: Annotated[
        list[str] | None,
        typer.Argument(
            help="Indicator or scenario ids, e.g. a b or a,b (default: all indicators).",
            metavar="ID",
            show_default=False,
        ),
    ] = None,
    more: Annotated[
        list[str] | None,
        typer.Option("--specs", help="Ids, as the arguments (repeat, or a list a,b)."),
    ] = None,
    collection: CollectionOption = None,
    specs_dir: SpecsDirOption = "indicator_specs",
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the resolved plan of the indicators as JSON (every "
            "code list, scheme, area and column the passes use) instead of words.",
        ),
    ] = False,
) -> None:
    """Print, in words, the plan a run of these indicators (or scenarios) would execute."""
    from phm.compile.explain import explain as explain_plan
    from phm.compile.plan import build_plan, plan_to_json
    from phm.simulations.explain import explain_scenario

    specs, collection = _ids(more, ids), _ids(collection)
    catalogue = _catalogue(specs_dir)
    scenarios = [s for s in specs or [] if s in catalogue.simulations]
    indicators = [s for s in specs or [] if s not in catalogue.simulations]
    if as_json:
        if scenarios:
            raise typer.BadParameter(
                f"--json prints indicator plans; leave out the scenarios {', '.join(scenarios)}"
            )
        plan = build_plan(catalogue, catalogue.select(indicators or None, collections=collection))
        print(plan_to_json(plan))
        return
    texts = [explain_scenario(catalogue.simulations[s], catalogue) for s in scenarios]
    if indicators or not scenarios:
        plan = build_plan(catalogue, catalogue.select(indicators or None, collections=collection))
        texts.insert(0, explain_plan(plan))
    console.print("\n\n".join(texts), highlight=False, markup=False, soft_wrap=True)


@app.command()
@user_errors
def run(
    ids: IdsArgument = None,
    warehouse: WarehouseOption = "warehouse",
    specs: Annotated[
        list[str] | None,
        typer.Option(
            "--specs",
            help="Indicator ids to run: --specs a b, --specs a,b or repeated (default: all).",
        ),
    ] = None,
    collection: CollectionOption = None,
    years: Annotated[
        str | None, typer.Option(help="Years: a range 2022-2024 or a list (default: all).")
    ] = None,
    data_end: Annotated[
        str | None,
        typer.Option(
            help="Last day of complete data, YYYY-MM-DD, for follow-up windows and seasons "
            "(default, per table: the last day of the latest accounting month in the load log, "
            "at most 31 December of the last year present)."
        ),
    ] = None,
    specs_dir: SpecsDirOption = "indicator_specs",
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Recompute every indicator and period asked for, not only the stale ones "
            "(whose spec, settings or source partitions changed since their publication).",
        ),
    ] = False,
    gate: Annotated[
        bool,
        typer.Option(
            "--gate/--no-gate",
            help="Compare with the published results first and hold a run that moves too "
            "much (--no-gate: publish whatever was computed).",
        ),
    ] = True,
    gate_k: Annotated[
        float,
        typer.Option(help="Gate: a cell moved when it changed by more than K standard errors..."),
    ] = GateDefaults.k,
    gate_tolerance: Annotated[
        float, typer.Option(help="... and by more than this share of its value.")
    ] = GateDefaults.tolerance,
    gate_max_moved: Annotated[
        float,
        typer.Option(help="Gate: hold when an indicator's moved cells exceed this share."),
    ] = GateDefaults.max_moved,
    gate_max_lost: Annotated[
        float,
        typer.Option(help="Gate: hold when cells lost (or gained) exceed this share."),
    ] = GateDefaults.max_lost,
    gate_max_suppressed_jump: Annotated[
        float,
        typer.Option(help="Gate: hold when the suppressed share changes by more than this."),
    ] = GateDefaults.max_suppressed_jump,
    wait: WaitOption = 0,
) -> None:
    """Compute the stale indicators and periods; publish them unless the gate holds the run."""
    from phm.runs.gate import GateRules

    rules = GateRules(
        gate_k, gate_tolerance, gate_max_moved, gate_max_lost, gate_max_suppressed_jump, gate
    )
    specs, collection = _ids(specs, ids), _ids(collection)
    wh = _warehouse(warehouse, must_exist=True)
    catalogue = _catalogue(specs_dir)
    chosen = catalogue.select(specs, collections=collection)
    year_list = args.parse_years(years) if years else None
    end = args.parse_date(data_end) if data_end else None
    from phm.runs.indicators import run_indicators

    with _lease(wh, "run", wait):
        spark = _start_spark("phm-run")
        try:
            with render.progress_status(
                console, f"Computing {len(chosen)} indicator(s)"
            ) as progress:
                report = run_indicators(
                    spark,
                    wh,
                    catalogue,
                    [i.id for i in chosen],
                    year_list,
                    data_end=end,
                    full=full,
                    gate=rules,
                    progress=progress,
                )
        finally:
            _stop_spark()
    render.render_run(console, report, wh.path("results"))
    if report.held:
        raise typer.Exit(3)


@app.command()
@user_errors
def publish(
    accept: Annotated[
        str, typer.Option("--accept", metavar="RUN_ID", help="The held run to publish.")
    ],
    warehouse: WarehouseOption = "warehouse",
    wait: WaitOption = 0,
) -> None:
    """Publish a run the publication gate held, after a person has looked at it."""
    wh = _warehouse(warehouse, must_exist=True)
    from phm.runs.indicators import accept as accept_run

    with _lease(wh, "publish", wait):
        spark = _start_spark("phm-publish")
        try:
            rows = accept_run(spark, wh, accept)
        finally:
            _stop_spark()
    console.print(f"[green]✓[/] run {escape(accept)} published: {rows:,} cells")


@app.command()
@user_errors
def status(
    warehouse: WarehouseOption = "warehouse",
    last: Annotated[int, typer.Option(help="How many runs to show.")] = 10,
) -> None:
    """The last runs: what each recomputed, what it published, what is held and why."""
    wh = _warehouse(warehouse, must_exist=True)
    from phm.runs.indicators import run_statuses

    spark = _start_spark("phm-status")
    try:
        runs = run_statuses(spark, wh, last)
    finally:
        _stop_spark()
    render.render_status(console, runs)


@app.command()
@user_errors
def simulate(
    scenarios: Annotated[
        list[str] | None,
        typer.Argument(help="Scenario ids (default: every budget-guarantee scenario)."),
    ] = None,
    warehouse: WarehouseOption = "warehouse",
    specs_dir: SpecsDirOption = "indicator_specs",
    settings: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="A quick what-if: path=value overriding a scenario field "
            "(repeatable), e.g. --set sharing.share=0.8; published under the id "
            "scenario[path=value].",
        ),
    ] = None,
    compare: Annotated[
        tuple[str, str] | None,
        typer.Option(
            "--compare",
            help="Print two published variants side by side instead of "
            "running: A B, each scenario or scenario@variant (a unique part of the "
            "variant name is enough).",
        ),
    ] = None,
    wait: WaitOption = 0,
) -> None:
    """Run financing scenarios and publish simulation_results, _models and _diagnostics."""
    wh = _warehouse(warehouse, must_exist=True)
    from phm.runs.simulations import (
        apply_overrides,
        check_scenarios,
        default_scenarios,
        run_simulations,
    )

    if compare:
        from phm.runs.simulations import compare as compare_variants

        if scenarios or settings:
            raise InputError("--compare reads published results: give no scenario or --set")
        spark = _start_spark("phm-simulate")
        try:
            table = compare_variants(spark, wh, *compare)
        finally:
            _stop_spark()
        console.print(render.comparison_table(table, *compare))
        return
    catalogue = _catalogue(specs_dir)
    chosen = _ids(scenarios) or default_scenarios(catalogue)
    catalogue, chosen = apply_overrides(catalogue, chosen, settings or [])
    check_scenarios(catalogue, chosen)  # before Spark starts
    with _lease(wh, "simulate", wait):
        spark = _start_spark("phm-simulate")
        try:
            with console.status(f"Simulating {len(chosen)} scenario(s)..."):
                report = run_simulations(spark, wh, catalogue, chosen)
        finally:
            _stop_spark()
    console.print(render.simulation_table(report.results))
    console.print(
        f"[green]✓[/] run {report.run_id}: {len(chosen)} scenario(s), "
        f"{report.results.variant.nunique()} variant(s), {len(report.results)} rows"
    )
    console.print(f"Results: [bold]{wh.path('simulation_results')}[/]")


@app.command()
@user_errors
def export(
    ids: IdsArgument = None,
    warehouse: WarehouseOption = "warehouse",
    out: Annotated[str, typer.Option(help="Output folder.")] = "export",
    specs: Annotated[
        list[str] | None,
        typer.Option(
            "--specs",
            help="Indicator ids: --specs a b, --specs a,b or repeated (default: all in results).",
        ),
    ] = None,
) -> None:
    """Write published values (suppressed cells blank) as CSV and JSON, one file per indicator."""
    specs = _ids(specs, ids)
    wh = _warehouse(warehouse, must_exist=True)
    from phm.publish.export import export_results

    spark = _start_spark("phm-export")
    try:
        written = export_results(spark, wh, Path(out), specs or None)
    finally:
        _stop_spark()
    console.print(f"[green]✓[/] {len(written)} file(s) in [bold]{out}[/]")


@app.command()
@user_errors
def report(
    warehouse: WarehouseOption = "warehouse",
    out: Annotated[str, typer.Option(help="Output folder of the HTML Atlas.")] = "report",
    drafts: Annotated[
        bool,
        typer.Option(
            "--drafts/--no-drafts",
            help="Include draft indicators (computed for review; marked 'draft').",
        ),
    ] = False,
) -> None:
    """Write a static, self-contained HTML Atlas (maps, trends, funnels) of the published tables."""
    wh = _warehouse(warehouse, must_exist=True)
    from phm.report.build import build_from_warehouse

    spark = _start_spark("phm-report")
    try:
        index = build_from_warehouse(
            spark,
            wh,
            Path(out),
            include_drafts=drafts,
            progress=lambda line: console.print(f"  [green]✓[/] {line}"),
        )
    finally:
        _stop_spark()
    console.print(str(index.resolve()), soft_wrap=True, highlight=False)


if __name__ == "__main__":
    app()
