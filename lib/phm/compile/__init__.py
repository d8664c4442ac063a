"""From checked specs to PySpark: plan what to compute, then emit DataFrame code.

``plan`` decides (no Spark): which features each source pass computes, which grouping sets the
aggregation needs. ``codes`` turns code lists into column predicates. ``person_year`` computes
every feature in one pass per source table and assembles the person-year table.
``aggregate`` turns it into indicator cells (all indicators x all breakdowns in one
grouping-sets pass), and ``finalise`` applies statistics and disclosure per indicator-period.
"""
