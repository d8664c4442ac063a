"""From checked specs to a resolved plan: what to compute, in how many passes. Pure Python.

- ``plan`` resolves the catalogue into a self-contained, serialisable :class:`~phm.compile.plan.Plan`:
  which features each source pass computes, which events are indexed, which grouping sets the
  aggregation needs, and every code list, age scheme, area membership, variable kind and source
  column the passes use;
- ``requirements`` finds the periods a plan cannot compute (look-backs before the data, seasons
  after it);
- ``explain`` says the plan in words (``phm explain``).

The Spark passes that execute a plan are in :mod:`phm.execute`; they never see the catalogue.
"""
