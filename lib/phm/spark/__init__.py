"""Building the one SparkSession phm uses, locally or on a cluster."""

from phm.spark.session import get_spark, stop_spark

__all__ = ["get_spark", "stop_spark"]
