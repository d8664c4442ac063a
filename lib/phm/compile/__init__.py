"""From checked specs to PySpark: plan what to compute, then emit DataFrame code.

In data-flow order:

- ``plan`` decides (no Spark): which features each source pass computes, which events are
  indexed, which grouping sets the aggregation needs; ``requirements`` checks the warehouse has
  every column the plan reads. ``codes`` turns code lists into column predicates.
- ``episodes`` chains classic stays into hospital episodes; ``events`` indexes them once for
  every event sequence (index flag, follow-up inside the window, data-end rule).
- ``person_year`` computes every feature in one pass per source table (PDC included) and adds
  the event counts: the person-year table.
- ``aggregate`` turns it into indicator cells (all indicators x all breakdowns in one
  grouping-sets pass); ``hospital`` adds observed vs expected per hospital from a risk model.
- ``finalise`` applies statistics and disclosure per indicator-period.
"""
