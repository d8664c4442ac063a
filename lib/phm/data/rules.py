"""The data contract's row rules: one visible registry per source table, evaluated in one pass.

A rule is a reason code, a description and a function returning a Spark ``Column`` that is TRUE
when a row breaks the rule. :func:`validate` evaluates every rule of a table in one ``select``
and collects the codes of the broken ones in a ``reject_reasons`` ``array<string>``: an empty
array means the row is accepted.

NULL semantics (ANSI mode is on, so nothing here may raise on a bad value): a rule whose
condition evaluates to NULL does not fire (``coalesce(cond, false)``), because a NULL in a
required column is already reported by that column's own ``NULL_<COLUMN>`` rule. Values that
cannot even be read in the contract's type (``"2020-13-01"`` as a date) are turned into NULL with
``try_cast`` by :func:`conform` and reported as ``UNPARSABLE_<COLUMN>`` (plus ``NULL_<COLUMN>``
when the column is required: the row then lacks a usable value).

Rules that need more than the row (``Rule.needs``):

* ``UNKNOWN_CODE``: the code is absent from the reference table (``Table.references``), by a
  left join on the broadcast distinct codes.
* ``ORPHAN``: the person id is absent from the population table in *every* year. Not "in that
  year": claims for year Y arrive before the population of Y (available in August Y+1), so a
  per-year rule would quarantine every early claim. Newborns of the current year are the price.
* ``AFTER_DEATH``: the service / delivery / admission date is after the person's death date.
* ``DUPLICATE``: the natural key (``Table.key``) appears more than once in the batch. Exactly one
  row per key is kept: the one with the fewest other reasons, ties broken by the row's values,
  so the choice does not depend on the input order.
* ``ALREADY_LOADED``: the key is already in the target table from another load.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from phm.data.schemas import HEALTH_CARE, HOSPITAL_STAY, PHARMACY, POPULATION, Table
from phm.errors import InputError

REASONS = "reject_reasons"
ROW_JSON = "_phm_row_json"
_CAST_ERRORS = "_phm_cast_errors"
# reasons found while reading a delivery file (phm.data.ingest): MALFORMED_LINE (a line that does
# not split into the header's columns), UNDECODABLE_TEXT (bytes not valid in the encoding),
# UNPARSABLE_<COLUMN> (a date not in the layout's format)
INGEST_ERRORS = "_phm_ingest_errors"
MALFORMED_LINE = "MALFORMED_LINE"
UNDECODABLE_TEXT = "UNDECODABLE_TEXT"  # bytes not valid in the layout's encoding
_PERSON = "_phm_person"
_PERSON_KNOWN = "_phm_person_known"
_DEATH = "_phm_death_date"
_IN_TARGET = "_phm_in_target"
_DUP_RANK = "_phm_dup_rank"
# IMA data start with service year 2002 (IMA/AIM, https://www.ima-aim.be/-Onze-databanken-?lang=nl)
FIRST_DATE = "2002-01-01"


@dataclass(frozen=True)
class Rule:
    """One contract rule. ``check()`` returns a Column that is TRUE when the row violates it.

    ``needs`` names the input the rule depends on besides the row: ``references``,
    ``population``, ``target`` (keys already loaded) or ``batch`` (the other rows of the batch).
    """

    code: str
    description: str
    check: Callable[[], Column]
    needs: str | None = None


def _known(col: str) -> str:
    return f"_phm_known_{col}"


def _c(name: str) -> Column:
    return F.col(name)


def _required(table: Table) -> list[Rule]:
    return [
        Rule(f"NULL_{c.name.upper()}", f"{c.name} is required", lambda n=c.name: _c(n).isNull())
        for c in table.columns
        if not c.nullable and c.name != "load_id"
    ]


def _digits(col: str, n: int, code: str) -> Rule:
    return Rule(code, f"{col} must be {n} digits", lambda: ~_c(col).rlike(f"^[0-9]{{{n}}}$"))


def _one_of(col: str, values: tuple[str, ...], code: str) -> Rule:
    return Rule(code, f"{col} must be one of {', '.join(values)}", lambda: ~_c(col).isin(*values))


def _unknown(col: str, n_digits: int) -> Rule:
    # Only well-formed codes: a malformed one is already reported by its format rule.
    return Rule(
        "UNKNOWN_CODE",
        f"{col} is not in its reference table",
        lambda: _c(col).rlike(f"^[0-9]{{{n_digits}}}$") & ~_c(_known(col)),
        needs="references",
    )


def _next_month() -> Column:
    return F.add_months(F.trunc(_c("accounting_month"), "month"), 1)


def _claim_rules(date_col: str, year_of: str) -> list[Rule]:
    """Rules shared by the event tables: ``date_col`` is the event date checked against the
    accounting month and the death date, ``year_of`` the date whose year is the ``year`` column."""
    return [
        Rule(
            "BAD_ACCOUNTING_MONTH",
            "accounting_month must be the first day of a month",
            lambda: F.dayofmonth(_c("accounting_month")) != 1,
        ),
        Rule(
            "DATE_AFTER_ACCOUNTING",
            f"{date_col} is after the accounting month",
            lambda: _c(date_col) >= _next_month(),
        ),
        Rule(
            "DATE_BEFORE_2002",
            f"{date_col} or accounting_month before {FIRST_DATE}",
            lambda: (_c(date_col) < F.lit(FIRST_DATE).cast("date"))
            | (_c("accounting_month") < F.lit(FIRST_DATE).cast("date")),
        ),
        Rule(
            "YEAR_MISMATCH",
            f"year differs from the year of {year_of}",
            lambda: _c("year") != F.year(_c(year_of)),
        ),
        Rule(
            "ORPHAN",
            "person_id is in no year of the population table",
            lambda: _c("person_id").isNotNull() & ~_c(_PERSON_KNOWN),
            needs="population",
        ),
        Rule(
            "AFTER_DEATH",
            f"{date_col} is after the person's death date",
            lambda: _c(date_col) > _c(_DEATH),
            needs="population",
        ),
    ]


def _amounts() -> Rule:
    cols = ("amount_reimbursed", "amount_personal_share", "amount_supplement")
    return Rule(
        "NEGATIVE_AMOUNT", "an amount is negative", lambda: F.greatest(*[(_c(c) < 0) for c in cols])
    )


def _key_rules() -> list[Rule]:
    return [
        Rule(
            "ALREADY_LOADED",
            "the key is already in the target table (another load)",
            lambda: _c(_IN_TARGET),
            needs="target",
        ),
        Rule(
            "DUPLICATE",
            "the key appears more than once in the batch (one row is kept)",
            lambda: _c(_DUP_RANK) > 1,
            needs="batch",
        ),
    ]


RULES: dict[str, tuple[Rule, ...]] = {
    POPULATION.name: (
        *_required(POPULATION),
        _one_of("sex", ("M", "F"), "BAD_SEX"),
        _digits("nis_municipality", 5, "BAD_NIS"),
        Rule(
            "BAD_BIM_BASIS",
            "bim_basis must be 'benefit', 'income' or null",
            lambda: ~_c("bim_basis").isin("benefit", "income"),
        ),
        Rule(
            "BAD_BIRTH_YEAR",
            "birth_year after the year or more than 120 years before it",
            lambda: (_c("birth_year") > _c("year")) | (_c("birth_year") < _c("year") - 120),
        ),
        Rule(
            "DEATH_NOT_IN_YEAR",
            "death_date is not in the row's year",
            lambda: F.year(_c("death_date")) != _c("year"),
        ),
        Rule(
            "DATE_BEFORE_2002",
            f"year or death_date before {FIRST_DATE}",
            lambda: (_c("year") < 2002) | (_c("death_date") < F.lit(FIRST_DATE).cast("date")),
        ),
        _unknown("nis_municipality", 5),
        *_key_rules(),
    ),
    HEALTH_CARE.name: (
        *_required(HEALTH_CARE),
        _digits("nomen_code", 6, "BAD_NOMEN_CODE"),
        _one_of("setting", ("ambulatory", "hospital"), "BAD_SETTING"),
        _amounts(),
        Rule("BAD_QUANTITY", "quantity must be at least 1", lambda: _c("quantity") < 1),
        *_claim_rules("service_date", "service_date"),
        _unknown("nomen_code", 6),
        *_key_rules(),
    ),
    PHARMACY.name: (
        *_required(PHARMACY),
        _digits("cnk", 7, "BAD_CNK"),
        _amounts(),
        Rule("BAD_QUANTITY", "packages must be at least 1", lambda: _c("packages") < 1),
        Rule("NEGATIVE_DDD", "ddd is negative", lambda: _c("ddd") < 0),
        *_claim_rules("delivery_date", "delivery_date"),
        _unknown("cnk", 7),
        *_key_rules(),
    ),
    HOSPITAL_STAY.name: (
        *_required(HOSPITAL_STAY),
        _one_of("stay_type", ("classic", "day"), "BAD_STAY_TYPE"),
        _one_of(
            "discharge_destination",
            ("home", "transfer", "nursing_home", "death", "other"),
            "BAD_DISCHARGE_DESTINATION",
        ),
        _one_of(
            "service_type",
            ("general", "surgical", "maternity", "geriatric", "psychiatric", "paediatric"),
            "BAD_SERVICE_TYPE",
        ),
        Rule(
            "DISCHARGE_BEFORE_ADMISSION",
            "discharge_date is before admission_date",
            lambda: _c("discharge_date") < _c("admission_date"),
        ),
        Rule(
            "STAY_TYPE_MISMATCH",
            "a day stay must end on its admission day, a classic one later",
            lambda: ((_c("stay_type") == "day") & (_c("discharge_date") != _c("admission_date")))
            | ((_c("stay_type") == "classic") & (_c("discharge_date") == _c("admission_date"))),
        ),
        *_claim_rules("admission_date", "discharge_date"),
        *_key_rules(),
    ),
}


def rules_for(table_name: str) -> tuple[Rule, ...]:
    """The registered rules of a source table, in evaluation order."""
    try:
        return RULES[table_name]
    except KeyError:
        raise InputError(
            f"no rules for table {table_name!r}; source tables are {sorted(RULES)}"
        ) from None


def reason_codes(table_name: str) -> list[str]:
    """The distinct reason codes a table's rules can emit (``UNPARSABLE_*`` aside)."""
    return list(dict.fromkeys(rule.code for rule in rules_for(table_name)))


def row_key(table: Table) -> Column:
    """The natural key as one string: key columns joined by ``|``, NULL parts as ``''``."""
    return F.concat_ws("|", *[F.coalesce(_c(k).cast("string"), F.lit("")) for k in table.key])


def conform(df: DataFrame, table: Table) -> DataFrame:
    """Select the contract's columns (except ``load_id``) in schema order, cast to the contract's
    types with ``try_cast``, keep the original row as JSON in ``_phm_row_json``, and record the
    values that could not be cast (``UNPARSABLE_<COLUMN>``).

    Raises:
        InputError: a required column is missing altogether (every row would be rejected).
    """
    missing = [
        c.name
        for c in table.columns
        if c.name not in df.columns and not c.nullable and c.name != "load_id"
    ]
    if missing:
        raise InputError(
            f"{table.name}: the input lacks required columns {missing}; it has {df.columns}"
        )
    contract = {c.name: c.dtype.spark() for c in table.columns}
    cols, errors = [], []
    for c in table.columns:
        if c.name == "load_id":
            continue
        if c.name not in df.columns:
            cols.append(F.lit(None).cast(contract[c.name]).alias(c.name))
        elif df.schema[c.name].dataType == contract[c.name]:
            cols.append(_c(c.name))
        else:
            cast = _c(c.name).try_cast(contract[c.name])
            cols.append(cast.alias(c.name))
            errors.append(
                F.when(
                    _c(c.name).isNotNull() & cast.isNull(), F.lit(f"UNPARSABLE_{c.name.upper()}")
                )
            )
    cast_errors = _reasons(errors)
    if INGEST_ERRORS in df.columns:  # one code once, whichever step found it
        cast_errors = F.array_distinct(F.concat(_c(INGEST_ERRORS), cast_errors))
    if all(contract.get(f.name) == f.dataType for f in df.schema.fields):
        # Typed input with nothing beyond the contract (the generator, other Delta tables): the
        # conformed row *is* the original, so its JSON is made later for rejected rows only,
        # instead of carrying a JSON copy of every row through the validation.
        return df.select(*cols, cast_errors.alias(_CAST_ERRORS))
    original = F.struct(*[_c(f"`{n}`") for n in df.columns if n != INGEST_ERRORS])
    return df.select(
        *cols,
        F.to_json(original, {"ignoreNullFields": "false"}).alias(ROW_JSON),
        cast_errors.alias(_CAST_ERRORS),
    )


def row_json(df: DataFrame, table: Table) -> Column:
    """The original row as JSON: kept from :func:`conform` or made from the contract columns."""
    if ROW_JSON in df.columns:
        return _c(ROW_JSON)
    names = [c.name for c in table.columns if c.name in df.columns and c.name != "load_id"]
    return F.to_json(F.struct(*[_c(n) for n in names]), {"ignoreNullFields": "false"})


def _reasons(whens: list[Column]) -> Column:
    if not whens:
        return F.array().cast("array<string>")
    return F.filter(F.array(*whens), lambda x: x.isNotNull())


def _flag(df: DataFrame, lookup: DataFrame, cond: Column, flag: str) -> DataFrame:
    """Left-join a lookup that carries ``flag = true`` (one row per match at most) and turn a
    missing match into ``false``; the lookup's other ``_phm_`` columns ride along."""
    return df.join(lookup.withColumn(flag, F.lit(True)), cond, "left").withColumn(
        flag, F.coalesce(_c(flag), F.lit(False))
    )


def validate(
    df: DataFrame,
    table: Table,
    *,
    references: dict[str, DataFrame] | None = None,
    population: DataFrame | None = None,
    existing_keys: DataFrame | None = None,
) -> DataFrame:
    """Add ``reject_reasons`` (``array<string>``, empty when the row is accepted) to ``df``.

    Args:
        df: rows with the table's columns (typically the output of :func:`conform`).
        table: the source table the rows are meant for.
        references: reference DataFrames by table name; the ``UNKNOWN_CODE`` rules run when given.
        population: population rows (``person_id``, ``death_date``); ``ORPHAN`` and
            ``AFTER_DEATH`` run when given (not for the population table itself).
        existing_keys: key columns already in the target table; ``ALREADY_LOADED`` runs when given.

    Returns:
        ``df``'s columns plus ``reject_reasons``; one output row per input row (every lookup is
        made distinct on its join key first, so no join can multiply rows).
    """
    active, out = {None, "batch"}, df
    if references is not None and table.references:
        active.add("references")
        for col, (ref_table, ref_col) in table.references.items():
            codes = references[ref_table].select(_c(ref_col).alias(f"_phm_ref_{col}")).distinct()
            out = _flag(out, F.broadcast(codes), _c(col) == _c(f"_phm_ref_{col}"), _known(col))
    if population is not None and table.name != POPULATION.name:
        active.add("population")
        persons = population.groupBy(_c("person_id").alias(_PERSON)).agg(
            F.max("death_date").alias(_DEATH)
        )
        out = _flag(out, persons, _c("person_id") == _c(_PERSON), _PERSON_KNOWN)
    if existing_keys is not None:
        active.add("target")
        keys = existing_keys.select(*[_c(k).alias(f"_phm_t_{k}") for k in table.key]).distinct()
        cond = [_c(k) == _c(f"_phm_t_{k}") for k in table.key]
        out = _flag(out, keys, cond, _IN_TARGET)

    rules = [r for r in rules_for(table.name) if r.needs in active]
    fire = lambda r: F.when(F.coalesce(r.check(), F.lit(False)), F.lit(r.code))  # noqa: E731
    row_reasons = _reasons([fire(r) for r in rules if r.needs != "batch"])
    if _CAST_ERRORS in out.columns:
        row_reasons = F.concat(_c(_CAST_ERRORS), row_reasons)
    out = out.withColumn(REASONS, row_reasons)

    # Keep the best row of each key: fewest reasons first, then the values themselves.
    values = [c for c in table.column_names if c in out.columns and c not in table.key]
    order = [F.size(_c(REASONS)).asc(), *[_c(c).asc_nulls_first() for c in values]]
    rank = F.row_number().over(Window.partitionBy(*table.key).orderBy(*order))
    has_key = F.lit(True)  # a NULL key part is already a NULL_ reason, not a duplicate
    for k in table.key:
        has_key = has_key & _c(k).isNotNull()
    out = out.withColumn(_DUP_RANK, F.when(has_key, rank).otherwise(F.lit(1)))
    out = out.withColumn(
        REASONS, F.concat(_c(REASONS), _reasons([fire(r) for r in rules if r.needs == "batch"]))
    )
    return out.drop(*[c for c in out.columns if c.startswith("_phm_") and c != ROW_JSON])
