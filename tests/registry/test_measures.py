"""Measures and interval methods: the registry drives the spec grammar, and each measure's
rules of shape come from its declaration."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from phm.registry.measures import INTERVALS, MEASURES
from phm.spec.models import Measure
from phm.stats import intervals


def test_the_spec_grammar_comes_from_the_registry():
    props = Measure.model_json_schema()["properties"]
    assert props["kind"]["enum"] == list(MEASURES)
    assert props["ci"]["anyOf"][0]["enum"] == list(INTERVALS)
    for name, kind in MEASURES.items():
        unit = {
            "kind": name,
            "unit": "x",
            "denominator_sum": "f_x" if kind.summed_denominator else None,
        }
        assert Measure.model_validate(unit).interval == kind.intervals[0]
        for ci in INTERVALS:
            if ci in kind.intervals:
                assert Measure.model_validate({**unit, "ci": ci}).interval == ci
            else:
                with pytest.raises(ValidationError, match=f"does not fit a {name}"):
                    Measure.model_validate({**unit, "ci": ci})


def test_crude_intervals_are_those_of_the_statistics_module():
    num, den, sq = np.array([3.0, 0.0]), np.array([10.0, 4.0]), np.array([5.0, 0.0])
    lo, hi = INTERVALS["wilson"].crude(num, den, sq, 0.95)
    assert np.allclose((lo, hi), intervals.wilson(num, den, 0.95))
    lo, hi = INTERVALS["poisson"].crude(num, den, sq, 0.95)
    plo, phi = intervals.poisson_exact(num, 0.95)
    assert np.allclose(lo, plo / den) and np.allclose(hi, phi / den)
    assert np.isnan(INTERVALS["none"].crude(num, den, sq, 0.95)[0]).all()
