"""Rich output for the CLI: a progress spinner, and tables for the reports the layers return.

The reports (``GenerateReport``, ``ValidationReport``, ``Description``) are plain dataclasses
owned by their layers; ``render_report`` shows any of them generically, so a new field shows up
without a change here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from phm.data.describe import Description

Progress = Callable[[str], None]


@contextmanager
def progress_status(console: Console, title: str) -> Iterator[Progress]:
    """A spinner showing the current step; each finished step stays on screen with its duration."""
    state = {"step": "", "start": time.perf_counter()}

    def finish_step() -> None:
        if state["step"]:
            elapsed = time.perf_counter() - state["start"]
            console.print(f"  [green]✓[/] {escape(state['step'])} [dim]({elapsed:.1f} s)[/]")

    with console.status(f"[bold]{title}[/]") as status:

        def progress(message: str) -> None:
            finish_step()
            state["step"], state["start"] = message, time.perf_counter()
            status.update(f"[bold]{title}[/]: {escape(message)}")

        yield progress
        finish_step()


def fmt(value: Any) -> str:
    """Human formatting of one cell: thousands separators, short floats, ISO dates."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (float, Decimal)):
        v = float(value)
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.3g}" if abs(v) < 1 else f"{v:,.2f}"
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {fmt(v)}" for k, v in value.items()) or "–"
    if isinstance(value, (list, tuple, set)):
        return ", ".join(fmt(v) for v in value) or "–"
    return str(value)


def _is_record(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def _record_dict(value: Any) -> dict[str, Any]:
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}


STATUS_STYLE = {"ok": "green", "warn": "yellow", "fail": "red", "error": "red"}


def _cell(name: str, value: Any) -> str:
    text = escape(str(value) if name == "year" and isinstance(value, int) else fmt(value))
    style = STATUS_STYLE.get(str(value)) if name == "status" else None
    return f"[{style}]{text}[/]" if style else text


LONG_TEXT = 36  # wider text columns become notes under the table, so the table fits a terminal


def records_table(title: str, rows: list[Any], key_name: str | None = None) -> Group:
    """A table of dataclass records (or of a name -> record mapping's items).

    Columns that only repeat the row's key are left out; long free-text columns (e.g. a check's
    source) are printed as notes under the table, one per distinct text.
    """
    keyed = key_name is not None
    pairs = (
        [(k, _record_dict(r)) for k, r in rows]
        if keyed
        else [(None, _record_dict(r)) for r in rows]
    )
    columns = [
        c for c in pairs[0][1] if not (keyed and all(str(rec.get(c)) == str(k) for k, rec in pairs))
    ]
    long = [c for c in columns if max(len(fmt(rec.get(c))) for _, rec in pairs) > LONG_TEXT]
    columns = [c for c in columns if c not in long]

    table = Table(title=title, title_justify="left")
    if keyed:
        table.add_column(key_name)
    rows = [[_cell(c, rec.get(c)) for c in columns] for _, rec in pairs]
    for i, c in enumerate(columns):
        numeric = all(isinstance(rec.get(c), (int, float, Decimal)) for _, rec in pairs)
        width = max(len(Text.from_markup(row[i])) for row in rows)
        if numeric or width <= 12:  # numbers and short codes keep their width; text wraps
            table.add_column(
                c.replace("_", " "),
                justify="right" if numeric else "left",
                no_wrap=True,
                min_width=width,
            )
        else:
            table.add_column(c.replace("_", " "), overflow="fold")
    notes: dict[str, None] = {}
    for (key, rec), row in zip(pairs, rows, strict=True):
        table.add_row(*([escape(str(key))] if keyed else []), *row)
        label = str(key) if keyed else (row[0] if row else "")
        for c in long:
            notes[f"{label} ({c.replace('_', ' ')}): {fmt(rec.get(c))}"] = None
    return Group(table, *(Text(f"  {note}", style="dim") for note in notes))


def load_results_table(title: str, results: Mapping[str, Any]) -> Table:
    """Per table: rows offered, accepted, quarantined, and the quarantine reasons."""
    table = Table(title=title, title_justify="left")
    table.add_column("table")
    for column in ("input", "accepted", "quarantined"):
        table.add_column(column, justify="right")
    table.add_column("quarantined by reason", overflow="fold")
    for name, r in results.items():
        table.add_row(
            name,
            fmt(getattr(r, "input_rows", None)),
            fmt(getattr(r, "accepted_rows", None)),
            fmt(getattr(r, "quarantined_rows", None)),
            escape(
                "\n".join(f"{k}: {fmt(v)}" for k, v in (getattr(r, "reasons", {}) or {}).items())
            )
            or "–",
        )
    return table


def render_generate(console: Console, report: Any) -> None:
    """A GenerateReport: the load of each table, then its other fields."""
    console.print(load_results_table("Loaded", report.tables))
    for name, value in _record_dict(report).items():
        if name != "tables":
            console.print(f"[bold]{name.replace('_', ' ')}[/]: {escape(fmt(value))}")


def nested_table(title: str, value: Mapping[str, Mapping[str, Any]]) -> Table:
    """A two-level mapping (e.g. table -> reason -> rows) as a three-column table."""
    table = Table(title=title, title_justify="left")
    for column in ("", "", "count"):
        table.add_column(column, justify="right" if column else "left")
    for outer, inner in value.items():
        for i, (key, v) in enumerate(inner.items()):
            table.add_row(escape(str(outer)) if i == 0 else "", escape(str(key)), fmt(v))
    return table


def _shape(value: Any) -> str | None:
    """How a report field is shown: as a table of some kind, or (None) as a scalar line."""
    if _is_record(value):
        return "record"
    if isinstance(value, Mapping) and value:
        if all(_is_record(v) for v in value.values()):
            return "record_map"
        if all(isinstance(v, Mapping) for v in value.values()):
            return "nested"
    if isinstance(value, (list, tuple)) and value and all(_is_record(v) for v in value):
        return "records"
    return None


def render_report(console: Console, report: Any, title: str) -> None:
    """Show any report dataclass: scalar fields first, then one table per collection field."""
    fields = _record_dict(report)
    for name, value in fields.items():
        if _shape(value) is None:
            console.print(f"[bold]{name.replace('_', ' ')}[/]: {escape(fmt(value))}")
    for name, value in fields.items():
        label = f"{title}: {name.replace('_', ' ')}"
        shape = _shape(value)
        if shape == "record":
            render_report(console, value, label)
        elif shape == "record_map":
            console.print(records_table(label, list(value.items()), key_name="table"))
        elif shape == "nested":
            console.print(nested_table(label, value))
        elif shape == "records":
            console.print(records_table(label, list(value)))


def render_run(console: Console, report: Any, results_path: str) -> None:
    """The summary of ``phm run``: the years computed (per indicator where they differ), cells,
    and every warning of the run (periods left out, levels without a cell) in yellow."""
    periods = ", ".join(map(str, report.periods)) or "none"
    if report.nothing_stale:
        console.print(
            f"[green]✓[/] run {escape(report.run_id)}: nothing stale, nothing computed "
            f"({report.fresh} indicator x period pairs as last published; --full recomputes)"
        )
        return
    if report.held:
        console.print(
            f"[bold red]✋ run {escape(report.run_id)} is HELD by the publication gate[/]: "
            f"{len(report.indicators)} indicator(s), years {periods} computed, nothing "
            "published. Look, then `phm publish --accept "
            f"{escape(report.run_id)}` (or fix the data and run again)."
        )
        for reason in report.gate.reasons:
            console.print(f"  [red]- {escape(reason)}[/]", soft_wrap=True)
        return
    fresh = f"; {report.fresh} pair(s) fresh, left alone" if report.fresh else ""
    console.print(
        f"[green]✓[/] run {escape(report.run_id)}: {len(report.indicators)} indicator(s), years "
        f"{periods}: {report.result_rows:,} cells ({report.suppressed_rows:,} suppressed) in "
        f"{report.timings.get('total', 0):.1f} s{fresh}"
    )
    for ind, years in report.computed.items():
        if list(years) != list(report.periods):
            console.print(f"  {escape(ind)}: {', '.join(map(str, years))} only")
    if report.warnings:
        n = len(report.warnings)
        console.print(
            f"[bold yellow]⚠ {n} warning{'s' if n > 1 else ''}[/] (also in the run_ledger):"
        )
        for warning in report.warnings:
            console.print(f"  [yellow]- {escape(warning)}[/]", soft_wrap=True)
    console.print(f"Results: [bold]{escape(results_path)}[/]")


def render_status(console: Console, runs: list[Any]) -> None:
    """``phm status``: the last runs, newest first; held runs with their reasons."""
    if not runs:
        console.print("No run in this warehouse yet.")
        return
    table = Table(title="Runs, newest first", title_justify="left")
    for name in ("run", "status", "ended (UTC)", "recomputed", "cells published"):
        table.add_column(name, justify="right" if name == "cells published" else "left")
    colours = {"held": "bold red", "failed": "red", "started": "yellow"}
    for run in runs:
        pairs = sum(map(len, run.recomputed.values()))
        what = (
            f"{len(run.recomputed)} indicator(s), {pairs} period(s)" if pairs else "nothing stale"
        )
        colour = colours.get(run.status, "green")
        table.add_row(
            escape(run.run_id),
            f"[{colour}]{run.status}[/]",
            f"{run.ended:%Y-%m-%d %H:%M:%S}",
            what,
            fmt(run.result_rows) if run.result_rows is not None else "",
        )
    console.print(table)
    for run in runs:
        if run.status == "held":
            console.print(
                f"[bold red]✋ {escape(run.run_id)} is held[/] "
                f"(`phm publish --accept {escape(run.run_id)}` publishes it):"
            )
            for reason in run.held_reasons:
                console.print(f"  [red]- {escape(reason)}[/]", soft_wrap=True)
        elif run.status == "failed" and run.error:
            first = run.error.splitlines()[0] if run.error else ""
            console.print(f"[red]✗ {escape(run.run_id)} failed:[/] {escape(first)}")
        elif run.status == "started":
            console.print(
                f"[yellow]{escape(run.run_id)} never finished[/] (killed, or still running): "
                "nothing of it was published unless a later line says so"
            )


def describe_tables(description: Description) -> list[Table]:
    """Row counts (tables x years) and headline figures (figures x years, with Belgium beside)."""
    years = description.years
    counts = Table(title="Rows per table and year", title_justify="left")
    counts.add_column("table")
    count_years = sorted({y for c in description.row_counts.values() for y in c if y} | set(years))
    for y in count_years:
        counts.add_column(str(y), justify="right")
    counts.add_column("total", justify="right")
    for name, by_year in description.row_counts.items():
        if name in description.missing_tables:
            counts.add_row(name, *(["–"] * len(count_years)), "[red]missing[/]")
            continue
        cells = [fmt(by_year.get(y, 0)) if 0 not in by_year else "" for y in count_years]
        counts.add_row(name, *cells, fmt(sum(by_year.values())))

    figures = Table(title="Headline figures (crude) beside Belgian values", title_justify="left")
    figures.add_column("")
    figures.add_column("figure")
    for y in years:
        figures.add_column(str(y), justify="right")
    figures.add_column("Belgium", style="dim")
    by_key = {y: {f.key: f for f in description.figures[y]} for y in years}
    section = None
    for spec in description.figures[years[0]] if years else []:
        first_of_section = spec.section != section
        if first_of_section and section is not None:
            figures.add_section()
        section = spec.section
        cells = [_figure_value(by_key[y][spec.key].value, spec.unit) for y in years]
        figures.add_row(
            spec.section if first_of_section else "",
            escape(spec.label),
            *cells,
            escape(spec.reference),
        )
    return [counts, figures]


def _figure_value(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "%":
        return f"{100 * value:.1f}%"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "EUR":
        return f"€{value:,.0f}"
    if unit == "per 1,000":
        return f"{value:.1f}‰"
    return f"{value:.2f}"


def _known(value: Any) -> bool:
    return value is not None and value == value  # NaN is not equal to itself


def _eur(value: Any) -> str:
    return f"{float(value):,.0f}" if _known(value) else ""


def simulation_table(results: Any) -> Group:
    """Published simulation rows, one table per scenario: per variant, pilot and year (EUR
    rounded); the gain with its 95% interval; payout (budget guarantee) or allocated − actual
    (capitation)."""
    tables = []
    for scenario, rows in results.groupby("scenario_id", sort=True):
        capitation = rows.difference.notna().any()
        last = "allocated − actual" if capitation else "payout"
        table = Table(title=f"{scenario} (published figures, EUR)", title_justify="left")
        for name in (
            "variant",
            "area",
            "year",
            "persons",
            "expected",
            "actual",
            "gain [95% interval]",
            "O/E",
            last,
        ):
            table.add_column(name, justify="left" if name in ("variant", "area") else "right")
        for r in rows.sort_values(["variant", "area", "year"]).itertuples():
            if r.suppressed:
                numbers = ["hidden"] + [""] * 5
            else:
                gain = _eur(r.gain)
                if _known(r.gain_low):
                    gain += f" [{_eur(r.gain_low)}; {_eur(r.gain_high)}]"
                numbers = [
                    f"{int(r.persons):,}",
                    _eur(r.expected),
                    _eur(r.actual),
                    gain,
                    f"{float(r.oe_ratio):.3f}",
                    _eur(r.difference if capitation else r.payout),
                ]
            table.add_row(r.variant, r.area, str(r.year), *numbers)
        tables.append(table)
    return Group(*tables)


def comparison_table(rows: Any, first: str, second: str) -> Table:
    """Two variants side by side per pilot and year, and B − A."""
    table = Table(
        title=f"A = {first}\nB = {second}   (EUR, published figures)", title_justify="left"
    )
    capitation = rows.difference_a.notna().any() or rows.difference_b.notna().any()
    figures = (
        ["expected", "actual", "difference"]
        if capitation
        else ["expected", "actual", "gain", "payout"]
    )
    table.add_column("area")
    table.add_column("year", justify="right")
    for f in figures:
        for side in ("A", "B", "B − A"):
            table.add_column(f"{f} {side}", justify="right")
    for r in rows.itertuples():
        cells = []
        for f in figures:
            cells += [
                _eur(getattr(r, f"{f}_a")),
                _eur(getattr(r, f"{f}_b")),
                _eur(getattr(r, f"{f}_diff")),
            ]
        table.add_row(str(r.area), str(r.year), *cells)
    return table
