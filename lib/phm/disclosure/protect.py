"""What a published cell shows: perturbed counts, magnitudes scaled with them, small cells hidden.

Pure numpy, applied cell by cell (no cell depends on another: there is no complementary
suppression to iterate, so it runs anywhere, in any order, on any partition of the cells).

A cell has two person counts, each with the sum of its persons' record keys:

- ``npers`` / ``nkey``: the persons behind the numerator;
- ``dpers`` / ``dkey``: the persons behind the denominator.

Rules, for a cell of an indicator with minimum count ``m`` (IMA: 5):

1. Each person count is perturbed with its own cell key (:class:`~phm.disclosure.cell_key.PTable`).
2. The cell is **hidden** when the denominator has fewer than ``m`` persons, true or perturbed,
   or when the numerator has between 1 and ``m - 1`` persons, true or perturbed (0 persons is
   publishable when ``zero_is_safe``; 0 stays 0 under perturbation). A hidden cell shows no
   number at all, and one single reason, whatever made it small.
3. A quantity that *is* a person count (a proportion's numerator and denominator, the
   denominator of a rate) is published as the perturbed count. Any other sum (events, stays,
   euros, DDD, squares for variances) is multiplied by the relative perturbation of the persons
   behind it, ``perturbed / true``: a sum over ``n`` persons moves as if the noise added or
   removed persons of average value. Integral sums are rounded to integers, others to 1e-2.
4. A numerator that counts a subset of the denominator's persons never exceeds it:
   ``numerator <= denominator`` after perturbation for proportions.

Every other published figure (values, intervals, standardised values, expected counts, funnel
limits) is computed from, or scaled with, these published counts by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from phm.disclosure.cell_key import PTable, cell_key
from phm.registry import disclosure as hiding
from phm.stats.rounding import round_half_away

REASON = "small_count"  # the only reason published: no primary/complementary distinction


@dataclass(frozen=True)
class Published:
    """Published person counts, hidden flags, and the factors that scale magnitudes."""

    npers: np.ndarray
    dpers: np.ndarray
    hidden: np.ndarray
    num_factor: np.ndarray
    den_factor: np.ndarray


def publish_counts(
    npers, dpers, nkey, dkey, ptable: PTable, settings: hiding.Settings
) -> Published:
    """Perturb the person counts and hide the cells any hiding rule hides
    (:mod:`phm.registry.disclosure`); ``settings`` is the spec's ``disclosure`` block
    (:class:`phm.spec.models.Disclosure`)."""
    npers_true = np.rint(np.asarray(npers, dtype=float)).astype(np.int64)
    dpers_true = np.rint(np.asarray(dpers, dtype=float)).astype(np.int64)
    npers_pub = ptable.perturb(npers_true, cell_key(nkey))
    dpers_pub = ptable.perturb(dpers_true, cell_key(dkey))
    hidden = hiding.hidden(hiding.Counts(npers_true, npers_pub, dpers_true, dpers_pub), settings)
    return Published(
        npers_pub, dpers_pub, hidden, _factor(npers_true, npers_pub), _factor(dpers_true, dpers_pub)
    )


def scale_sum(values, persons, persons_pub, factor) -> np.ndarray:
    """A published sum: the person count itself where the sum counts persons, else the sum
    scaled by its persons' relative perturbation (integral sums stay integral). The true sum is
    first rounded to 6 decimals: Spark adds doubles in an order that depends on the plan and the
    partitioning, and a sum of cents may come out as 1360.0000000001 one time and 1360.0 the
    next, which would decide between an integral and a cent rounding."""
    values = round_half_away(np.asarray(values, dtype=float), 6)
    is_count = values == np.asarray(persons, dtype=float)
    scaled = values * factor
    integral = values == np.round(values)
    scaled = np.where(integral, round_half_away(scaled, 0), round_half_away(scaled, 2))
    return np.where(is_count, np.asarray(persons_pub, dtype=float), scaled)


def _factor(true: np.ndarray, published: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(true > 0, published / np.maximum(true, 1), 1.0)
