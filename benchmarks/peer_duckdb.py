"""The analyst's DuckDB script: a peer of phm for the performance comparison (issue 14).

    .venv/bin/pip install -e '.[bench]'     # duckdb and deltalake, pinned in pyproject.toml
    .venv/bin/python benchmarks/peer_duckdb.py --warehouse /tmp/wh20k [--years 2022-2024]
        [--threads N] [--json out.json] [--check]

What a statistician would write by hand to get six Atlas indicators out of the SAME Delta tables
a phm warehouse holds (``population``, ``health_care``, ``pharmacy``, ``hospital_stay``,
``ref_geography``), without phm: each table is opened with ``deltalake`` as a pyarrow dataset and
queried with DuckDB (no DuckDB delta extension, so nothing is downloaded at run time). The SQL
below is hand-written, not generated from phm's compiler; only the code lists
(``gp_contact``, ``mammography``) and the municipalities of the ``pilot_regions`` area set are
read from ``indicator_specs/`` (``--specs-dir``), so both sides count the same codes.

Computed, per indicator, year, geography level and code and breakdown (the rules of
docs/specs.md): the numerator, the denominator, and the persons behind each (``npers``: persons
of the population with a non-zero numerator value; ``dpers``: persons of the population).

- Population of year Y: the persons with a ``population`` row for Y; age = Y - birth year;
  geography: the municipality of domicile through ``ref_geography`` (municipality, arrondissement,
  province with Brussels-Capital as 04000, region, Belgium 01000), and the ``pilot_regions``
  areas where an indicator lists them. Breakdowns: the total, then each breakdown set of the
  spec, at every geography level (GROUPING SETS).
- Claims belong to the year of their ``year`` column (service, delivery, discharge year).
- ``gp_contact_share``: persons not in a medical house; numerator: >= 1 GP contact (code list
  ``gp_contact``). By sex, age (atlas bands), BIM.
- ``polypharmacy_65plus``: persons aged 65+; numerator: >= 5 distinct ATC5 each delivered for
  >= 80 DDD in the year. By sex, age (elderly bands), BIM, nursing home; also pilot regions.
- ``reimbursed_per_capita``: everyone; numerator: the reimbursed amount of health care plus
  pharmacy (EUR, summed exactly in decimal). By sex, age (atlas), BIM, BIM x age; pilot regions.
- ``classic_stays_per_1000`` / ``day_stays_per_1000``: everyone; numerator: stays of that type
  discharged in the year. By sex, age (atlas) (+ BIM for day stays).
- ``breast_cancer_screening_50_69``: women aged 50-69 also in the population the year before;
  numerator: a mammography (code list ``mammography``) in Y or Y - 1. By age (5-year bands),
  BIM. Years whose year before is not in the data are left out (as phm does).

Left out: standardisation, disclosure control (cell keys, noise, suppression), confidence
intervals, rounding and publication (no writes to the warehouse): crude sums only.

Printed: the rows produced per indicator, the wall time of the whole process from the first line
of this script (imports included; ``time.perf_counter``) to the last result fetched, the CPU time
(``time.process_time``, DuckDB's worker threads included) and the 1-minute load average before and
after. ``--json FILE`` writes those figures and every row. ``--threads N`` caps DuckDB's threads
(default: DuckDB's, one per core).

``--check`` then (outside the timing) computes phm's own pre-disclosure cells on the same
warehouse with Spark (``phm.runs.indicators.compute_cells``; ``export PHM_IVY_DIR=...`` first;
``PHM_SPARK_CORES`` caps its cores) and matches them with the peer's rows on (indicator, period,
geo_level, geo_code, breakdown_key): counts must be equal, euro sums equal to the cent (phm adds
doubles, in an order of its own: on /tmp/wh20k its sums differ from the exact decimal ones by
at most 1e-8 EUR). It
prints the rows compared and differing per indicator and exits 1 on any difference. The warehouse
is only read (a fixed dummy cell-key secret is used: record keys do not enter num/den).
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

LOAD_BEFORE = os.getloadavg()

import duckdb  # noqa: E402
import yaml  # noqa: E402
from deltalake import DeltaTable  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TABLES = ("population", "health_care", "pharmacy", "hospital_stay")
INDICATORS = (
    "gp_contact_share",
    "polypharmacy_65plus",
    "reimbursed_per_capita",
    "classic_stays_per_1000",
    "day_stays_per_1000",
    "breast_cancer_screening_50_69",
)
KEYS = ("indicator_id", "period", "geo_level", "geo_code", "breakdown_key")

# ---------------------------------------------------------------------------------------------
# the SQL

# One row per person and year of the population, with what the six indicators need.
PERSON_YEAR = """
CREATE TEMP TABLE person_year AS
WITH pop AS (
    SELECT p.year, p.person_id, p.sex, p.bim, p.nursing_home, p.medical_house,
           p.year - p.birth_year AS age,
           g.nis, g.arr_nis,
           coalesce(g.prov_nis, CASE WHEN g.reg_nis = '04000' THEN '04000' END) AS prov_nis,
           g.reg_nis
    FROM population p
    LEFT JOIN ref_geography g ON g.nis = p.nis_municipality
    WHERE p.year BETWEEN $first AND $last
),
previous AS (          -- in the population the year before
    SELECT person_id, year + 1 AS year
    FROM population
    WHERE year BETWEEN $first - 1 AND $last - 1
),
hc AS (
    SELECT person_id, year,
           count(*) FILTER (WHERE nomen_code IN (SELECT code FROM codes_gp)) AS gp_contacts,
           sum(amount_reimbursed) AS reimbursed_hc
    FROM health_care
    WHERE year BETWEEN $first AND $last
    GROUP BY person_id, year
),
mammography AS (       -- a mammography counts for its own year and the year after
    SELECT DISTINCT person_id, year + k AS year
    FROM health_care, (VALUES (0), (1)) AS w(k)
    WHERE nomen_code IN (SELECT code FROM codes_mammography)
      AND year BETWEEN $first - 1 AND $last
),
medicines AS (         -- per person, year and substance
    SELECT person_id, year, atc5, sum(ddd) AS ddd, sum(amount_reimbursed) AS reimbursed
    FROM pharmacy
    WHERE year BETWEEN $first AND $last
    GROUP BY person_id, year, atc5
),
ph AS (
    SELECT person_id, year,
           count(*) FILTER (WHERE atc5 IS NOT NULL AND ddd >= 80) AS medicines_80ddd,
           sum(reimbursed) AS reimbursed_pharmacy
    FROM medicines
    GROUP BY person_id, year
),
stays AS (
    SELECT person_id, year,
           count(*) FILTER (WHERE stay_type = 'classic') AS classic_stays,
           count(*) FILTER (WHERE stay_type = 'day') AS day_stays
    FROM hospital_stay
    WHERE year BETWEEN $first AND $last
    GROUP BY person_id, year
)
SELECT pop.*,
       previous.person_id IS NOT NULL AS insured_previous_year,
       coalesce(hc.gp_contacts, 0) AS gp_contacts,
       mammography.person_id IS NOT NULL AS mammography_2y,
       coalesce(ph.medicines_80ddd, 0) AS medicines_80ddd,
       coalesce(hc.reimbursed_hc, 0) + coalesce(ph.reimbursed_pharmacy, 0) AS reimbursed_total,
       coalesce(stays.classic_stays, 0) AS classic_stays,
       coalesce(stays.day_stays, 0) AS day_stays,
       CASE WHEN age <= 17 THEN '0-17' WHEN age <= 44 THEN '18-44' WHEN age <= 64 THEN '45-64'
            WHEN age <= 74 THEN '65-74' WHEN age <= 84 THEN '75-84' ELSE '85+' END AS age_atlas,
       CASE WHEN age <= 64 THEN '0-64' WHEN age <= 74 THEN '65-74' WHEN age <= 84 THEN '75-84'
            ELSE '85+' END AS age_elderly,
       CASE WHEN age >= 95 THEN '95+'
            ELSE (age // 5 * 5)::VARCHAR || '-' || (age // 5 * 5 + 4)::VARCHAR END AS age_age5
FROM pop
LEFT JOIN previous USING (person_id, year)
LEFT JOIN hc USING (person_id, year)
LEFT JOIN mammography USING (person_id, year)
LEFT JOIN ph USING (person_id, year)
LEFT JOIN stays USING (person_id, year)
"""

# Every person-year in each geography unit that contains it (one row per level).
PERSON_GEO = """
CREATE TEMP TABLE person_geo AS
SELECT person_id, year, 'municipality' AS geo_level, nis AS geo_code
FROM person_year WHERE nis IS NOT NULL
UNION ALL
SELECT person_id, year, 'arrondissement', arr_nis FROM person_year WHERE arr_nis IS NOT NULL
UNION ALL
SELECT person_id, year, 'province', prov_nis FROM person_year WHERE prov_nis IS NOT NULL
UNION ALL
SELECT person_id, year, 'region', reg_nis FROM person_year WHERE reg_nis IS NOT NULL
UNION ALL
SELECT person_id, year, 'belgium', '01000' FROM person_year
UNION ALL
SELECT py.person_id, py.year, 'area:pilot_regions', a.area
FROM person_year py JOIN pilot_regions a ON a.nis = py.nis
"""

ADMINISTRATIVE = "geo_level <> 'area:pilot_regions'"  # indicators without the pilot regions

QUERIES = {
    "gp_contact_share": f"""
        SELECT year, geo_level, geo_code,
               concat_ws('|',
                   CASE WHEN grouping(age_atlas) = 0 THEN 'age:atlas=' || age_atlas END,
                   CASE WHEN grouping(bim) = 0 THEN 'bim=' || bim::VARCHAR END,
                   CASE WHEN grouping(sex) = 0 THEN 'sex=' || sex END) AS breakdown_key,
               count(*) FILTER (WHERE gp_contacts >= 1) AS num,
               count(*) AS den,
               count(*) FILTER (WHERE gp_contacts >= 1) AS npers,
               count(*) AS dpers
        FROM person_year JOIN person_geo USING (person_id, year)
        WHERE NOT medical_house AND {ADMINISTRATIVE}
        GROUP BY year, geo_level, geo_code,
                 GROUPING SETS ((), (sex), (age_atlas), (bim))
    """,
    "polypharmacy_65plus": """
        SELECT year, geo_level, geo_code,
               concat_ws('|',
                   CASE WHEN grouping(age_elderly) = 0 THEN 'age:elderly=' || age_elderly END,
                   CASE WHEN grouping(bim) = 0 THEN 'bim=' || bim::VARCHAR END,
                   CASE WHEN grouping(nursing_home) = 0
                        THEN 'nursing_home=' || nursing_home::VARCHAR END,
                   CASE WHEN grouping(sex) = 0 THEN 'sex=' || sex END) AS breakdown_key,
               count(*) FILTER (WHERE medicines_80ddd >= 5) AS num,
               count(*) AS den,
               count(*) FILTER (WHERE medicines_80ddd >= 5) AS npers,
               count(*) AS dpers
        FROM person_year JOIN person_geo USING (person_id, year)
        WHERE age >= 65
        GROUP BY year, geo_level, geo_code,
                 GROUPING SETS ((), (sex), (age_elderly), (bim), (nursing_home))
    """,
    "reimbursed_per_capita": """
        SELECT year, geo_level, geo_code,
               concat_ws('|',
                   CASE WHEN grouping(age_atlas) = 0 THEN 'age:atlas=' || age_atlas END,
                   CASE WHEN grouping(bim) = 0 THEN 'bim=' || bim::VARCHAR END,
                   CASE WHEN grouping(sex) = 0 THEN 'sex=' || sex END) AS breakdown_key,
               sum(reimbursed_total) AS num,
               count(*) AS den,
               count(*) FILTER (WHERE reimbursed_total > 0) AS npers,
               count(*) AS dpers
        FROM person_year JOIN person_geo USING (person_id, year)
        GROUP BY year, geo_level, geo_code,
                 GROUPING SETS ((), (sex), (age_atlas), (bim), (bim, age_atlas))
    """,
    "classic_stays_per_1000": f"""
        SELECT year, geo_level, geo_code,
               concat_ws('|',
                   CASE WHEN grouping(age_atlas) = 0 THEN 'age:atlas=' || age_atlas END,
                   CASE WHEN grouping(sex) = 0 THEN 'sex=' || sex END) AS breakdown_key,
               sum(classic_stays) AS num,
               count(*) AS den,
               count(*) FILTER (WHERE classic_stays > 0) AS npers,
               count(*) AS dpers
        FROM person_year JOIN person_geo USING (person_id, year)
        WHERE {ADMINISTRATIVE}
        GROUP BY year, geo_level, geo_code, GROUPING SETS ((), (sex), (age_atlas))
    """,
    "day_stays_per_1000": f"""
        SELECT year, geo_level, geo_code,
               concat_ws('|',
                   CASE WHEN grouping(age_atlas) = 0 THEN 'age:atlas=' || age_atlas END,
                   CASE WHEN grouping(bim) = 0 THEN 'bim=' || bim::VARCHAR END,
                   CASE WHEN grouping(sex) = 0 THEN 'sex=' || sex END) AS breakdown_key,
               sum(day_stays) AS num,
               count(*) AS den,
               count(*) FILTER (WHERE day_stays > 0) AS npers,
               count(*) AS dpers
        FROM person_year JOIN person_geo USING (person_id, year)
        WHERE {ADMINISTRATIVE}
        GROUP BY year, geo_level, geo_code, GROUPING SETS ((), (sex), (age_atlas), (bim))
    """,
    # $screening_first: the first year whose year before is in the data
    "breast_cancer_screening_50_69": f"""
        SELECT year, geo_level, geo_code,
               concat_ws('|',
                   CASE WHEN grouping(age_age5) = 0 THEN 'age:age5=' || age_age5 END,
                   CASE WHEN grouping(bim) = 0 THEN 'bim=' || bim::VARCHAR END) AS breakdown_key,
               count(*) FILTER (WHERE mammography_2y) AS num,
               count(*) AS den,
               count(*) FILTER (WHERE mammography_2y) AS npers,
               count(*) AS dpers
        FROM person_year JOIN person_geo USING (person_id, year)
        WHERE sex = 'F' AND age BETWEEN 50 AND 69 AND insured_previous_year
          AND year >= $screening_first AND {ADMINISTRATIVE}
        GROUP BY year, geo_level, geo_code, GROUPING SETS ((), (age_age5), (bim))
    """,
}


def indicator_sql(indicator: str) -> str:
    """The indicator's query, with its id and the columns in the order of :data:`KEYS`."""
    return f"""
        SELECT '{indicator}' AS indicator_id, year AS period, geo_level, geo_code, breakdown_key,
               num::DOUBLE AS num, den::DOUBLE AS den, npers::BIGINT AS npers,
               dpers::BIGINT AS dpers
        FROM ({QUERIES[indicator]})
    """


# ---------------------------------------------------------------------------------------------
# running it


def parse_years(text: str | None, have: list[int]) -> list[int]:
    if not text:
        return have
    first, _, last = text.partition("-")
    years = list(range(int(first), int(last or first) + 1))
    missing = [y for y in years if y not in have]
    if missing:
        raise SystemExit(f"no population rows for {missing}; available: {have}")
    return years


def codes(specs: Path, codelist: str) -> list[str]:
    return [
        str(c)
        for c in yaml.safe_load((specs / "codelists" / f"{codelist}.yaml").read_text())["codes"]
    ]


def area_members(specs: Path, area_set: str) -> list[tuple[str, str]]:
    spec = yaml.safe_load((specs / "areas" / f"{area_set}.yaml").read_text())
    return [
        (str(nis), code) for code, area in spec["areas"].items() for nis in area["municipalities"]
    ]


def connect(warehouse: Path, specs: Path, threads: int | None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    for table in TABLES:
        con.register(table, DeltaTable(str(warehouse / table)).to_pyarrow_dataset())
    if (warehouse / "ref_geography" / "_delta_log").is_dir():
        geo = DeltaTable(str(warehouse / "ref_geography")).to_pyarrow_dataset()
        con.register("ref_geography", geo)
    else:  # a warehouse without the table: phm falls back on the package's copy, so do we
        csv = REPO / "lib/phm/reference_data/be_municipalities_2019_2024.csv"
        con.execute(
            f"CREATE TEMP VIEW ref_geography AS SELECT * FROM read_csv('{csv}', all_varchar = true)"
        )
    con.execute("CREATE TEMP TABLE codes_gp (code VARCHAR)")
    con.executemany("INSERT INTO codes_gp VALUES (?)", [[c] for c in codes(specs, "gp_contact")])
    con.execute("CREATE TEMP TABLE codes_mammography (code VARCHAR)")
    con.executemany(
        "INSERT INTO codes_mammography VALUES (?)", [[c] for c in codes(specs, "mammography")]
    )
    con.execute("CREATE TEMP TABLE pilot_regions (nis VARCHAR, area VARCHAR)")
    con.executemany("INSERT INTO pilot_regions VALUES (?, ?)", area_members(specs, "pilot_regions"))
    return con


def peer(con: duckdb.DuckDBPyConnection, years: list[int]) -> dict:
    """Every indicator's rows as an Arrow table, by indicator id."""
    have = [r[0] for r in con.execute("SELECT DISTINCT year FROM population").fetchall()]
    hc_first = con.execute("SELECT min(year) FROM health_care").fetchall()[0][0]
    # the 2-year window needs the year before in the population and in the claims
    screening_first = max(min(have), hc_first if hc_first is not None else min(have)) + 1
    first, last = min(years), max(years)
    con.execute(PERSON_YEAR.replace("$first", str(first)).replace("$last", str(last)))
    con.execute(PERSON_GEO)
    out = {}
    for indicator in INDICATORS:
        sql = indicator_sql(indicator).replace("$screening_first", str(screening_first))
        out[indicator] = con.sql(
            f"SELECT * FROM ({sql}) WHERE period IN ({', '.join(map(str, years))})"
        ).to_arrow_table()
    return out


# ---------------------------------------------------------------------------------------------
# the check against phm


def phm_cells(warehouse: Path, specs: Path, years: list[int]):
    """phm's pre-disclosure cells of the six indicators (a pandas frame)."""
    from pyspark.sql import functions as F

    from phm.compile.plan import build_plan
    from phm.data.warehouse import Warehouse
    from phm.runs.indicators import compute_cells
    from phm.spark import get_spark
    from phm.spec import load_catalogue

    spark = get_spark("phm-peer-check")
    catalogue = load_catalogue(str(specs))
    plan = build_plan(catalogue, catalogue.select(list(INDICATORS)))
    cells = compute_cells(spark, Warehouse.at(str(warehouse)), plan, years, "peer-check-secret")
    return cells.select(
        *KEYS,
        F.col("num").cast("double").alias("num"),
        F.col("den").cast("double").alias("den"),
        F.col("npers").cast("long").alias("npers"),
        F.col("dpers").cast("long").alias("dpers"),
    ).toPandas()


def check(con: duckdb.DuckDBPyConnection, rows: dict, phm) -> dict:
    """Match the peer's ``rows`` (Arrow tables by indicator) with phm's cells ``phm`` (pandas)
    on :data:`KEYS`: rows compared and differing per indicator (a row only on one side differs);
    the first differing rows are printed. Counts must be equal, sums equal to the cent."""
    import pyarrow as pa

    con.register("peer_cells", pa.concat_tables(rows.values()))
    con.register("phm_cells", phm)
    keys = ", ".join(KEYS)
    same = (
        " AND ".join(
            f"round(a.{c}, 2) IS NOT DISTINCT FROM round(b.{c}, 2)" for c in ("num", "den")
        )
        + " AND "
        + " AND ".join(f"a.{c} IS NOT DISTINCT FROM b.{c}" for c in ("npers", "dpers"))
    )
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE compared AS
        SELECT {keys},
               a.num AS peer_num, b.num AS phm_num, a.den AS peer_den, b.den AS phm_den,
               a.npers AS peer_npers, b.npers AS phm_npers,
               a.dpers AS peer_dpers, b.dpers AS phm_dpers,
               CASE WHEN a.period IS NULL THEN 'only in phm'
                    WHEN b.period IS NULL THEN 'only in peer'
                    WHEN NOT ({same}) THEN 'different' END AS problem
        FROM peer_cells a FULL OUTER JOIN phm_cells b USING ({keys})
    """)
    out = {}
    for indicator, compared, differing in con.execute("""
        SELECT indicator_id, count(*), count(problem) FROM compared GROUP BY 1 ORDER BY 1
    """).fetchall():
        out[indicator] = {"compared": compared, "differing": differing}
        print(f"  {indicator:32s} {compared:8,d} rows compared, {differing:6,d} differing")
    examples = con.execute(
        "SELECT * FROM compared WHERE problem IS NOT NULL ORDER BY ALL LIMIT 20"
    ).fetch_df()
    if len(examples):
        print(examples.to_string())
    return out


# ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--warehouse", required=True, type=Path, help="a phm warehouse (read only)")
    parser.add_argument("--years", help="e.g. 2023 or 2022-2024 (default: all population years)")
    parser.add_argument("--specs-dir", type=Path, default=REPO / "indicator_specs")
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: one per core)")
    parser.add_argument("--json", type=Path, help="write the figures and the rows to this file")
    parser.add_argument("--check", action="store_true", help="compare with phm's cells (Spark)")
    args = parser.parse_args()

    con = connect(args.warehouse, args.specs_dir, args.threads)
    have = sorted(r[0] for r in con.execute("SELECT DISTINCT year FROM population").fetchall())
    years = parse_years(args.years, have)
    rows = peer(con, years)
    wall = time.perf_counter() - STARTED
    cpu = time.process_time()
    load_after = os.getloadavg()

    threads = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
    print(
        f"peer (DuckDB {duckdb.__version__}, {threads} threads) on {args.warehouse}, years {years}"
    )
    for indicator, table in rows.items():
        print(f"  {indicator:32s} {table.num_rows:8,d} rows")
    print(
        f"wall {wall:.2f} s (whole process, imports included), cpu {cpu:.2f} s; "
        f"load average (1 min) {LOAD_BEFORE[0]:.2f} before, {load_after[0]:.2f} after "
        f"({os.cpu_count()} cores)"
    )
    figures = {
        "warehouse": str(args.warehouse),
        "years": years,
        "duckdb": duckdb.__version__,
        "threads": threads,
        "cores": os.cpu_count(),
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "load_average": {"before": LOAD_BEFORE, "after": load_after},
        "rows": {i: t.num_rows for i, t in rows.items()},
    }

    failed = False
    if args.check:
        print("check against phm.runs.indicators.compute_cells (Spark) ...")
        figures["check"] = check(con, rows, phm_cells(args.warehouse, args.specs_dir, years))
        failed = any(v["differing"] for v in figures["check"].values())
        print("check: " + ("DIFFERENCES" if failed else "every row agrees"))
    if args.json:
        figures["cells"] = [r for t in rows.values() for r in t.to_pylist()]
        args.json.write_text(json.dumps(figures, indent=1, default=str))
        print(f"figures written to {args.json}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
