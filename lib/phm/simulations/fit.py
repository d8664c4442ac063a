"""Risk models fitted from the sums of risk patterns, never from person rows on the driver.

A risk-equalisation model (the Dutch and German ones, CMS-HCC) has categorical factors and
small counts: millions of person-years share a few hundred to a few thousand distinct rows of
the design matrix, their **risk patterns**. Both fits need only five sums per pattern, which
one Spark aggregation produces (:func:`pattern_sums`): the rows ``n``, ``Σw``, ``Σwy``,
``Σwy²`` and ``Σw·c(y)`` (``c = y^(2-p)`` for Tweedie, ``log y`` for gamma: the part of the
deviance that does not depend on the fit). The fits then run on the driver over the patterns:

- **OLS**: ``X'WX = Σ_p Σw_p x_p x_p'``, ``X'Wy = Σ_p Σwy_p x_p``, ``y'Wy = Σ_p Σwy²_p``;
  coefficients, classical standard errors, weighted R².
- **GLM with a log link** (gamma, or Tweedie for costs with zeros) by iteratively reweighted
  least squares: within a pattern ``μ`` is constant, so the working weights sum to
  ``μ^(2-p)·Σw`` and the working response to ``μ^(2-p)·(η·Σw + (Σwy − μ·Σw)/μ)``; the
  deviance and Pearson statistic are also functions of the sums.

These are the same numbers as a row-by-row fit (the tests compare with statsmodels' ``WLS``
and ``GLM`` with ``var_weights``), and each bootstrap replicate is a refit over the same
patterns with resampled sums (:mod:`phm.simulations.bootstrap`). More than
:data:`MAX_PATTERNS` patterns by pilot (a continuous factor) is refused: band the factor.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

INTERCEPT = "intercept"
MAX_PATTERNS = 200_000  # rows of the sums: patterns x (pilots + reference)
SUMS = ("n", "sw", "swy", "swyy", "swc")


@dataclass(frozen=True)
class Family:
    """``ols``, or a log-link family with variance ``V(mu) = mu^power`` (gamma: 2; Tweedie:
    1 < p < 2)."""

    name: str
    power: float | None = None

    def contribution(self, y: Column) -> Column:
        """``c(y)``, the part of the unit deviance that depends on ``y`` alone."""
        if self.power is None:
            return F.lit(0.0)
        if self.power == 2.0:
            return F.log(y)
        return F.pow(y, 2 - self.power)

    def deviance(self, sw, swy, swc, mu) -> float:
        """``Σ w d(y, mu)`` over patterns from their sums (``mu`` per pattern)."""
        p = self.power
        if p == 2.0:
            return float(2 * np.sum((swy - mu * sw) / mu - (swc - sw * np.log(mu))))
        return float(
            2
            * np.sum(
                swc / ((1 - p) * (2 - p))
                - swy * mu ** (1 - p) / (1 - p)
                + sw * mu ** (2 - p) / (2 - p)
            )
        )


OLS = Family("ols")


def family(name: str, power: float | None = None) -> Family:
    if name == "ols":
        return OLS
    if name == "gamma":
        return Family("gamma", 2.0)
    if name == "tweedie":
        if power is None or not 1 < power < 2:
            raise ValueError(f"tweedie: variance power must be between 1 and 2, got {power}")
        return Family("tweedie", float(power))
    raise ValueError(f"unknown model family {name!r}: ols, gamma or tweedie")


@dataclass(frozen=True)
class Patterns:
    """The sums of the rows sharing each design row ``x`` (intercept column first)."""

    x: np.ndarray  # m × k
    n: np.ndarray  # rows
    sw: np.ndarray  # Σ w
    swy: np.ndarray  # Σ w y
    swyy: np.ndarray  # Σ w y²
    swc: np.ndarray  # Σ w c(y)
    min_y: float  # the smallest outcome (a gamma model needs y > 0)

    keys: np.ndarray | None = None  # a key per pattern, when built with one

    @classmethod
    def of(cls, frame: pd.DataFrame, columns: list[str], key: str | None = None) -> Patterns:
        """From rows of :func:`pattern_sums`, the rows of one pattern added up. Patterns are
        told apart by ``key`` when given (a hash of the design row, one per pattern: checked),
        else by the design row itself."""
        by = [key] if key else list(columns)
        grouped = (
            frame.groupby(by, sort=True, dropna=False)
            .agg(
                **{s: (s, "sum") for s in SUMS},
                min_y=("min_y", "min"),
                **{c: (c, "first") for c in (columns if key else [])},
            )
            .reset_index()
        )
        if key and len(grouped) != len(frame.drop_duplicates(list(columns))):
            raise ValueError("risk patterns: two design rows share a pattern key")
        x = np.column_stack(
            [
                np.ones(len(grouped)),
                grouped[list(columns)].to_numpy(float).reshape(len(grouped), -1),
            ]
        )
        return cls(
            x,
            *(grouped[s].to_numpy(float) for s in SUMS),
            float(grouped.min_y.min()) if len(grouped) else np.inf,
            grouped[key].to_numpy() if key else None,
        )

    def resampled(self, sw: np.ndarray, swy: np.ndarray, swc: np.ndarray) -> Patterns:
        """The same patterns with a bootstrap replicate's sums (``Σwy²`` is not resampled:
        only the standard errors need it, and replicates need none)."""
        return replace(self, sw=sw, swy=swy, swc=swc, swyy=np.full(len(sw), np.nan))


def pattern_sums(
    df: DataFrame,
    y: str,
    columns: list[str],
    fam: Family,
    weight: str | None = None,
    by: tuple[str, ...] = (),
    extra: dict[str, Column] | None = None,
) -> pd.DataFrame:
    """One aggregation: per ``by`` group and distinct ``columns``, the :data:`SUMS`, ``min_y``
    and the ``extra`` aggregates. Refused beyond :data:`MAX_PATTERNS` rows (a national model
    has a few thousand patterns, times the pilots)."""
    _check(df, y, columns, weight)
    yc, w = F.col(y).cast("double"), F.col(weight).cast("double") if weight else F.lit(1.0)
    sums = df.groupBy(*by, *[F.col(c).cast("double").alias(c) for c in columns]).agg(
        F.count(F.lit(1)).alias("n"),
        F.sum(w).alias("sw"),
        F.sum(w * yc).alias("swy"),
        F.sum(w * yc * yc).alias("swyy"),
        F.sum(w * fam.contribution(yc)).alias("swc"),
        F.min(yc).alias("min_y"),
        *[e.alias(k) for k, e in (extra or {}).items()],
    )
    frame = sums.limit(MAX_PATTERNS + 1).toPandas()
    if len(frame) > MAX_PATTERNS:
        raise ValueError(
            f"risk model: more than {MAX_PATTERNS:,} distinct risk patterns "
            f"by group ({', '.join(columns)}): band the numeric factors"
        )
    return frame


@dataclass(frozen=True)
class Fit:
    """A fitted model: coefficients in the order of ``names`` (the intercept first)."""

    family: str
    names: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    n: int  # rows used
    weight_sum: float  # Σ w
    r2: float  # OLS: weighted R²; GLM: 1 - deviance / null deviance
    scale: float  # OLS: residual variance; GLM: Pearson dispersion
    iterations: int = 1

    def predict_x(self, x: np.ndarray) -> np.ndarray:
        """Expected values of design rows ``x`` (intercept column first)."""
        eta = x @ self.coef
        return eta if self.family == "ols" else np.exp(eta)

    def predict(self) -> Column:
        """The expected value of a row as a Spark expression of its model columns."""
        eta = F.lit(float(self.coef[0]))
        for b, c in zip(self.coef[1:], self.names[1:]):
            eta = eta + F.lit(float(b)) * F.col(c).cast("double")
        return eta if self.family == "ols" else F.exp(eta)


def _check(df: DataFrame, y: str, columns: list[str], weight: str | None) -> None:
    missing = [c for c in [y, *columns, *([weight] if weight else [])] if c not in df.columns]
    if missing:
        raise ValueError(f"risk model: no column {', '.join(missing)} in the person-year rows")
    if len(set(columns)) != len(columns) or INTERCEPT in columns:
        raise ValueError(f"risk model: repeated factor or a factor named {INTERCEPT!r}")


def _enough_rows(n: float, k: int) -> None:
    if n <= k:
        raise ValueError(
            f"risk model: {int(n)} reference rows for {k} coefficients "
            "(an empty or tiny reference population)"
        )


def _solve(xx: np.ndarray, xz: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Least squares from the normal equations; a singular design (a factor constant, or a
    category with every level included) is an error naming the factors, not a silent fix."""
    rank = np.linalg.matrix_rank(xx)
    if rank < len(names):
        # the null space shows which factors are collinear
        _, _, vt = np.linalg.svd(xx)
        null = vt[rank:]
        involved = [names[j] for j in range(len(names)) if np.abs(null[:, j]).max() > 1e-8]
        raise ValueError(
            f"risk model: collinear factors {', '.join(involved)} "
            "(drop a reference level or a constant factor)"
        )
    return np.linalg.solve(xx, xz)


def _gram(p: Patterns, weights: np.ndarray) -> np.ndarray:
    return (p.x * weights[:, None]).T @ p.x


def fit(
    p: Patterns,
    names: tuple[str, ...],
    fam: Family,
    *,
    start: np.ndarray | None = None,
    standard_errors: bool = True,
) -> Fit:
    """The model ``fam`` of the patterns' outcome on their design rows."""
    if len(names) != p.x.shape[1]:
        raise ValueError(f"risk model: {len(names)} names for {p.x.shape[1]} columns")
    _enough_rows(p.n.sum(), len(names))
    if fam.power is None:
        return _ols(p, names, standard_errors)
    return _glm(p, names, fam, start, standard_errors)


def _ols(p: Patterns, names: tuple[str, ...], standard_errors: bool) -> Fit:
    xx, xy = _gram(p, p.sw), p.x.T @ p.swy
    coef = _solve(xx, xy, names)
    n, k, w = float(p.n.sum()), len(names), float(p.sw.sum())
    se, r2, scale = np.full(k, np.nan), np.nan, np.nan
    if standard_errors:
        yy = float(p.swyy.sum())
        sse = yy - 2 * coef @ xy + coef @ xx @ coef  # Σ w (y - Xb)²
        scale = sse / (n - k)
        sst = yy - float(p.swy.sum()) ** 2 / w
        se = np.sqrt(scale * np.diag(np.linalg.inv(xx)))
        r2 = 1 - sse / sst
    return Fit("ols", names, coef, se, int(n), w, float(r2), float(scale))


def _glm(
    p: Patterns,
    names: tuple[str, ...],
    fam: Family,
    start: np.ndarray | None,
    standard_errors: bool,
    tol: float = 1e-10,
    max_iter: int = 50,
) -> Fit:
    """IRLS with a log link: working weights ``w·mu^(2-p)``, working response
    ``eta + (y - mu)/mu``, from ``mu = mean(y)`` (or ``start``); converged when the relative
    change of the deviance is below ``tol``. Standard errors use the Pearson dispersion
    ``Σ w (y-mu)² / mu^p / (n - k)``, as statsmodels does by default."""
    if p.min_y < 0 or (fam.power == 2.0 and p.min_y <= 0):
        raise ValueError(
            f"{fam.name} model: the outcome must be "
            f"{'positive' if fam.power == 2.0 else 'non-negative'}"
        )
    k, q = len(names), 2 - fam.power
    mean = p.swy.sum() / p.sw.sum()
    coef = np.zeros(k) if start is None else np.asarray(start, float).copy()
    if start is None:
        coef[0] = np.log(mean)
    deviance = None
    for iteration in range(1, max_iter + 1):
        eta = p.x @ coef
        mu = np.exp(eta)
        xx = _gram(p, p.sw * mu**q)
        xz = p.x.T @ (mu**q * (eta * p.sw + (p.swy - mu * p.sw) / mu))
        coef = _solve(xx, xz, names)
        previous, deviance = deviance, fam.deviance(p.sw, p.swy, p.swc, mu)
        if previous is not None and abs(previous - deviance) <= tol * (abs(deviance) + tol):
            break
    else:
        raise RuntimeError(f"{fam.name} model: no convergence in {max_iter} iterations")
    n, w = float(p.n.sum()), float(p.sw.sum())
    se, r2, scale = np.full(k, np.nan), np.nan, np.nan
    if standard_errors:
        mu = np.exp(p.x @ coef)
        pearson = np.sum((p.swyy - 2 * mu * p.swy + mu * mu * p.sw) / mu**fam.power)
        scale = pearson / (n - k)
        se = np.sqrt(scale * np.diag(np.linalg.inv(_gram(p, p.sw * mu**q))))
        null = fam.deviance(p.sw, p.swy, p.swc, np.full(len(mu), mean))
        r2 = 1 - fam.deviance(p.sw, p.swy, p.swc, mu) / null
    return Fit(fam.name, names, coef, se, int(n), w, float(r2), float(scale), iteration)
