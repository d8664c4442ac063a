"""phm: population-health indicators from Belgian health-insurance claims, on Spark + Delta.

Data flow: sources (Delta) -> features (person-year) -> indicators -> statistics -> publish.
"""

__version__ = "0.1.0"
