"""Counter-based random numbers as Spark column expressions.

``F.rand`` depends on partitioning; a hash of (seed, stream name, keys) does not, so a seed
reproduces the same warehouse on a laptop and on a cluster. 53 bits of xxhash64 give a double
in [0, 1).
"""

from __future__ import annotations

import math

from pyspark.sql import Column
from pyspark.sql import functions as F

_MASK53 = (1 << 53) - 1
_SCALE = float(1 << 53)


def uniform(seed: int, stream: str, *keys: Column | str) -> Column:
    """U[0,1) that depends only on (seed, stream, keys)."""
    cols = [F.col(k) if isinstance(k, str) else k for k in keys]
    h = F.xxhash64(F.lit(seed), F.lit(stream), *cols)
    return h.bitwiseAND(F.lit(_MASK53)).cast("double") / F.lit(_SCALE)


def normal(seed: int, stream: str, *keys: Column | str) -> Column:
    """Standard normal by Box-Muller on two independent uniforms."""
    u1 = uniform(seed, stream + ".n1", *keys)
    u2 = uniform(seed, stream + ".n2", *keys)
    return F.sqrt(-2.0 * F.log(F.lit(1.0) - u1)) * F.cos(F.lit(2 * math.pi) * u2)


def geometric(mean: Column, u: Column) -> Column:
    """Count with P(N >= k) = p^k, p = mean / (1 + mean): overdispersed like a NB(1) count."""
    p = mean / (F.lit(1.0) + mean)
    return F.when(mean <= 0, F.lit(0)).otherwise(
        F.floor(F.log(F.lit(1.0) - u) / F.log(p)).cast("int")
    )


def logistic(x: Column) -> Column:
    return F.lit(1.0) / (F.lit(1.0) + F.exp(-x))


def choice(u: Column, options: list[tuple[str, float]]) -> Column:
    """Pick a label with the given probabilities (they are normalised) from one uniform."""
    total = sum(p for _, p in options)
    expr = None
    acc = 0.0
    for label, p in options[:-1]:
        acc += p / total
        expr = F.when(u < acc, F.lit(label)) if expr is None else expr.when(u < acc, F.lit(label))
    last = F.lit(options[-1][0])
    return last if expr is None else expr.otherwise(last)
