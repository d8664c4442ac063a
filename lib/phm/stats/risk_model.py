"""Binomial logistic regression on grouped data, for hospital-level risk adjustment.

Spark aggregates index stays into covariate patterns (one row per distinct combination of the
risk factors, with ``n`` stays and ``y`` events, a few thousand rows at most) and the model is
fitted here, on the driver. Grouping loses nothing: the binomial log-likelihood of a pattern is
the sum of its stays' Bernoulli log-likelihoods (up to a constant), so the coefficients are
those of the stay-level fit. Each stay's predicted probability then sums to the expected count
of its hospital (indirect standardisation with a model instead of strata).

Fitting is Newton-Raphson (IRLS) with a tiny ridge on the non-intercept coefficients so that
separated patterns (a level with no events) give a large negative coefficient instead of an
endless climb. The intercept is not penalised, which keeps the property that makes the model
usable for O/E ratios: over the fitted data ``Σ n p̂ == Σ y`` exactly (at convergence).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

__all__ = ["DesignSpec", "RiskModel", "design", "encode", "fit_logistic"]

INTERCEPT = "intercept"
UNKNOWN = "unknown"  # the level of a missing categorical value


@dataclass(frozen=True)
class DesignSpec:
    """How to turn patterns into a design matrix, so new rows are encoded like the fitted ones.

    ``levels`` maps each categorical factor to all its levels (sorted, the first is the
    reference and has no column); factors not in ``levels`` enter as one numeric column.
    ``columns`` names the columns of the matrix, ``"intercept"`` first.
    """

    factors: tuple[str, ...]
    levels: Mapping[str, tuple[str, ...]] = field(hash=False)
    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        # Read-only copy: the spec is shared by the fitted model and must not drift.
        frozen = MappingProxyType({k: tuple(v) for k, v in self.levels.items()})
        object.__setattr__(self, "levels", frozen)
        object.__setattr__(self, "factors", tuple(self.factors))
        object.__setattr__(self, "columns", tuple(self.columns))


def _level_order(label: str) -> tuple:
    """Numbers in numeric order (age band 5 before 10), then text; 'unknown' last."""
    try:
        return (0, float(label), "")
    except ValueError:
        return (2 if label == UNKNOWN else 1, 0.0, label)


def _label(v: Any) -> str:
    """Level label of one value; 1 and 1.0 give the same label (Spark turns nullable ints into
    floats, and a model fitted on one must still recognise the other)."""
    if pd.isna(v):
        return UNKNOWN
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _is_boolish(s: pd.Series) -> bool:
    """True for bool columns, including object columns of True/False/None (what a nullable
    Spark boolean becomes in pandas)."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return True
    if s.dtype != object:
        return False
    values = s.dropna()
    return len(values) > 0 and all(isinstance(v, (bool, np.bool_)) for v in values)


def _is_categorical(s: pd.Series, name: str, categorical: Collection[str]) -> bool:
    if name in categorical:
        return True
    if _is_boolish(s):
        return False
    return (
        s.dtype == object
        or isinstance(s.dtype, (pd.StringDtype, pd.CategoricalDtype))
        or pd.api.types.is_string_dtype(s.dtype)
    )


def _numeric(s: pd.Series, name: str) -> np.ndarray:
    """Float values of a numeric or bool factor; missing values count as 0."""
    filled = s.astype(object).where(s.notna(), 0)
    try:
        return filled.to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"factor {name!r} is not numeric or bool; list it as categorical ({exc})"
        ) from None


def _check_columns(patterns: pd.DataFrame, factors: Sequence[str]) -> None:
    missing = [f for f in factors if f not in patterns.columns]
    if missing:
        raise ValueError(f"patterns lack the factor columns {missing}")


def design(
    patterns: pd.DataFrame, factors: Sequence[str], categorical: Collection[str] = ()
) -> tuple[np.ndarray, DesignSpec]:
    """Design matrix of ``patterns`` (intercept first) and the spec to encode new rows alike.

    A factor in ``categorical``, or of object/string/category dtype, is one-hot encoded with
    one column ``"factor=level"`` per level but the first (the reference; numbers in numeric
    order, then text, then ``"unknown"``); a missing value is its own level ``"unknown"``. Bool factors become 0/1 and
    other numerics enter linearly; a missing value counts as 0. Levels depend only on the set of
    values, not on row order, so Spark's non-deterministic ordering cannot change the model.

    >>> df = pd.DataFrame({"sex": ["M", "F", None], "age": [70, 80, 90]})
    >>> X, spec = design(df, ["sex", "age"])
    >>> spec.columns
    ('intercept', 'sex=M', 'sex=unknown', 'age')
    >>> X.tolist()
    [[1.0, 1.0, 0.0, 70.0], [1.0, 0.0, 0.0, 80.0], [1.0, 0.0, 1.0, 90.0]]
    """
    factors = tuple(factors)
    if len(set(factors)) != len(factors):
        raise ValueError(f"duplicate factors in {list(factors)}")
    stray = sorted(set(categorical) - set(factors))
    if stray:
        raise ValueError(f"categorical names {stray} are not among the factors")
    _check_columns(patterns, factors)
    levels: dict[str, tuple[str, ...]] = {}
    columns = [INTERCEPT]
    for f in factors:
        s = patterns[f]
        if _is_categorical(s, f, categorical):
            lv = tuple(sorted(set(s.astype(object).map(_label)), key=_level_order))
            levels[f] = lv
            columns.extend(f"{f}={level}" for level in lv[1:])
        else:
            columns.append(f)
    spec = DesignSpec(factors=factors, levels=levels, columns=tuple(columns))
    return encode(patterns, spec), spec


def encode(patterns: pd.DataFrame, spec: DesignSpec) -> np.ndarray:
    """Design matrix of (possibly new) ``patterns`` with the columns of ``spec``.

    A level not seen when the spec was built gets zeros in all of its factor's columns, i.e.
    it is treated as the reference level.
    """
    _check_columns(patterns, spec.factors)
    X = np.zeros((len(patterns), len(spec.columns)))
    X[:, 0] = 1.0
    j = 1
    for f in spec.factors:
        s = patterns[f]
        if f in spec.levels:
            lv = spec.levels[f]
            labels = s.astype(object).map(_label)
            codes = pd.Categorical(labels, categories=list(lv)).codes  # -1 if unseen
            rows = np.flatnonzero(codes >= 1)
            X[rows, j + codes[rows] - 1] = 1.0
            j += len(lv) - 1
        else:
            X[:, j] = _numeric(s, f)
            j += 1
    return X


@dataclass(frozen=True, eq=False)  # eq=False: arrays have no truth value for ==
class RiskModel:
    """A fitted model. ``coef`` and ``se`` follow ``spec.columns``; a column dropped as
    all-zero or collinear has coefficient 0 and NaN standard error. ``deviance`` is the grouped
    (pattern-level) deviance, unpenalised."""

    spec: DesignSpec
    coef: np.ndarray
    se: np.ndarray
    iterations: int
    converged: bool
    deviance: float

    def predict(self, patterns: pd.DataFrame) -> np.ndarray:
        """Event probability of each row of ``patterns`` (any rows with the factor columns)."""
        return special.expit(encode(patterns, self.spec) @ self.coef)


def _counts(patterns: pd.DataFrame, col: str) -> np.ndarray:
    if col not in patterns.columns:
        raise ValueError(f"patterns lack the column {col!r}")
    try:
        v = pd.to_numeric(patterns[col]).to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        raise ValueError(f"column {col!r} must be numeric") from None
    if not np.isfinite(v).all():
        raise ValueError(f"column {col!r} has missing or infinite values")
    return v


def _independent(X: np.ndarray, tol: float = 1e-10) -> np.ndarray:
    """Indices of the columns kept, in order: a column that is all zero or (numerically) a
    combination of the columns kept before it is dropped. Greedy so the intercept and the
    earlier factors win, which keeps the naming predictable."""
    keep: list[int] = []
    basis = np.empty((X.shape[0], 0))
    for j in range(X.shape[1]):
        col = X[:, j]
        norm = np.linalg.norm(col)
        if norm == 0.0:
            continue
        r = col - basis @ (basis.T @ col)
        r = r - basis @ (basis.T @ r)  # second pass: Gram-Schmidt loses orthogonality
        rn = np.linalg.norm(r)
        if rn > tol * norm:
            keep.append(j)
            basis = np.column_stack([basis, r / rn])
    return np.asarray(keep, dtype=int)


def _loglik(eta: np.ndarray, y: np.ndarray, n: np.ndarray) -> float:
    # Σ y log p + (n - y) log(1 - p) = Σ y η - n log(1 + e^η), stable for any η.
    return float(np.sum(y * eta - n * np.logaddexp(0.0, eta)))


def fit_logistic(
    patterns: pd.DataFrame,
    factors: Sequence[str],
    categorical: Collection[str] = (),
    *,
    trials: str = "n",
    events: str = "y",
    max_iter: int = 50,
    tol: float = 1e-9,
    ridge: float = 1e-8,
) -> RiskModel:
    """Fit ``logit P(event) = X β`` to grouped binomial data (``events`` out of ``trials``).

    The design is :func:`design` of all rows; patterns with 0 trials are then ignored.
    Maximises ``ℓ(β) - ridge/2 Σ_{j>0} β_j²`` by Newton-Raphson, halving a step that lowers
    it, until the largest coefficient change is below ``tol``. The ridge (absolute, in units of
    trials) only matters for separated patterns: a level with no events converges to a
    coefficient around -20 (probability ~1e-9) instead of diverging. Columns that are all zero
    over the fitted rows (a level absent) or collinear with earlier ones are dropped and keep
    coefficient 0. Standard errors come from the inverse of the (penalised) information.

    If no events at all (or only events) are observed the unpenalised intercept has no finite
    optimum: the fit stops at ``max_iter`` with ``converged=False`` and near-0 (or 1)
    probabilities.
    """
    if max_iter < 1 or tol <= 0 or ridge < 0:
        raise ValueError("need max_iter >= 1, tol > 0 and ridge >= 0")
    n = _counts(patterns, trials)
    y = _counts(patterns, events)
    if (n < 0).any() or (y < 0).any():
        raise ValueError(f"{trials!r} and {events!r} must not be negative")
    if (y > n).any():
        bad = int(np.argmax(y > n))
        raise ValueError(
            f"{events!r} exceeds {trials!r} (first at row {bad}: {y[bad]:g} > {n[bad]:g})"
        )
    if n.sum() <= 0:
        raise ValueError(f"no trials: {trials!r} sums to 0, nothing to fit")

    X_all, spec = design(patterns, factors, categorical)
    used = n > 0
    X, n, y = X_all[used], n[used], y[used]
    keep = _independent(X)
    Xk = X[:, keep]
    penal = np.where(keep == 0, 0.0, ridge)  # never the intercept (column 0, always kept)

    def objective(b: np.ndarray) -> float:
        return _loglik(Xk @ b, y, n) - 0.5 * float(np.sum(penal * b * b))

    b = np.zeros(len(keep))
    rate = (y.sum() + 0.5) / (n.sum() + 1.0)  # start at the overall log-odds
    b[0] = math.log(rate / (1.0 - rate))
    obj = objective(b)
    converged = False
    it = 0
    info = np.eye(len(keep))
    for it in range(1, max_iter + 1):
        p = special.expit(Xk @ b)
        w = n * p * (1.0 - p)
        grad = Xk.T @ (y - n * p) - penal * b
        info = (Xk.T * w) @ Xk + np.diag(penal)
        step = _solve(info, grad)
        for _ in range(40):
            new = b + step
            new_obj = objective(new)
            # Rounding slack: near the optimum the objective only moves in its last digits.
            if new_obj >= obj - 1e-12 * (1.0 + abs(obj)):
                break
            step = step / 2.0
        b, obj = new, new_obj
        if np.max(np.abs(step)) < tol:
            converged = True
            break

    p = special.expit(Xk @ b)
    w = n * p * (1.0 - p)
    info = (Xk.T * w) @ Xk + np.diag(penal)
    cov = _inverse(info)
    coef = np.zeros(X.shape[1])
    se = np.full(X.shape[1], np.nan)
    coef[keep] = b
    se[keep] = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return RiskModel(
        spec=spec,
        coef=coef,
        se=se,
        iterations=it,
        converged=converged,
        deviance=_deviance(Xk @ b, y, n),
    )


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:  # singular in floating point despite the ridge
        return np.linalg.lstsq(a, b, rcond=None)[0]


def _inverse(a: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(a)


def _deviance(eta: np.ndarray, y: np.ndarray, n: np.ndarray) -> float:
    """``2 Σ [y log(y / n p) + (n - y) log((n - y) / n (1 - p))]`` with 0 log 0 = 0."""
    log_p = -np.logaddexp(0.0, -eta)
    log_q = -np.logaddexp(0.0, eta)
    saturated = special.xlogy(y, y / n) + special.xlogy(n - y, (n - y) / n)
    fitted = y * log_p + (n - y) * log_q
    return float(2.0 * np.sum(saturated - fitted))
