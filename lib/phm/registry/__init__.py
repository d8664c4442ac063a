"""Registries: one class per kind of thing a spec can name, declaring its shape and behaviour.

A kind (a feature aggregate such as ``count`` or ``pdc``, a source table such as ``pharmacy``)
is one class: what a spec must give with it (checked by the spec models), how it is described
(``phm explain``) and what it computes (the Spark expression of the passes). The spec models,
the planner and the passes all ask the registry instead of switching on strings, so adding a
kind is one new class plus its tests (docs/extending.md), as sqlglot does for expressions.

- ``aggregates``: feature aggregates (count, sum, count_distinct, any, max, pdc);
- ``measures``: measure kinds (proportion, rate, mean, ratio) and interval methods;
- ``sources``: source tables as specs see them (code systems, dates, per-code grain, roles);
- ``geography``: publication levels, finest first, each nested in the next;
- ``disclosure``: the hiding rules of disclosure control.

Importing a registry loads no Spark: behaviour methods import pyspark when called, so the spec
checker and the planner stay pure Python.
"""
