"""Synthetic, seedable, calibrated Belgian claims warehouse (Spark-native, no Python row loops).

Flow: persons (propensities) -> person-years (population) -> hospital stays -> health-care claims
and pharmacy deliveries -> accounting lags -> optional planted defects -> load with validation.
Every random draw is a hash of (seed, stream, key...), so the same seed gives identical tables
whatever the partitioning or cluster size.
"""
