"""What a published cell shows: the hiding rule, perturbed counts, sums scaled with them."""

from __future__ import annotations

import numpy as np
from phm.disclosure import EXACT, PTable, publish_counts, scale_sum
from phm.disclosure.cell_key import KEY_MODULUS
from phm.spec.models import Disclosure


def _key_for(table: PTable, n: int, noise: int) -> float:
    """A key sum whose cell key gives ``noise`` for a count ``n``."""
    support, p = table.distribution(n)
    upper = np.cumsum(p)[list(support).index(noise)]
    return float(int((upper - 1e-6) * KEY_MODULUS))


def test_hiding_rule_on_true_and_perturbed_counts():
    table = PTable()
    # (npers, dpers, numerator noise, denominator noise) -> hidden?
    cases = [
        ((0, 20, 0, 0), False),  # nobody in the numerator: publishable
        ((3, 20, 2, 0), True),  # 3 persons, even if published as 5
        ((6, 20, -2, 0), True),  # 6 persons published as 4: looks small, hidden
        ((6, 20, 0, 0), False),
        ((6, 4, 0, 1), True),  # denominator of 4, published as 5
        ((6, 7, 0, -3), True),  # denominator of 7, published as 4
        ((5, 5, 0, 0), False),
    ]
    npers = np.array([c[0][0] for c in cases])
    dpers = np.array([c[0][1] for c in cases])
    nkey = np.array([_key_for(table, n, e) if n else 0.0 for (n, _, e, _), _ in cases])
    dkey = np.array([_key_for(table, d, e) for (_, d, _, e), _ in cases])
    shown = publish_counts(npers, dpers, nkey, dkey, table, Disclosure(min_count=5))
    assert list(shown.npers) == [c[0][0] + c[0][2] for c in cases]
    assert list(shown.dpers) == [c[0][1] + c[0][3] for c in cases]
    assert list(shown.hidden) == [c[1] for c in cases]


def test_zero_numerator_hidden_when_zero_is_not_safe():
    shown = publish_counts(
        [0, 0], [10, 10], [0, 0], [1, 1], EXACT, Disclosure(min_count=5, zero_is_safe=False)
    )
    assert list(shown.hidden) == [True, True]


def test_scale_sum_counts_and_magnitudes():
    # a proportion's numerator is its person count: replaced by the perturbed count;
    # 12 contacts of 4 persons published as 5 persons -> 15 contacts; euros keep cents,
    # rounded half away from zero like every published figure: 100.5 x 1.25 = 125.625 -> 125.63
    out = scale_sum([7, 12, 100.5], [7, 4, 4], [9, 5, 5], np.array([9 / 7, 5 / 4, 5 / 4]))
    assert list(out) == [9, 15, 125.63]
    # nobody behind a sum: factor 1, the sum (0) unchanged
    assert list(scale_sum([0.0], [0], [0], np.array([1.0]))) == [0.0]


def test_a_sum_is_published_alike_whatever_order_spark_added_it_in():
    # 0.1 + 0.2 + ... : a sum of cents that is whole in one addition order and not in another
    whole, almost = 1360.0, 1360.0000000001
    out = scale_sum([whole, almost], [13, 13], [12, 12], np.array([12 / 13, 12 / 13]))
    assert out[0] == out[1] == 1255.0  # 1360 x 12/13 = 1255.38, integral: to the euro
