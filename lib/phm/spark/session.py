"""The single place a SparkSession is built.

Two situations:

* **Embedded (default)**: phm starts a local Spark with the Delta extensions, a few shuffle
  partitions, AQE on, no console progress bar, and Delta jars from a local cache.
* **Cluster**: under ``spark-submit`` (the JVM launched us: ``PYSPARK_GATEWAY_PORT`` is set) or
  on a platform that already holds an active session (Databricks), phm takes the existing
  session and never overrides master, jars or cluster resources.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from pyspark.sql import SparkSession

from phm.errors import SetupError
from phm.spark import delta_jars

log = logging.getLogger(__name__)

DELTA_CONFS = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}

# Quiet local driver: Spark's WARN start-up lines would flood the terminal rich draws on.
_LOG4J2 = Path(__file__).with_name("log4j2.properties")
_DRIVER_JAVA_OPTIONS = (
    f"-Dlog4j2.configurationFile={_LOG4J2.as_uri()}" if _LOG4J2.exists() else "-Dlog4j2.level=ERROR"
)

# Local tuning; on a cluster these are the platform's business.
LOCAL_CONFS = {
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.showConsoleProgress": "false",  # fights rich's progress display
    "spark.databricks.delta.snapshotPartitions": "2",
    "spark.sql.sources.parallelPartitionDiscovery.parallelism": "2",
    "spark.driver.extraJavaOptions": _DRIVER_JAVA_OPTIONS,
    "spark.sql.parquet.compression.codec": "zstd",
    "spark.sql.execution.arrow.pyspark.enabled": "true",  # fast pandas -> Spark for reference tables
}


def on_cluster() -> bool:
    """True when a JVM launched us (spark-submit), we run on Databricks (notebook or wheel task),
    or a session already exists (notebooks)."""
    return (
        "PYSPARK_GATEWAY_PORT" in os.environ
        or "DATABRICKS_RUNTIME_VERSION" in os.environ
        or SparkSession.getActiveSession() is not None
    )


def get_spark(app_name: str = "phm", *, for_tests: bool = False) -> SparkSession:
    """Return the SparkSession, building an embedded local one when no cluster is present.

    Environment knobs for local runs: ``PHM_SPARK_CORES`` (default: all), ``PHM_SHUFFLE_PARTITIONS``
    (default 4), ``PHM_DRIVER_MEMORY`` (default 6g), ``PHM_SPARK_UI`` (1 to enable the web UI),
    ``PHM_IVY_DIR`` (Delta jar cache).
    """
    if on_cluster():
        active = SparkSession.getActiveSession()
        spark = active or SparkSession.builder.appName(app_name).getOrCreate()
        _check_delta(spark)
        return spark

    # Local Python workers must run this interpreter (the venv), not the system one.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

    cores = os.environ.get("PHM_SPARK_CORES", "*")
    partitions = os.environ.get("PHM_SHUFFLE_PARTITIONS", "2" if for_tests else "4")
    builder = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName(app_name)
        .config("spark.driver.memory", os.environ.get("PHM_DRIVER_MEMORY", "6g"))
        .config("spark.sql.shuffle.partitions", partitions)
        .config("spark.default.parallelism", partitions)
        .config("spark.ui.enabled", os.environ.get("PHM_SPARK_UI", "0") == "1")
        .config(
            "spark.sql.warehouse.dir",
            os.path.abspath(os.environ.get("PHM_SPARK_SQL_DIR", ".cache/spark-sql")),
        )
    )
    for key, value in {**DELTA_CONFS, **LOCAL_CONFS}.items():
        builder = builder.config(key, value)
    if for_tests:
        builder = builder.config("spark.databricks.delta.snapshotPartitions", "1")

    jars = delta_jars.cached_jars()
    first_resolution = jars is None
    if jars:
        builder = builder.config("spark.jars", ",".join(jars))
    else:
        ivy = delta_jars.ivy_dir()
        ivy.mkdir(parents=True, exist_ok=True)
        builder = builder.config("spark.jars.packages", delta_jars.delta_maven_coordinate())
        builder = builder.config("spark.jars.ivy", str(ivy))
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # the JVM exits when Ivy cannot resolve
        if first_resolution:
            raise SetupError(delta_jars.resolution_failed_message(exc)) from exc
        raise SetupError(f"Spark could not start: {exc}") from exc
    if first_resolution:
        delta_jars.record_resolved_jars()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _check_delta(spark: SparkSession) -> None:
    if "DATABRICKS_RUNTIME_VERSION" in os.environ:
        return  # Delta is built into the Databricks runtime
    extensions = spark.conf.get("spark.sql.extensions", "") or ""
    if "DeltaSparkSessionExtension" not in extensions:
        raise SetupError(
            "The Spark session has no Delta Lake extension. Submit with "
            "--packages io.delta:delta-spark_4.2_2.13:4.4.0 and --conf "
            "spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension --conf "
            "spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog "
            "(see deploy/)."
        )


def stop_spark() -> None:
    """Stop a session phm started itself; a cluster's or notebook's session is not ours to stop."""
    active = SparkSession.getActiveSession()
    launched_by_platform = (
        "PYSPARK_GATEWAY_PORT" in os.environ or "DATABRICKS_RUNTIME_VERSION" in os.environ
    )
    if active is not None and not launched_by_platform:
        active.stop()
