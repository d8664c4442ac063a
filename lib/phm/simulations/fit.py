"""Risk models fitted on Spark without bringing person rows to the driver.

The budget guarantee and capitation what-ifs predict each person-year's cost from risk factors
(age-sex bands, BIM, chronic status, pseudopathologies...), with a model fitted on a reference
population of millions of person-years. Both fits need only small sums over the rows:

- **OLS** (the Dutch and German risk-equalisation models, CMS-HCC): the normal equations need
  ``X'WX``, ``X'Wy``, ``y'Wy``, ``Σw`` and ``Σwy``, accumulated in **one** aggregation; the
  coefficients, their classical standard errors and R² follow on the driver.
- **GLM with a log link** (gamma, or Tweedie for costs with zeros) by iteratively reweighted
  least squares: each iteration is one aggregation of ``X'WX`` and ``X'Wz`` with the working
  weights and response of the current coefficients, computed in Spark expressions.

``X`` is a list of numeric columns (0/1 indicators for categories, built by the caller) with an
intercept added. Weights (e.g. the fraction of the year insured, or bootstrap replicate weights)
multiply each row's contribution. Results match statsmodels' ``WLS`` and ``GLM`` (``var_weights``)
on the same rows (tests).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

INTERCEPT = "intercept"


@dataclass(frozen=True)
class Fit:
    """A fitted model: coefficients in the order of ``names`` (the intercept first)."""

    family: str
    names: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    n: int                # rows used
    weight_sum: float     # Σ w
    r2: float             # OLS: weighted R²; GLM: 1 - deviance / null deviance
    scale: float          # OLS: residual variance; GLM: Pearson dispersion
    iterations: int = 1

    def linear_predictor(self) -> Column:
        """``Σ coef_j x_j`` as a Spark expression (the intercept included)."""
        return _linear_predictor(self.names, self.coef)

    def predict(self) -> Column:
        """The expected value of a row: the linear predictor (OLS), its exponential (log link)."""
        eta = self.linear_predictor()
        return eta if self.family == "ols" else F.exp(eta)


def _linear_predictor(names: tuple[str, ...], coef: np.ndarray) -> Column:
    total = F.lit(float(coef[0]))
    for b, c in zip(coef[1:], names[1:]):
        total = total + F.lit(float(b)) * F.col(c).cast("double")
    return total


def _enough_rows(n: int, k: int) -> None:
    if n <= k:
        raise ValueError(f"risk model: {n} reference rows for {k} coefficients "
                         "(an empty or tiny reference population)")


def _x(columns: list[str]) -> list[Column]:
    return [F.lit(1.0)] + [F.col(c).cast("double") for c in columns]


def _cross_products(x: list[Column], w: Column, z: Column) -> list[Column]:
    """Σ w x_i x_j (upper triangle), Σ w x_i z: the sums of the weighted normal equations."""
    out = []
    for i in range(len(x)):
        for j in range(i, len(x)):
            out.append(F.sum(w * x[i] * x[j]).alias(f"xx_{i}_{j}"))
    out += [F.sum(w * x[i] * z).alias(f"xz_{i}") for i in range(len(x))]
    return out


def _normal_equations(row, k: int) -> tuple[np.ndarray, np.ndarray]:
    xx = np.zeros((k, k))
    for i in range(k):
        for j in range(i, k):
            xx[i, j] = xx[j, i] = row[f"xx_{i}_{j}"]
    xz = np.array([row[f"xz_{i}"] for i in range(k)], dtype=float)
    return xx, xz


def _check(df: DataFrame, y: str, columns: list[str], weight: str | None) -> None:
    missing = [c for c in [y, *columns, *([weight] if weight else [])] if c not in df.columns]
    if missing:
        raise ValueError(f"risk model: no column {', '.join(missing)} in the person-year rows")
    if len(set(columns)) != len(columns) or INTERCEPT in columns:
        raise ValueError(f"risk model: repeated factor or a factor named {INTERCEPT!r}")


def _solve(xx: np.ndarray, xz: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Least squares from the normal equations; a singular design (a factor constant, or a
    category with every level included) is an error naming the factors, not a silent fix."""
    rank = np.linalg.matrix_rank(xx)
    if rank < len(names):
        # the null space shows which factors are collinear
        _, _, vt = np.linalg.svd(xx)
        null = vt[rank:]
        involved = [names[j] for j in range(len(names)) if np.abs(null[:, j]).max() > 1e-8]
        raise ValueError(f"risk model: collinear factors {', '.join(involved)} "
                         "(drop a reference level or a constant factor)")
    return np.linalg.solve(xx, xz)


def fit_ols(df: DataFrame, y: str, columns: list[str], weight: str | None = None) -> Fit:
    """Weighted least squares of ``y`` on ``columns`` and an intercept, in one aggregation."""
    _check(df, y, columns, weight)
    names = (INTERCEPT, *columns)
    x, w, yc = _x(columns), F.col(weight).cast("double") if weight else F.lit(1.0), F.col(y)
    yc = yc.cast("double")
    row = df.agg(*_cross_products(x, w, yc), F.sum(w * yc * yc).alias("yy"),
                 F.sum(w).alias("w"), F.sum(w * yc).alias("wy"),
                 F.count(F.lit(1)).alias("n")).first()
    k = len(names)
    _enough_rows(int(row["n"]), k)
    xx, xy = _normal_equations(row, k)
    coef = _solve(xx, xy, names)
    sse = row["yy"] - 2 * coef @ xy + coef @ xx @ coef   # Σ w (y - Xb)²
    n = int(row["n"])
    scale = sse / (n - k)
    sst = row["yy"] - row["wy"] ** 2 / row["w"]
    se = np.sqrt(scale * np.diag(np.linalg.inv(xx)))
    return Fit("ols", names, coef, se, n, float(row["w"]), float(1 - sse / sst), float(scale))


@dataclass(frozen=True)
class Family:
    """Log-link families: variance function ``V(mu) = mu^power`` (gamma: 2; Tweedie: 1 < p < 2)."""

    name: str
    power: float

    def deviance(self, y: Column, mu: Column) -> Column:
        """Unit deviance d(y, mu), written for Spark (y may be 0 when power < 2)."""
        p = self.power
        if p == 2.0:
            return 2 * ((y - mu) / mu - F.log(y / mu))
        return 2 * (F.pow(y, 2 - p) / ((1 - p) * (2 - p))
                    - y * F.pow(mu, 1 - p) / (1 - p) + F.pow(mu, 2 - p) / (2 - p))


def family(name: str, power: float | None = None) -> Family:
    if name == "gamma":
        return Family("gamma", 2.0)
    if name == "tweedie":
        if power is None or not 1 < power < 2:
            raise ValueError(f"tweedie: variance power must be between 1 and 2, got {power}")
        return Family("tweedie", float(power))
    raise ValueError(f"unknown GLM family {name!r}: gamma or tweedie")


def fit_glm(df: DataFrame, y: str, columns: list[str], fam: Family, weight: str | None = None,
            *, tol: float = 1e-10, max_iter: int = 50) -> Fit:
    """GLM with a log link by IRLS, one aggregation per iteration.

    Working weights ``w · mu^(2-p)`` and working response ``eta + (y - mu) / mu``; starting from
    ``mu = mean(y)`` (the intercept-only fit). Converged when the relative change in deviance is
    below ``tol``. Standard errors use the Pearson dispersion ``Σ w (y-mu)² / mu^p / (n - k)``,
    as statsmodels does by default.
    """
    _check(df, y, columns, weight)
    names = (INTERCEPT, *columns)
    k = len(names)
    yc = F.col(y).cast("double")
    w = F.col(weight).cast("double") if weight else F.lit(1.0)
    stats = df.agg(F.sum(w * yc).alias("wy"), F.sum(w).alias("w"), F.min(yc).alias("min"),
                   F.count(F.lit(1)).alias("n")).first()
    _enough_rows(int(stats["n"]), k)
    if stats["min"] is None or stats["min"] < 0 or (fam.power == 2.0 and stats["min"] <= 0):
        raise ValueError(f"{fam.name} model of {y}: the outcome must be "
                         f"{'positive' if fam.power == 2.0 else 'non-negative'}")
    mean = stats["wy"] / stats["w"]
    coef = np.zeros(k)
    coef[0] = np.log(mean)
    x = _x(columns)
    deviance = None
    for iteration in range(1, max_iter + 1):
        eta = _linear_predictor(names, coef)
        mu = F.exp(eta)
        ww = w * F.pow(mu, 2 - fam.power)
        z = eta + (yc - mu) / mu
        row = df.agg(*_cross_products(x, ww, z),
                     F.sum(w * fam.deviance(yc, mu)).alias("dev")).first()
        xx, xz = _normal_equations(row, k)
        coef = _solve(xx, xz, names)
        previous, deviance = deviance, float(row["dev"])
        if previous is not None and abs(previous - deviance) <= tol * (abs(deviance) + tol):
            break
    else:
        raise RuntimeError(f"{fam.name} model of {y}: no convergence in {max_iter} iterations")
    # final quantities at the converged coefficients
    mu = F.exp(_linear_predictor(names, coef))
    ww = w * F.pow(mu, 2 - fam.power)
    row = df.agg(*_cross_products(x, ww, F.lit(0.0)),
                 F.sum(w * fam.deviance(yc, mu)).alias("dev"),
                 F.sum(w * fam.deviance(yc, F.lit(mean))).alias("null"),
                 F.sum(w * (yc - mu) * (yc - mu) / F.pow(mu, fam.power)).alias("pearson")).first()
    xx, _ = _normal_equations(row, k)
    n = int(stats["n"])
    scale = row["pearson"] / (n - k)
    se = np.sqrt(scale * np.diag(np.linalg.inv(xx)))
    return Fit(fam.name, names, coef, se, n, float(stats["w"]),
               float(1 - row["dev"] / row["null"]), float(scale), iteration)
