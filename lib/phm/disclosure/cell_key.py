"""The cell-key method: the same persons always get the same noise.

Every person carries a secret **record key**, an integer in ``[0, 2^20)`` drawn from a keyed
hash of the person id (:func:`record_key`). The **cell key** of a published count is the sum of
the record keys of the persons it counts, modulo ``2^20``, divided by ``2^20``: a number in
``[0, 1)`` that looks uniform, and that depends only on *which* persons are counted. The count
``n`` is then perturbed by ``noise(n, cell key)``, read from a perturbation table
(:class:`PTable`).

Why this defeats differencing across linked tables: two published counts of the same persons
(the population of a municipality as the denominator of thirty indicators, or a category that
holds everyone) have the same cell key and so the same noise; any other combination of
published counts carries the sum of several independent noises. Subtracting published counts
yields the hidden count plus noise, never the hidden count. This is the method of the ABS
(TableBuilder) and of the 2021 censuses of the ONS and of the European statistical system
(Eurostat's recommendations for the 2021 census; the ptable follows the shape of those).

Record keys are summed as integers in floating point: every partial sum stays below 2^53 up to
8.5 billion persons, so the sum is exact whatever the order Spark adds rows in, and the cell key
is deterministic.

The perturbation table, for a true count ``n`` and noise ``j``:

- ``n = 0`` gets no noise: an empty cell stays empty (and is published as 0);
- ``n >= 1``: ``j`` is an integer in ``[max(-n, -D), D]`` (``D = max_noise``), with probability
  proportional to ``exp(-|j| / scale + theta_n * j)``. For ``n >= D`` the support is symmetric
  and ``theta_n = 0``; below, ``theta_n`` is solved so that the noise has mean 0 anyway
  (perturbed counts are unbiased and never negative);
- the noise is the ``j`` whose cumulative-probability interval holds the cell key: with
  cumulative probabilities ``c_{j-1} <= key < c_j`` (``j`` in increasing order).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

KEY_BITS = 20
KEY_MODULUS = 1 << KEY_BITS


def record_key(person_id, secret: str):
    """Spark column: the secret record key of a person, an integer in [0, 2^20)."""
    from pyspark.sql import functions as F

    return F.pmod(F.xxhash64(F.lit(secret), person_id), F.lit(KEY_MODULUS))


def cell_key(key_sum: np.ndarray | float) -> np.ndarray:
    """Cell key in [0, 1) from the (exact, integral) sum of the counted persons' record keys."""
    total = np.asarray(key_sum, dtype=np.float64)
    return np.mod(np.rint(total), KEY_MODULUS) / KEY_MODULUS


@dataclass(frozen=True)
class PTable:
    """Perturbation table: noise for a count ``n`` and a cell key.

    ``max_noise`` (D) bounds the noise; ``scale`` sets how fast larger noise becomes rarer.
    ``max_noise = 0`` publishes exact counts (for checking definitions, never for publication).
    """

    max_noise: int = 8
    scale: float = 2.0

    def __post_init__(self) -> None:
        if self.max_noise < 0 or self.scale <= 0:
            raise ValueError(f"invalid ptable: max_noise={self.max_noise}, scale={self.scale}")

    def distribution(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Noise values and their probabilities for a true count ``n`` (mean 0)."""
        n = int(n)
        if n <= 0 or self.max_noise == 0:
            return np.array([0]), np.array([1.0])
        low = -min(n, self.max_noise)
        support = np.arange(low, self.max_noise + 1)
        base = -np.abs(support) / self.scale
        theta = 0.0 if -low == self.max_noise else _zero_mean_tilt(support, base)
        weights = np.exp(base + theta * support)
        return support, weights / weights.sum()

    @cached_property
    def _cdfs(self) -> list[np.ndarray]:
        """Cumulative probabilities for n = 0..D (n >= D share the last one)."""
        return [np.cumsum(self.distribution(n)[1]) for n in range(self.max_noise + 1)]

    def noise(self, counts: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """Integer noise for true ``counts`` (integers >= 0) and cell ``keys`` in [0, 1)."""
        counts = np.asarray(counts, dtype=np.int64)
        keys = np.asarray(keys, dtype=np.float64)
        out = np.zeros(len(counts), dtype=np.int64)
        if self.max_noise == 0:
            return out
        cap = np.minimum(counts, self.max_noise)
        for n in range(1, self.max_noise + 1):
            rows = np.flatnonzero(cap == n)
            if len(rows):
                cdf = self._cdfs[n]
                index = np.searchsorted(cdf, keys[rows], side="right")
                out[rows] = np.minimum(index, len(cdf) - 1) - min(n, self.max_noise)
        return out

    def perturb(self, counts: np.ndarray, keys: np.ndarray) -> np.ndarray:
        counts = np.asarray(counts, dtype=np.int64)
        return counts + self.noise(counts, keys)

    def table(self, up_to: int | None = None) -> pd.DataFrame:
        """The table as documented: one row per (count, noise) with its probability."""
        rows = []
        for n in range(1, (up_to or self.max_noise + 1) + 1):
            support, p = self.distribution(n)
            rows += [
                {"count": n, "noise": int(j), "probability": float(q)} for j, q in zip(support, p)
            ]
        return pd.DataFrame(rows)

    def variance(self, n: int) -> float:
        support, p = self.distribution(n)
        return float((p * support**2).sum())


def _zero_mean_tilt(support: np.ndarray, base: np.ndarray) -> float:
    """theta such that sum(j exp(base_j + theta j)) = 0 (the mean is increasing in theta)."""
    from scipy.optimize import brentq

    def mean(theta: float) -> float:
        w = np.exp(base + theta * support - np.max(base + theta * support))
        return float((w * support).sum() / w.sum())

    return float(brentq(mean, -50.0, 50.0, xtol=1e-14))


EXACT = PTable(max_noise=0)
