"""Hospital episodes: classic stays chained across transfers, the unit every stay-based quality
indicator indexes (readmission, follow-up after discharge).

Rules, per person, stays in the order (admission date, discharge date, stay id):

- a stay admitted on or before the latest discharge so far (overlapping or nested stays, or an
  admission the same day as a discharge) continues the episode, whatever the hospital;
- a stay admitted the day after the latest discharge continues it when it is in ANOTHER hospital
  (a transfer); in the same hospital it is a new episode (a readmission on day 1);
- otherwise a new episode starts.

The order is total (stay id breaks ties), so the result never depends on how the rows arrived.
Only classic stays are chained: day stays (chemotherapy or dialysis sessions, day surgery) are
not episodes and would otherwise be mistaken for transfers.

One window over the stays of each person, then one group-by: Spark-native, one shuffle.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

# columns taken from the first stay (why the person came in) or the last (how they left)
FIRST = ("admitted_via_ed", "main_diagnosis_group")
LAST = ("hospital_id", "discharge_destination", "service_type")


def episodes(stays: DataFrame) -> DataFrame:
    """One row per episode: ``person_id``, ``episode_id`` (id of its first stay), the columns of
    :data:`phm.spec.models.EPISODE_COLUMNS` and ``year`` (of the last discharge)."""
    if (
        "main_diagnosis_group" not in stays.columns
    ):  # unlinked warehouse; specs needing it fail first
        stays = stays.withColumn("main_diagnosis_group", F.lit(None).cast("string"))
    classic = stays.where(F.col("stay_type") == "classic").select(
        "stay_id", "person_id", "admission_date", "discharge_date", *FIRST, *LAST
    )
    order = Window.partitionBy("person_id").orderBy("admission_date", "discharge_date", "stay_id")
    before = order.rowsBetween(Window.unboundedPreceding, -1)
    last_key = F.struct("discharge_date", "admission_date", "stay_id")
    prev_end = F.max("discharge_date").over(before)
    prev_hospital = F.max_by("hospital_id", last_key).over(before)
    adm = F.col("admission_date")
    continues = prev_end.isNotNull() & (
        (adm <= prev_end)
        | ((adm == F.date_add(prev_end, 1)) & (F.col("hospital_id") != prev_hospital))
    )
    numbered = classic.withColumn("_new", F.when(continues, 0).otherwise(1)).withColumn(
        "_episode", F.sum("_new").over(order.rowsBetween(Window.unboundedPreceding, 0))
    )
    first_key = F.struct("admission_date", "discharge_date", "stay_id")
    return (
        numbered.groupBy("person_id", "_episode")
        .agg(
            F.min_by("stay_id", first_key).alias("episode_id"),
            F.min("admission_date").alias("admission_date"),
            F.max("discharge_date").alias("discharge_date"),
            *[F.min_by(c, first_key).alias(c) for c in FIRST],
            *[F.max_by(c, last_key).alias(c) for c in LAST],
            F.count("*").alias("n_stays"),
            (F.count_distinct("hospital_id") > 1).alias("transferred"),
        )
        .drop("_episode")
        .withColumn("stay_type", F.lit("classic"))
        .withColumn("year", F.year("discharge_date"))
    )
