"""The planted pilot effect (`phm generate --pilot-effect`): amounts of pilot-area residents
scaled from the effect's year on, every other row untouched, recorded in the state and
re-applied by --next-month."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from chispa import assert_df_equality
from generated import SMALL, SMALL_AS_OF
from pyspark.sql import functions as F

from phm.data.warehouse import Warehouse
from phm.errors import InputError
from phm.spec import load_catalogue
from phm.synth.generator import Universe, build_universe, generate, generate_next_month
from phm.synth.pilot import PilotEffect, parse_pilot_effect, scaled

REPO_SPECS = Path(__file__).resolve().parents[2] / "indicator_specs"
AREAS = load_catalogue(REPO_SPECS).areas
EFFECT = parse_pilot_effect("pilot_regions:2023:-4", AREAS, SMALL["years"])
MONEY = ["amount_reimbursed", "amount_personal_share", "amount_supplement"]
CLAIMS = {"health_care": "claim_id", "pharmacy": "delivery_id"}


@pytest.fixture(scope="module")
def universes(spark, tmp_path_factory):
    """The small warehouse's whole claims history, without and with the effect."""
    root = tmp_path_factory.mktemp("pilot")
    return tuple(
        build_universe(spark, str(root / name), **SMALL, pilot_effect=effect)
        for name, effect in (("base", None), ("planted", EFFECT))
    )


def _affected(universe: Universe, table: str):
    """The table's rows with `resident`: the person's population row of the service year lies in
    a pilot municipality, and `affected`: resident in the effect's year or later."""
    pop = universe.population.select(
        "person_id",
        "year",
        F.col("nis_municipality").isin(*EFFECT.municipalities).alias("resident"),
    )
    rows = universe.tables()[table].join(pop, ["person_id", "year"], "left")  # year = service year
    resident = F.coalesce(F.col("resident"), F.lit(False))
    # cached: the claims are derived lazily and each check below would derive them again
    return (
        rows.withColumn("resident", resident)
        .withColumn("affected", resident & (F.col("year") >= EFFECT.from_year))
        .cache()
    )


def test_the_option_is_parsed_into_the_area_sets_municipalities():
    expected = sorted(
        {n for area in AREAS["pilot_regions"].areas.values() for n in area.municipalities}
    )
    assert EFFECT == PilotEffect("pilot_regions", tuple(expected), 2023, -4.0)
    assert EFFECT.factor == pytest.approx(0.96)
    assert PilotEffect.from_state(EFFECT.to_state()) == EFFECT
    assert PilotEffect.from_state(None) is None


def test_without_an_effect_the_amount_expression_is_untouched(spark):
    amount = F.col("gross")
    assert scaled(amount, None, nis=F.col("nis"), year=F.col("year")) is amount


@pytest.mark.parametrize(
    "text, message",
    [
        ("pilot_regions:2023", "expected AREA_SET:YEAR:PERCENT"),
        ("pilot_regions:2023:-4:x", "expected AREA_SET:YEAR:PERCENT"),
        ("pilot_regions::-4", "expected AREA_SET:YEAR:PERCENT"),
        ("pilot_regoins:2023:-4", "unknown area set 'pilot_regoins'; known: pilot_regions"),
        ("pilot_regions:23x:-4", "'23x' is not a year"),
        ("pilot_regions:2024:-4", "year 2024 is not a generated year (2022-2023)"),
        ("pilot_regions:2021:-4", "year 2021 is not a generated year"),
        ("pilot_regions:2023:four", "'four' is not a number"),
        ("pilot_regions:2023:nan", "'nan' is not a number"),
        ("pilot_regions:2023:-100", "above -100"),
        ("pilot_regions:2023:100.5", "at most 100"),
    ],
)
def test_bad_option_values_are_refused(text, message):
    with pytest.raises(InputError, match=re.escape(message)) as error:
        parse_pilot_effect(text, AREAS, SMALL["years"])
    assert str(error.value).startswith("--pilot-effect")


def test_generate_refuses_an_effect_outside_the_years(spark, tmp_path):
    late = PilotEffect("pilot_regions", EFFECT.municipalities, 2030, -4.0)
    with pytest.raises(InputError, match="year 2030 is not a generated year"):
        generate(spark, Warehouse.at(tmp_path / "w"), **SMALL, pilot_effect=late)


def test_amounts_of_pilot_residents_are_scaled_from_the_year_on(universes):
    base_universe, planted_universe = universes
    for table, key in CLAIMS.items():
        base, planted = _affected(base_universe, table), _affected(planted_universe, table)
        # every row keeps its identity and everything but its amounts
        others = [c for c in base.columns if c not in MONEY]
        assert_df_equality(base.select(*others), planted.select(*others), ignore_row_order=True)
        # rows outside the pilot areas, or before the effect's year, are identical
        untouched = ~F.col("affected")
        assert_df_equality(base.where(untouched), planted.where(untouched), ignore_row_order=True)
        # pilot residents' rows before the effect's year exist (so the line above tested them)
        assert base.where(F.col("resident") & ~F.col("affected")).count() > 0, table
        # affected rows: the no-effect amount times the factor, to the cent
        pairs = base.where("affected").alias("b").join(planted.alias("e"), key)
        worst = [
            F.max(
                F.abs(
                    F.col(f"e.{m}").cast("double")
                    - F.round(F.col(f"b.{m}").cast("double") * EFFECT.factor, 2)
                )
            ).alias(m)
            for m in MONEY
        ]
        sums = [
            F.sum(F.col(f"{side}.{m}").cast("double")).alias(f"{side}_{m}")
            for side in ("b", "e")
            for m in MONEY
        ]
        stats = pairs.agg(F.count("*").alias("n"), *worst, *sums).first()
        assert stats.n > 50, (table, stats.n)  # enough pilot residents to test anything
        for m in MONEY:
            assert stats[m] <= 0.01 + 1e-9, (table, m, stats[m])
            # a row is within a cent of the exact product, so the sums agree to n cents
            assert abs(stats[f"e_{m}"] - EFFECT.factor * stats[f"b_{m}"]) <= 0.01 * stats.n, (
                table,
                m,
            )
        assert stats.e_amount_reimbursed < stats.b_amount_reimbursed, table  # the cost did fall
        base.unpersist()
        planted.unpersist()


def test_stays_and_population_carry_no_amounts_and_are_unchanged(universes):
    base, planted = universes
    for table in ("population", "hospital_stay"):
        assert_df_equality(base.tables()[table], planted.tables()[table], ignore_row_order=True)


def test_the_state_records_the_effect_and_next_month_reapplies_it(
    spark, small_warehouse, universes, tmp_path
):
    """A planted warehouse grown by one month holds the planted history booked up to then."""
    assert small_warehouse.read_state()["pilot_effect"] is None
    wh = Warehouse.at(tmp_path / "grown")
    generate(spark, wh, **SMALL, as_of=dt.date(2023, 3, 1), pilot_effect=EFFECT)
    report = generate_next_month(spark, wh)
    assert report.as_of == SMALL_AS_OF
    assert wh.read_state()["as_of"] == SMALL_AS_OF.isoformat()
    # the month is loaded like any delivery: every row accounted for, one load_log row a table
    for name, result in report.tables.items():
        assert result.accepted_rows + result.quarantined_rows == result.input_rows, name
        assert result.quarantined_rows == 0, name
    assert wh.read(spark, "load_log").where(F.col("load_id").endswith("202304")).count() == 3
    assert wh.read_state()["pilot_effect"] == {
        "area_set": "pilot_regions",
        "municipalities": list(EFFECT.municipalities),
        "from_year": 2023,
        "percent": -4.0,
    }
    planted = universes[1].tables()
    for table in ("hospital_stay", *CLAIMS):
        grown = wh.read(spark, table).drop("load_id")
        direct = (
            planted[table]
            .where(F.col("accounting_month") <= F.lit(SMALL_AS_OF))
            .select(*grown.columns)
        )
        # the Delta table and the universe's frame may differ in nullability only
        assert_df_equality(grown, direct, ignore_row_order=True, ignore_nullable=True)
    # the increment carries late claims for earlier months
    assert (
        wh.read(spark, "health_care")
        .where(
            (F.col("load_id") == "health_care-202304")
            & (F.col("service_date") < F.lit(dt.date(2023, 3, 1)))
        )
        .count()
        > 0
    )
    # the increment carries amounts of the effect's year
    assert (
        wh.read(spark, "health_care")
        .where((F.col("load_id") == "health_care-202304") & (F.col("year") == 2023))
        .count()
        > 0
    )
