"""Nightly phm run with Airflow: validate the warehouse, then describe it and recompute every
indicator (the Atlas and the quality set in one run).

(Simulating a new month with `jobs/generate.py --next-month` needs a local warehouse: its state
file is local.)

Needs the provider apache-airflow-providers-apache-spark, a `spark_default` connection pointing at
the cluster (YARN, standalone or k8s://), and on the Airflow workers: the repository's jobs/ at
/opt/phm/jobs, the venv-pack archive of deploy/README.md at /opt/phm/phm-env.tar.gz and the spec
folder as /opt/phm/indicator_specs.tar.gz (`tar -czf indicator_specs.tar.gz -C indicator_specs .`):
in cluster mode the driver reads the specs from the unpacked archive.
"""

from __future__ import annotations

import pendulum
from airflow import DAG
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

WAREHOUSE = "s3a://phm-data/warehouse"
JOBS = "/opt/phm/jobs"

SPARK = dict(
    conn_id="spark_default",
    deploy_mode="cluster",
    packages="io.delta:delta-spark_4.2_2.13:4.4.0",
    archives="/opt/phm/phm-env.tar.gz#environment",
    conf={
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.pyspark.python": "./environment/bin/python",
        "spark.yarn.appMasterEnv.PYSPARK_PYTHON": "./environment/bin/python",
    },
    executor_memory="8g",
    driver_memory="4g",
)

with DAG(
    dag_id="phm_nightly",
    schedule="0 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Brussels"),
    catchup=False,
    max_active_runs=1,  # Delta writers on one table: keep runs serial
    tags=["phm"],
) as dag:
    validate = SparkSubmitOperator(
        task_id="validate",  # exit status 2 (violations) fails the task
        application=f"{JOBS}/validate.py",
        application_args=["--warehouse", WAREHOUSE],
        **SPARK,
    )
    describe = SparkSubmitOperator(
        task_id="describe",
        application=f"{JOBS}/describe.py",
        application_args=["--warehouse", WAREHOUSE],
        **SPARK,
    )
    indicators = SparkSubmitOperator(
        task_id="indicators",  # a failed run leaves the published results as they were
        application=f"{JOBS}/run_indicators.py",
        # --data-end: the last day whose claims are complete, for follow-up windows
        application_args=["--warehouse", WAREHOUSE, "--specs-dir", "specs"],
        **{**SPARK, "archives": SPARK["archives"] + ",/opt/phm/indicator_specs.tar.gz#specs"},
    )
    validate >> [describe, indicators]
