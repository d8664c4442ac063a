"""The attacker's linear system and programs on a hand-made publication (no Spark)."""

from __future__ import annotations

import pandas as pd
import pytest

from phm.disclosure import attack as A

# two municipalities of one arrondissement: 11002 with 5 persons, 11001 with 2
ATOMS = pd.DataFrame({
    "year": [2023, 2023], "nis": ["11002", "11001"], "arr_nis": ["11000", "11000"],
    "prov_nis": ["10000", "10000"], "reg_nis": ["02000", "02000"],
    "n0": [0, 0], "d0": [1, 1], "persons": [5, 2]})
DEFINITION = [A.Indicator("t", min_count=5, numerator_counts_persons=True,
                          denominator_counts_persons=True)]


def results(published: dict[tuple[str, str], int | None]) -> pd.DataFrame:
    rows = []
    for (level, code), den in published.items():
        rows.append({"indicator_id": "t", "period": 2023, "geo_level": level, "geo_code": code,
                     "breakdown_key": "", "suppressed": den is None, "numerator": 0.0,
                     "denominator": den, "numerator_persons": 0, "denominator_persons": den})
    return pd.DataFrame(rows)


PUBLISHED = {("municipality", "11002"): 5, ("municipality", "11001"): None,
             ("arrondissement", "11000"): 7, ("province", "10000"): 7,
             ("region", "02000"): 7, ("belgium", "01000"): 7}


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
