"""The Spark passes that execute a resolved plan (:mod:`phm.compile.plan`), in data-flow order.

Each takes ``(spark, warehouse, plan, years)`` (or the frame the previous pass produced) and
reads nothing from the spec catalogue:

- ``columns`` checks the warehouse has every column the plan reads; ``codes`` turns code lists
  into column predicates;
- ``episodes`` chains classic stays into hospital episodes; ``events`` indexes them once for
  every event sequence (index flag, follow-up inside the window, data-end rule);
- ``person_year`` computes every feature in one pass per source table (the aggregates of
  :mod:`phm.registry.aggregates`; list-collecting ones re-read their own rows) and adds the
  event counts: the person-year table;
- ``aggregate`` turns it into indicator cells (all indicators x all breakdowns in one
  grouping-sets pass); ``hospital`` adds observed vs expected per hospital from a risk model;
  both produce the declared ``CELLS`` stage table (:mod:`phm.publish.tables`);
- ``finalise`` applies statistics and disclosure per indicator-period, producing ``RESULTS``
  rows; ``periods`` adds the period labels and the change from the previous period.
"""
