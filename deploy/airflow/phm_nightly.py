"""Nightly phm with Airflow: ingest the night's deliveries -> validate -> run -> gate -> export.

- **ingest**: one task per delivered table, from the landing folder of the night (the driver must
  see it: a mount). The load id is the folder's date, so a re-run of the DAG replaces the same
  loads instead of adding them twice.
- **validate**: re-checks every loaded table's rules (exit status 2 on violations fails it).
- **indicators**: the incremental run: only the indicators and periods whose spec, settings or
  source partitions changed are recomputed (a night with nothing new finishes in seconds), then
  the publication gate compares them with what is published. A run that moves too much is
  *held*: the job exits 3, the task fails without retrying (retrying would hold it again) and
  export does not run. A person looks (`phm status`), then triggers `phm_publish_held` with
  `{"run_id": "..."}` (or runs `phm publish --accept RUN_ID`).
- **export**: the published values as CSV/JSON for the Atlas site.

The warehouse lease of the `phm` CLI needs a mounted warehouse; on an object store
`max_active_runs=1` is what keeps two runs from interleaving.

Needs the provider apache-airflow-providers-apache-spark, a `spark_default` connection pointing at
the cluster (YARN, standalone or k8s://), and on the Airflow workers: the repository's jobs/ at
/opt/phm/jobs, the venv-pack archive of deploy/README.md at /opt/phm/phm-env.tar.gz and the spec
folder as /opt/phm/indicator_specs.tar.gz (`tar -czf indicator_specs.tar.gz -C indicator_specs .`):
in cluster mode the driver reads the specs (and the layouts) from the unpacked archive.
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

SPECS = {**SPARK, "archives": SPARK["archives"] + ",/opt/phm/indicator_specs.tar.gz#specs"}
LANDING = "/mnt/landing/{{ ds }}"  # one folder per night, one sub-folder per table
DELIVERIES = {  # layout (indicator_specs/layouts/) -> sub-folder
    "ima_population": "population",
    "ima_health_care": "health_care",
    "ima_pharmacy": "pharmacy",
    "ima_hospital_stay": "hospital_stay",
}

with DAG(
    dag_id="phm_nightly",
    schedule="0 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Brussels"),
    catchup=False,
    max_active_runs=1,  # Delta writers on one table: keep runs serial
    tags=["phm"],
) as dag:
    ingest = [
        SparkSubmitOperator(
            task_id=f"ingest_{folder}",
            application=f"{JOBS}/ingest.py",
            application_args=[
                "--warehouse", WAREHOUSE, "--specs-dir", "specs", "--layout", layout,
                "--from", f"{LANDING}/{folder}", "--load-id", f"{folder}-{{{{ ds_nodash }}}}",
            ],
            **SPECS,
        )
        for layout, folder in DELIVERIES.items()
    ]
    validate = SparkSubmitOperator(
        task_id="validate",  # exit status 2 (violations) fails the task
        application=f"{JOBS}/validate.py",
        application_args=["--warehouse", WAREHOUSE],
        **SPARK,
    )
    indicators = SparkSubmitOperator(
        task_id="indicators",  # incremental and gated: exit 3 = held, nothing published
        application=f"{JOBS}/run_indicators.py",
        # the data end defaults to the last accounting month of the load log (ingest above)
        application_args=["--warehouse", WAREHOUSE, "--specs-dir", "specs"],
        retries=0,  # a held run would be held again; a failed one is retried by the next night
        **SPECS,
    )
    export = SparkSubmitOperator(
        task_id="export",
        application=f"{JOBS}/export.py",
        application_args=["--warehouse", WAREHOUSE, "--out", "/mnt/atlas/{{ ds }}"],
        **SPARK,
    )
    ingest >> validate >> indicators >> export

with DAG(
    dag_id="phm_publish_held",
    schedule=None,  # triggered by a person, with {"run_id": "..."}, after looking at it
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Brussels"),
    catchup=False,
    max_active_runs=1,
    tags=["phm"],
) as accept_dag:
    SparkSubmitOperator(
        task_id="publish",
        application=f"{JOBS}/publish.py",
        application_args=["--warehouse", WAREHOUSE, "--accept", "{{ dag_run.conf['run_id'] }}"],
        **SPARK,
    )
