"""The source data model as code: the single source of truth for every source table's schema.

Each table is a list of documented columns. ``ima`` gives the IMA/AIM variable the column
mirrors where one is known (IMA/AIM metadata portal, https://metadata.ima-aim.be), so specs can
use familiar names.

Partitioning. Claims tables (``health_care``, ``pharmacy``) and ``hospital_stay`` are partitioned
by ``year`` (the service / delivery / discharge year): indicators are recomputed per year, so a
yearly run reads one partition, and at national scale one year of claims is several GB, well
above the ~1 GB per partition below which partitioning hurts. Monthly arrivals (an accounting
month) touch several service years at once (late claims), which is an append into a few
partitions, not a rewrite. Partitioning by accounting month would create small partitions and
force every yearly run to read them all. ``population`` is one row per person per year and is
partitioned by ``year`` too.

Column types are :class:`SqlType` values, a pure-Python description of Spark SQL types, so the
contract (and the spec checker reading it) needs no pyspark; :attr:`Table.schema` builds the
pyspark ``StructType`` on demand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pyspark is imported only when a Spark schema is asked for
    from pyspark.sql import types as T

# Spark SQL type names (as in DDL) of the atomic types -> pyspark class name
_ATOMIC = {
    "date": "DateType",
    "timestamp": "TimestampType",
    "string": "StringType",
    "int": "IntegerType",
    "bigint": "LongType",
    "double": "DoubleType",
    "boolean": "BooleanType",
}
_NUMERIC = frozenset({"int", "bigint", "double", "decimal"})


@dataclass(frozen=True)
class SqlType:
    """A column type described without pyspark: a Spark SQL type by its DDL name.

    ``name`` is one of ``date``, ``timestamp``, ``string``, ``int``, ``bigint``, ``double``,
    ``boolean``, ``decimal`` (with ``precision`` and ``scale``), ``array`` (``element`` type) or
    ``map`` (``key`` and ``element``, the value type). ``contains_null`` says whether array
    elements / map values may be null (pyspark's ``containsNull`` / ``valueContainsNull``).
    Build composite types with :func:`array_of` and :func:`map_of`; :meth:`spark` gives the
    pyspark type (importing pyspark then).
    """

    name: str
    precision: int | None = None
    scale: int | None = None
    element: SqlType | None = None
    key: SqlType | None = None
    contains_null: bool = True

    def __post_init__(self) -> None:
        if not (
            self.name in _ATOMIC
            or (self.name == "decimal" and None not in (self.precision, self.scale))
            or (self.name == "array" and self.element is not None and self.key is None)
            or (self.name == "map" and None not in (self.element, self.key))
        ):
            raise ValueError(f"not a supported column type: {self!r}")

    @property
    def numeric(self) -> bool:
        return self.name in _NUMERIC

    @property
    def ddl(self) -> str:
        """Spark's DDL / ``simpleString`` form: ``decimal(12,2)``, ``array<string>``..."""
        if self.name == "decimal":
            return f"decimal({self.precision},{self.scale})"
        if self.name == "array":
            assert self.element is not None  # checked by __post_init__
            return f"array<{self.element.ddl}>"
        if self.name == "map":
            assert self.key is not None and self.element is not None  # checked by __post_init__
            return f"map<{self.key.ddl},{self.element.ddl}>"
        return self.name

    def __str__(self) -> str:
        return self.ddl

    def simpleString(self) -> str:  # pyspark's DataType.simpleString: comparable with its text
        return self.ddl

    def spark(self) -> T.DataType:
        """The pyspark type (containsNull / valueContainsNull as ``contains_null``)."""
        from pyspark.sql import types as T

        if self.name == "decimal":
            # precision and scale are set: checked by __post_init__
            assert self.precision is not None and self.scale is not None
            return T.DecimalType(self.precision, self.scale)
        if self.name == "array":
            assert self.element is not None  # checked by __post_init__
            return T.ArrayType(self.element.spark(), self.contains_null)
        if self.name == "map":
            assert self.key is not None and self.element is not None  # checked by __post_init__
            return T.MapType(self.key.spark(), self.element.spark(), self.contains_null)
        atomic: T.DataType = getattr(T, _ATOMIC[self.name])()
        return atomic


def array_of(element: SqlType, *, contains_null: bool) -> SqlType:
    return SqlType("array", element=element, contains_null=contains_null)


def map_of(key: SqlType, value: SqlType, *, contains_null: bool) -> SqlType:
    return SqlType("map", key=key, element=value, contains_null=contains_null)


DATE = SqlType("date")
TIMESTAMP = SqlType("timestamp")
STR = SqlType("string")
INT = SqlType("int")
LONG = SqlType("bigint")
DBL = SqlType("double")
BOOL = SqlType("boolean")
MONEY = SqlType("decimal", precision=12, scale=2)
STRS = array_of(STR, contains_null=False)  # a list of codes / names, never a null element


@dataclass(frozen=True)
class Column:
    name: str
    dtype: SqlType
    doc: str
    nullable: bool = False
    ima: str | None = None
    # the allowed values of a categorical column (the spec checker and data-quality rules read
    # them); empty: any value of the type
    values: tuple[str, ...] = ()
    # published tables: a figure that is blanked (set to null) when its cell is suppressed
    disclosive: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    doc: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # natural key: duplicates on it are quarantined
    partition_by: tuple[str, ...] = ()
    kind: str = "source"  # source | reference | system
    # columns that must hold a code present in a reference table: column -> (table, column)
    references: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def schema(self) -> T.StructType:
        """The pyspark schema (pyspark is imported here, not when the module is)."""
        from pyspark.sql import types as T

        return T.StructType(
            [T.StructField(c.name, c.dtype.spark(), c.nullable) for c in self.columns]
        )

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}; columns are {self.column_names}")


LOAD_ID = Column("load_id", STR, "Load batch that brought the row in (lineage; reruns replace it).")

POPULATION = Table(
    name="population",
    doc="One row per insured person per year (situation at 31 December, or at death).",
    key=("person_id", "year"),
    partition_by=("year",),
    references={"nis_municipality": ("ref_geography", "nis")},
    columns=(
        Column("year", INT, "Reference year of the row.", ima="PP0005 shipment year"),
        Column(
            "person_id",
            STR,
            "Pseudonymous beneficiary id, stable across years and tables.",
            ima="PP0010",
        ),
        Column("birth_year", INT, "Year of birth.", ima="PP0015"),
        Column("sex", STR, "'M' or 'F'.", ima="PP0020", values=("M", "F")),
        Column(
            "nis_municipality",
            STR,
            "NIS code (5 characters) of the municipality of domicile, 2019-2024 boundaries.",
            ima="PP0025",
        ),
        Column(
            "insurer",
            STR,
            "Sickness fund code: 100 CM, 200 neutral, 300 socialist, 400 liberal, 500 independent, 600 HZIV/CAAMI, 900 HR Rail ([I] codes).",
        ),
        Column(
            "bim",
            BOOL,
            "Increased reimbursement (BIM/VT/RPI) at 31 December.",
            ima="CG1/CG2 ending in 1",
        ),
        Column(
            "bim_basis",
            STR,
            "Basis of the BIM right: 'benefit' (social benefit) or 'income' (income test); null when not BIM.",
            nullable=True,
            ima="PP1010",
            values=("benefit", "income"),
        ),
        Column(
            "death_date",
            DATE,
            "Date of death when the person died in this year, else null.",
            nullable=True,
            ima="PP0040",
        ),
        Column(
            "chronic_status",
            BOOL,
            "Holds the 'statuut chronische aandoening / statut affection chronique'.",
        ),
        Column(
            "disability",
            BOOL,
            "Recognised invalidity / long-term work incapacity or disability allowance.",
        ),
        Column(
            "nursing_home",
            BOOL,
            "Resides in a nursing home (ROB/RVT lump sums) at the end of the year or at death.",
        ),
        Column(
            "medical_house",
            BOOL,
            "Enrolled in a medical house (forfait practice): GP care is not billed per act.",
        ),
        Column("gmd", BOOL, "Has a global medical record (GMD/DMG) with a GP."),
        LOAD_ID,
    ),
)

HEALTH_CARE = Table(
    name="health_care",
    doc="One row per reimbursed service (GZ/SSA): nomenclature code x person x date x provider.",
    key=("claim_id",),
    partition_by=("year",),
    references={"nomen_code": ("ref_nomenclature", "nomen_code")},
    columns=(
        Column("claim_id", STR, "Unique id of the claim line (sickness fund + shipment + line)."),
        Column("person_id", STR, "Beneficiary.", ima="SS00010"),
        Column(
            "nomen_code",
            STR,
            "RIZIV/INAMI nomenclature code or pseudo-code, 6 digits.",
            ima="SS00020",
        ),
        Column("service_date", DATE, "First date of the service.", ima="SS00015"),
        Column(
            "accounting_month",
            DATE,
            "First day of the month in which the fund booked the claim (lags the service by 0-24 months).",
        ),
        Column("quantity", INT, "Number of units billed (days for per-diems, sessions...)."),
        Column("amount_reimbursed", MONEY, "Reimbursed amount (RIZIV/INAMI share), EUR."),
        Column(
            "amount_personal_share", MONEY, "Personal share (remgeld / ticket modérateur), EUR."
        ),
        Column("amount_supplement", MONEY, "Supplements (not reimbursed), EUR."),
        Column(
            "provider_id",
            STR,
            "RIZIV number of the provider (11 digits; first digit = profession).",
            nullable=True,
        ),
        Column(
            "provider_qualification",
            STR,
            "Provider qualification code (3 digits, e.g. 003/004 GP).",
            nullable=True,
        ),
        Column(
            "institution_id",
            STR,
            "RIZIV number of the institution (hospital, nursing home) when any.",
            nullable=True,
        ),
        Column(
            "stay_id",
            STR,
            "Hospital stay the service belongs to, when billed during a stay.",
            nullable=True,
        ),
        Column(
            "setting",
            STR,
            "'ambulatory' or 'hospital' (PROCEDURE_AH_CAT 1/2).",
            ima="PROCEDURE_AH_CAT",
            values=("ambulatory", "hospital"),
        ),
        Column("year", INT, "Service year (partition column) = year(service_date)."),
        LOAD_ID,
    ),
)

PHARMACY = Table(
    name="pharmacy",
    doc="One row per reimbursed delivery by a public pharmacy (Farmanet), enriched with ATC and DDD from ref_products.",
    key=("delivery_id",),
    partition_by=("year",),
    references={"cnk": ("ref_products", "cnk")},
    columns=(
        Column("delivery_id", STR, "Unique id of the delivery line."),
        Column("person_id", STR, "Beneficiary.", ima="SS00010"),
        Column("cnk", STR, "7-digit CNK product code.", ima="SS00020"),
        Column("atc5", STR, "ATC level-5 code of the product (from ref_products).", nullable=True),
        Column("delivery_date", DATE, "Delivery date.", ima="SS00015"),
        Column("accounting_month", DATE, "First day of the accounting month."),
        Column("packages", INT, "Number of packages delivered."),
        Column(
            "ddd", DBL, "Defined daily doses delivered = packages x DDD per package.", nullable=True
        ),
        Column("amount_reimbursed", MONEY, "Reimbursed amount, EUR."),
        Column("amount_personal_share", MONEY, "Personal share, EUR."),
        Column("amount_supplement", MONEY, "Supplement, EUR."),
        Column("pharmacy_id", STR, "RIZIV number of the pharmacy (first digit 6)."),
        Column("prescriber_id", STR, "RIZIV number of the prescriber.", nullable=True),
        Column("year", INT, "Delivery year (partition column)."),
        LOAD_ID,
    ),
)

HOSPITAL_STAY = Table(
    name="hospital_stay",
    doc="One row per hospital stay (classic or day), derived from GZ billing as IMA does.",
    key=("stay_id",),
    partition_by=("year",),
    columns=(
        Column("stay_id", STR, "Unique stay id; health_care rows billed during the stay carry it."),
        Column("person_id", STR, "Patient."),
        Column("hospital_id", STR, "RIZIV number of the hospital (first digit 7)."),
        Column("admission_date", DATE, "Admission date."),
        Column("discharge_date", DATE, "Discharge date (= admission date for a day stay)."),
        Column(
            "stay_type",
            STR,
            "'classic' (at least one night) or 'day' (day hospital).",
            values=("classic", "day"),
        ),
        Column("admitted_via_ed", BOOL, "Admitted through the emergency department."),
        Column(
            "discharge_destination",
            STR,
            "'home', 'transfer' (to another hospital), 'nursing_home', 'death' or 'other'.",
            values=("home", "transfer", "nursing_home", "death", "other"),
        ),
        Column(
            "service_type",
            STR,
            "'general', 'surgical', 'maternity', 'geriatric', 'psychiatric' or 'paediatric'.",
            values=("general", "surgical", "maternity", "geriatric", "psychiatric", "paediatric"),
        ),
        Column(
            "main_diagnosis_group",
            STR,
            "Linked main diagnosis group (as if linked with hospital discharge data), null when not linked: e.g. 'diabetes', 'copd_asthma', 'heart_failure', 'chemotherapy', 'dialysis', 'delivery', 'other'.",
            nullable=True,
        ),
        Column("accounting_month", DATE, "First day of the month in which the stay was booked."),
        Column("year", INT, "Discharge year (partition column)."),
        LOAD_ID,
    ),
)

REF_GEOGRAPHY = Table(
    name="ref_geography",
    doc="Belgian municipalities (2019-2024 boundaries, 581) with their arrondissement, province and region; Statbel CC BY 4.0.",
    key=("nis",),
    kind="reference",
    columns=(
        Column("nis", STR, "Municipality NIS code."),
        Column("name_nl", STR, "Dutch name."),
        Column("name_fr", STR, "French name."),
        Column("arr_nis", STR, "Arrondissement NIS code."),
        Column("arr_name_nl", STR, "Arrondissement, Dutch name."),
        Column(
            "prov_nis",
            STR,
            "Province NIS code; the 19 Brussels-Capital municipalities, which have no province, get the region code 04000: Brussels-Capital is one province-level unit (as NUTS 2 BE10 and Statbel REFNIS, where arrondissement 21000 lies directly in region 04000).",
            nullable=True,
        ),
        Column("prov_name_nl", STR, "Province, Dutch name.", nullable=True),
        Column("reg_nis", STR, "Region NIS code: 02000 Flanders, 03000 Wallonia, 04000 Brussels."),
        Column("reg_name_nl", STR, "Region, Dutch name."),
        Column("nis_2025", STR, "Municipality after the 1/1/2025 mergers."),
        Column("pop_2020_total", LONG, "Population 1/1/2020 (Statbel)."),
    ),
)

REF_NOMENCLATURE = Table(
    name="ref_nomenclature",
    doc="Nomenclature codes used by phm with their service group. Codes marked synthetic are placeholders.",
    key=("nomen_code",),
    kind="reference",
    columns=(
        Column("nomen_code", STR, "6-digit nomenclature code."),
        Column("label_en", STR, "Short English label."),
        Column(
            "service_group",
            STR,
            "Service group: gp_consult, gp_home_visit, gp_gmd, gp_forfait, specialist, psychiatrist, dentist, physiotherapy, home_nursing, emergency, hospital_per_diem, hospital_fee, day_hospital, nursing_home, imaging, mammography_screening, mammography_diagnostic, lab, other.",
        ),
        Column(
            "provider_profession",
            STR,
            "Profession digit of the RIZIV number expected to bill it (1 physician, 3 dentist, 4 nurse, 5 physio, 7 hospital...).",
        ),
        Column("fee", MONEY, "Fee (EUR) used by the generator."),
        Column("setting", STR, "'ambulatory', 'hospital' or 'any'."),
        Column(
            "source",
            STR,
            "'S' when the code and fee are read in a published source (lib/phm/reference_data/SOURCES.md), 'I' when synthetic.",
        ),
    ),
)

REF_PRODUCTS = Table(
    name="ref_products",
    doc="Medicinal products: CNK -> ATC5 and DDD per package. Synthetic CNKs, real ATC codes and WHO DDDs.",
    key=("cnk",),
    kind="reference",
    columns=(
        Column("cnk", STR, "7-digit CNK code (synthetic)."),
        Column("product_name", STR, "Product name (generic + strength)."),
        Column("atc5", STR, "ATC level-5 code."),
        Column("ddd_per_package", DBL, "Defined daily doses in one package."),
        Column("package_price", MONEY, "Public price of one package, EUR."),
        Column(
            "reimbursement_category",
            STR,
            "Reimbursement category A, B, C, Cs, Cx (drives the personal share).",
        ),
    ),
)

QUARANTINE = Table(
    name="quarantine",
    doc="Rows of source loads that broke the contract, with every reason (see phm.data.rules).",
    key=("source_table", "load_id", "row_key"),
    partition_by=("source_table",),
    kind="system",
    columns=(
        Column("source_table", STR, "Source table the row was meant for."),
        Column("load_id", STR, "Load batch that brought the row in (reruns replace it)."),
        Column(
            "row_key", STR, "Natural key of the row, key columns joined by '|' (null parts as '')."
        ),
        Column("reject_reasons", STRS, "Reason codes of every rule the row broke."),
        Column(
            "row_json",
            STR,
            "The original row as JSON (all input columns, nulls kept), so any row survives.",
        ),
        Column("quarantined_at", TIMESTAMP, "When the load ran (UTC)."),
    ),
)

LOAD_LOG = Table(
    name="load_log",
    doc="One row per (table, load): input, accepted and quarantined counts; accepted + quarantined = input.",
    key=("table", "load_id"),
    kind="system",
    columns=(
        Column("load_id", STR, "Load batch id."),
        Column("table", STR, "Source table loaded."),
        Column(
            "mode", STR, "'append' (replace this load's rows) or 'overwrite' (replace the table)."
        ),
        Column("input_rows", LONG, "Rows offered."),
        Column("accepted_rows", LONG, "Rows written to the table."),
        Column("quarantined_rows", LONG, "Rows written to quarantine."),
        Column(
            "reasons",
            map_of(STR, LONG, contains_null=False),
            "Quarantined rows per reason code (a row can have several).",
        ),
        Column("loaded_at", TIMESTAMP, "When the load ran (UTC)."),
        Column(
            "accounting_through",
            DATE,
            "Latest accounting month of the rows accepted (first day of the month); null for the "
            "population and for a load that accepted no row. A run's data end defaults to the "
            "last day of the latest such month of a table.",
            nullable=True,
        ),
    ),
)

SOURCE_TABLES: dict[str, Table] = {
    t.name: t for t in (POPULATION, HEALTH_CARE, PHARMACY, HOSPITAL_STAY)
}
REFERENCE_TABLES: dict[str, Table] = {
    t.name: t for t in (REF_GEOGRAPHY, REF_NOMENCLATURE, REF_PRODUCTS)
}
SYSTEM_TABLES: dict[str, Table] = {t.name: t for t in (QUARANTINE, LOAD_LOG)}
ALL_TABLES: dict[str, Table] = {**REFERENCE_TABLES, **SOURCE_TABLES, **SYSTEM_TABLES}


def table(name: str) -> Table:
    try:
        return ALL_TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; known tables: {sorted(ALL_TABLES)}") from None
