"""The attacker's linear system and programs on a hand-made publication (no Spark)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from scipy.optimize import linprog

from phm.disclosure import attack as A

# two municipalities of one arrondissement: 11002 with 5 persons, 11001 with 2
ATOMS = pd.DataFrame(
    {
        "year": [2023, 2023],
        "nis": ["11002", "11001"],
        "arr_nis": ["11000", "11000"],
        "prov_nis": ["10000", "10000"],
        "reg_nis": ["02000", "02000"],
        "n0": [0, 0],
        "d0": [1, 1],
        "persons": [5, 2],
    }
)
DEFINITION = [
    A.Indicator("t", min_count=5, numerator_counts_persons=True, denominator_counts_persons=True)
]


def results(published: dict[tuple[str, str], int | None]) -> pd.DataFrame:
    rows = []
    for (level, code), den in published.items():
        rows.append(
            {
                "indicator_id": "t",
                "period": 2023,
                "geo_level": level,
                "geo_code": code,
                "breakdown_key": "",
                "suppressed": den is None,
                "numerator": 0.0,
                "denominator": den,
                "numerator_persons": 0,
                "denominator_persons": den,
            }
        )
    return pd.DataFrame(rows)


PUBLISHED = {
    ("municipality", "11002"): 5,
    ("municipality", "11001"): None,
    ("arrondissement", "11000"): 7,
    ("province", "10000"): 7,
    ("region", "02000"): 7,
    ("belgium", "01000"): 7,
}


def _target(system: A.System) -> int:
    found = A.targets(system)
    assert list(zip(found.geo_code, found.side, found.truth)) == [("11001", "d", 2)]
    return int(found.index[0])


@pytest.mark.parametrize("audience", [A.PUBLIC, A.INTERNAL])
def test_exact_counts_give_the_hidden_one_away(audience):
    system = A.linear_system(ATOMS, results(PUBLISHED), DEFINITION, 0, audience)
    # every count is the sum of the atoms it counts
    assert list(system.counts.truth) == [0, 0, 0, 0, 0, 0, 5, 2, 7, 7, 7, 7]
    found = A.Attacker(system, 2023, 0).interval(_target(system))
    assert (found.low, found.high) == (2, 2)


def test_noise_bounds_leave_the_hidden_count_open():
    # D = 1: 11002 in [5, 6] (published, so at least 5), the arrondissement in [6, 8]:
    # 11001 = arrondissement - 11002 in [0, 3]
    system = A.linear_system(ATOMS, results(PUBLISHED), DEFINITION, 1)
    found = A.Attacker(system, 2023, 1).interval(_target(system))
    assert (found.low, found.high) == (0, 3)
    frame = pd.DataFrame({"attack_low": [0, 2], "attack_high": [3, 4], "min_count": [5, 5]})
    assert list(A.protected(frame)) == [False, False]  # 4 or 1 ruled out
    frame = pd.DataFrame({"attack_low": [0, 1], "attack_high": [4, 6], "min_count": [5, 5]})
    assert list(A.protected(frame)) == [True, True]


def _random_system(seed: int, max_noise: int) -> A.System:
    """Overlapping counts of random atoms, published with noise within +-D, some hidden."""
    rng = np.random.default_rng(seed)
    n_atoms, n_counts = 60, 150
    persons = rng.integers(1, 4, n_atoms)
    matrix = sparse.random(
        n_counts, n_atoms, density=0.08, random_state=seed, data_rvs=np.ones, format="csr"
    )
    truth = matrix @ persons
    published = truth + rng.integers(-max_noise, max_noise + 1, n_counts)
    published = np.where(truth == 0, 0, np.maximum(published, 0))
    hidden = (truth > 0) & ((truth < 5) | (published < 5))
    low = np.where(published == 0, 0, np.maximum(published - max_noise, 5))
    counts = pd.DataFrame(
        {
            "period": 2023,
            "side": np.where(np.arange(n_counts) % 2, "n", "d"),
            "hidden": hidden,
            "low": low.astype(float),
            "high": (published + max_noise).astype(float),
            "min_count": 5,
            "truth": truth.astype(np.int64),
        }
    )
    atoms = pd.DataFrame({"year": 2023, "persons": persons})
    return A.System(atoms, counts, matrix)


def _whole_program(system: A.System, target: int, max_noise: int) -> tuple[int, int]:
    """The same bounds from one linear program over every atom and every row at once."""
    c = system.counts
    small = c.hidden & (c.side == "n")
    low = np.where(small, 0, np.where(c.hidden, -np.inf, c.low))
    high = np.where(small, 4 + max_noise, np.where(c.hidden, np.inf, c.high))
    a = system.matrix
    up, down = np.isfinite(high), np.isfinite(low)
    a_ub = sparse.vstack([a[np.flatnonzero(up)], -a[np.flatnonzero(down)]])
    b_ub = np.concatenate([high[up], -low[down]])
    cost = a.getrow(target).toarray().ravel()
    lo = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs").fun
    hi = -linprog(-cost, A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs").fun
    return int(np.ceil(lo - 1e-6)), min(int(np.floor(hi + 1e-6)), 4 + max_noise)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_column_generation_finds_the_bounds_of_the_whole_program(seed):
    max_noise = 2
    system = _random_system(seed, max_noise)
    attacker = A.Attacker(system, 2023, max_noise)
    attacker.ROUND = 2  # many rounds: atoms join the program a few at a time
    chosen = A.targets(system)
    found = [attacker.interval(int(t)) for t in chosen.index]
    expected = [_whole_program(system, int(t), max_noise) for t in chosen.index]
    assert [(f.low, f.high) for f in found] == expected
    assert len({e for e in expected}) > 1  # not one trivial interval everywhere
