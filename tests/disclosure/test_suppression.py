"""Small-cell suppression: primary rule, complementary suppression, invariants, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from phm.disclosure import COMPLEMENTARY, PRIMARY, Hierarchy, suppress

NO_HIERARCHY = Hierarchy(geo_parent={}, area_members={})


def make_cells(rows: list[tuple], dims: list[str] = ()) -> pd.DataFrame:
    """rows: (geo_level, geo_code, *dim values, num_persons, den_persons)."""
    cols = ["geo_level", "geo_code", *dims, "num_persons", "den_persons"]
    return pd.DataFrame(rows, columns=cols)


def status(out: pd.DataFrame, dims: list[str] = ()) -> dict[tuple, str | None]:
    """Key -> reason (None when published), keys with None for totals."""
    result = {}
    for _, row in out.iterrows():
        key = (row["geo_level"], row["geo_code"], *(_none(row[d]) for d in dims))
        result[key] = row["suppression_reason"]
        assert row["suppressed"] == (row["suppression_reason"] is not None)
    return result


def _none(value):
    return None if pd.isna(value) else value


# --- an independent, brute-force enumeration of the equations ("groups") ----------------------


def enumerate_groups(cells: pd.DataFrame, dims: list[str], hierarchy: Hierarchy) -> list[set]:
    """Every group (parent row label + child row labels), by a naive scan over all row pairs."""
    rows = [
        (label, r["geo_level"], r["geo_code"], tuple(_none(r[d]) for d in dims))
        for label, r in cells.iterrows()
    ]
    groups = []
    for p_label, p_level, p_code, p_dims in rows:
        # Geography: children whose geographic parent is this cell, with equal dims.
        children = {
            label
            for label, level, code, dvals in rows
            if hierarchy.geo_parent.get((level, code)) == (p_level, p_code) and dvals == p_dims
        }
        if children:
            groups.append({p_label, *children})
        # Custom area: its member municipalities, with equal dims.
        if p_level.startswith("area:"):
            members = set(hierarchy.area_members.get((p_level, p_code), ()))
            children = {
                label
                for label, level, code, dvals in rows
                if level == "municipality" and code in members and dvals == p_dims
            }
            if children:
                groups.append({p_label, *children})
        # Each dimension that this cell totals over.
        for j, value in enumerate(p_dims):
            if value is not None:
                continue
            children = {
                label
                for label, level, code, dvals in rows
                if (level, code) == (p_level, p_code)
                and dvals[j] is not None
                and all(dvals[k] == p_dims[k] for k in range(len(dims)) if k != j)
            }
            if children:
                groups.append({p_label, *children})
    return groups


def unsafe_groups(out: pd.DataFrame, dims: list[str], hierarchy: Hierarchy) -> list[set]:
    suppressed = out["suppressed"]
    return [
        g
        for g in enumerate_groups(out, dims, hierarchy)
        if sum(bool(suppressed[i]) for i in g) == 1
    ]


# --- primary rule -----------------------------------------------------------------------------


def test_primary_rule_on_numerator_and_denominator():
    # Unrelated municipalities (no hierarchy): only the primary rule applies.
    cells = make_cells(
        [
            ("municipality", "11001", 10, 100),  # both >= 5: published
            ("municipality", "11002", 4, 100),  # num 4 < 5: primary
            ("municipality", "11003", 5, 5),  # 5 is enough: published
            ("municipality", "11004", 10, 4),  # den 4 < 5: primary
            ("municipality", "11005", 0, 100),  # zero numerator is safe by default: published
            ("municipality", "11006", 0, 3),  # zero num but den 3 < 5: primary
        ]
    )
    out = suppress(cells, [], NO_HIERARCHY)
    assert out["suppression_reason"].tolist() == [None, PRIMARY, None, PRIMARY, None, PRIMARY]
    assert out["suppressed"].tolist() == [False, True, False, True, False, True]
    assert out["suppressed"].dtype == bool


def test_zero_is_not_safe_when_asked():
    cells = make_cells([("municipality", "11001", 0, 100), ("municipality", "11002", 7, 100)])
    out = suppress(cells, [], NO_HIERARCHY, zero_is_safe=False)
    # 0 < 5 and zero is no longer exempt: primary; 7 stays published.
    assert out["suppression_reason"].tolist() == [PRIMARY, None]


def test_custom_min_count():
    cells = make_cells(
        [
            ("municipality", "11001", 9, 100),  # 9 < 10: primary
            ("municipality", "11002", 10, 100),  # 10 >= 10: published
            ("municipality", "11003", 50, 9),  # den 9 < 10: primary
        ]
    )
    out = suppress(cells, [], NO_HIERARCHY, min_count=10)
    assert out["suppression_reason"].tolist() == [PRIMARY, None, PRIMARY]


# --- complementary suppression ----------------------------------------------------------------

ARR_HIERARCHY = Hierarchy(
    geo_parent={
        ("municipality", "11001"): ("arrondissement", "11000"),
        ("municipality", "11002"): ("arrondissement", "11000"),
        ("municipality", "11003"): ("arrondissement", "11000"),
    },
    area_members={},
)


def test_arrondissement_with_one_small_municipality():
    cells = make_cells(
        [
            ("arrondissement", "11000", 60, 600),
            ("municipality", "11001", 3, 100),  # num 3: primary
            ("municipality", "11002", 20, 200),
            ("municipality", "11003", 37, 300),
        ]
    )
    out = suppress(cells, [], ARR_HIERARCHY)
    # Group {11000, 11001, 11002, 11003} has one suppressed member: 11001 = 11000 - 11002 - 11003.
    # The published child with the smallest den is 11002 (200 < 300): complementary.
    # The arrondissement stays published (two unknowns in one equation).
    assert out["suppression_reason"].tolist() == [None, PRIMARY, COMPLEMENTARY, None]


def test_ties_broken_by_num_then_key():
    cells = make_cells(
        [
            ("arrondissement", "11000", 60, 600),
            ("municipality", "11003", 30, 300),
            ("municipality", "11002", 27, 300),
            ("municipality", "11001", 3, 0),  # den 0: primary
        ]
    )
    out = suppress(cells, [], ARR_HIERARCHY)
    # 11002 and 11003 have the same den 300; 11002 has the smaller num (27 < 30): complementary.
    assert out["suppression_reason"].tolist() == [None, None, COMPLEMENTARY, PRIMARY]

    cells.loc[1, "num_persons"] = 27
    out = suppress(cells, [], ARR_HIERARCHY)
    # Full tie (300, 27) between 11003 and 11002: smallest code 11002 wins.
    assert out["suppression_reason"].tolist() == [None, None, COMPLEMENTARY, PRIMARY]


def test_sex_breakdown():
    dims = ["sex"]
    cells = make_cells(
        [
            ("belgium", "01000", None, 50, 500),  # total over sex
            ("belgium", "01000", "F", 3, 240),  # num 3: primary
            ("belgium", "01000", "M", 47, 260),
        ],
        dims,
    )
    out = suppress(cells, dims, NO_HIERARCHY)
    # F = total - M, so M is suppressed too; the total stays published.
    assert out["suppression_reason"].tolist() == [None, PRIMARY, COMPLEMENTARY]


def test_nan_is_a_total_like_none():
    dims = ["sex"]
    cells = make_cells(
        [
            ("belgium", "01000", np.nan, 50, 500),
            ("belgium", "01000", "F", 3, 240),
            ("belgium", "01000", "M", 47, 260),
        ],
        dims,
    )
    out = suppress(cells, dims, NO_HIERARCHY)
    assert out["suppression_reason"].tolist() == [None, PRIMARY, COMPLEMENTARY]


CASCADE_HIERARCHY = Hierarchy(
    geo_parent={
        ("arrondissement", "11000"): ("province", "10000"),
        ("arrondissement", "12000"): ("province", "10000"),
        ("municipality", "11001"): ("arrondissement", "11000"),
        ("municipality", "11002"): ("arrondissement", "11000"),
        ("municipality", "11003"): ("arrondissement", "11000"),
        ("municipality", "12001"): ("arrondissement", "12000"),
        ("municipality", "12002"): ("arrondissement", "12000"),
    },
    area_members={},
)


def test_cascade_through_the_arrondissement():
    cells = make_cells(
        [
            ("province", "10000", 40, 900),
            ("arrondissement", "11000", 37, 860),
            ("arrondissement", "12000", 3, 40),  # num 3: primary
            ("municipality", "11001", 10, 300),
            ("municipality", "11002", 12, 260),
            ("municipality", "11003", 15, 300),
            ("municipality", "12001", 1, 15),  # primary
            ("municipality", "12002", 2, 25),  # primary
        ]
    )
    out = suppress(cells, [], CASCADE_HIERARCHY)
    # Round 1: group {10000, 11000, 12000} has one suppressed member (12000, recoverable as
    #   10000 - 11000); 11000 is its only published child: complementary.
    #   Group {12000, 12001, 12002} has 3 suppressed members: safe.
    # Round 2: now group {11000, 11001, 11002, 11003} has one suppressed member (the parent
    #   11000 = 11001 + 11002 + 11003); smallest den child is 11002 (260): complementary.
    # The province stays published.
    assert status(out) == {
        ("province", "10000"): None,
        ("arrondissement", "11000"): COMPLEMENTARY,
        ("arrondissement", "12000"): PRIMARY,
        ("municipality", "11001"): None,
        ("municipality", "11002"): COMPLEMENTARY,
        ("municipality", "11003"): None,
        ("municipality", "12001"): PRIMARY,
        ("municipality", "12002"): PRIMARY,
    }
    # 11002 shares no group with a primary cell: it could only come from a second round.
    groups = enumerate_groups(out, [], CASCADE_HIERARCHY)
    primary_labels = set(out.index[out["suppression_reason"] == PRIMARY])
    label_11002 = out.index[out["geo_code"] == "11002"][0]
    assert not any(label_11002 in g and g & primary_labels for g in groups)
    assert unsafe_groups(out, [], CASCADE_HIERARCHY) == []


def test_cascade_across_dimension_and_geography():
    dims = ["sex"]
    h = Hierarchy(
        geo_parent={
            ("municipality", "11001"): ("arrondissement", "11000"),
            ("municipality", "11002"): ("arrondissement", "11000"),
        },
        area_members={},
    )
    cells = make_cells(
        [
            ("arrondissement", "11000", None, 100, 1000),
            ("arrondissement", "11000", "F", 48, 500),
            ("arrondissement", "11000", "M", 52, 500),
            ("municipality", "11001", None, 40, 400),
            ("municipality", "11001", "F", 4, 200),  # primary
            ("municipality", "11001", "M", 36, 200),
            ("municipality", "11002", None, 60, 600),
            ("municipality", "11002", "F", 44, 300),
            ("municipality", "11002", "M", 16, 300),
        ],
        dims,
    )
    out = suppress(cells, dims, h)
    # Groups with 11001 F: sex group of 11001 -> 11001 M is its only published child.
    #   Geo group {11000 F, 11001 F, 11002 F} -> 11002 F is the only published child.
    # Then 11002 F makes the sex group of 11002 unsafe -> 11002 M (only published child);
    #   11001 M / 11002 M make geo group {11000 M, 11001 M, 11002 M} hold two: safe.
    # Every other group now holds 0 or 2 suppressed members; totals and 11000 stay published.
    assert status(out, dims) == {
        ("arrondissement", "11000", None): None,
        ("arrondissement", "11000", "F"): None,
        ("arrondissement", "11000", "M"): None,
        ("municipality", "11001", None): None,
        ("municipality", "11001", "F"): PRIMARY,
        ("municipality", "11001", "M"): COMPLEMENTARY,
        ("municipality", "11002", None): None,
        ("municipality", "11002", "F"): COMPLEMENTARY,
        ("municipality", "11002", "M"): COMPLEMENTARY,
    }
    assert unsafe_groups(out, dims, h) == []


BRUSSELS = Hierarchy(geo_parent={("arrondissement", "21000"): ("region", "04000")}, area_members={})


def test_brussels_arrondissement_suppressed_drags_the_region():
    # The region counts a few persons without a known arrondissement, so values differ.
    cells = make_cells([("region", "04000", 6, 900), ("arrondissement", "21000", 4, 890)])
    out = suppress(cells, [], BRUSSELS)
    # 21000 is the only child of 04000: 21000 = 04000, so the region must go too.
    assert out["suppression_reason"].tolist() == [COMPLEMENTARY, PRIMARY]


def test_brussels_region_suppressed_drags_the_arrondissement():
    cells = make_cells([("region", "04000", 4, 900), ("arrondissement", "21000", 6, 890)])
    out = suppress(cells, [], BRUSSELS)
    # The region is primary; its only child would reveal it: complementary.
    assert out["suppression_reason"].tolist() == [PRIMARY, COMPLEMENTARY]


def test_custom_area():
    h = Hierarchy(geo_parent={}, area_members={("area:pcz", "Z01"): ["11001", "11002"]})
    cells = make_cells(
        [
            ("area:pcz", "Z01", 30, 500),
            ("municipality", "11001", 2, 100),  # primary
            ("municipality", "11002", 28, 400),
            ("municipality", "11003", 3, 100),  # primary, not a member of Z01
        ]
    )
    out = suppress(cells, [], h)
    # Z01 = 11001 + 11002: 11002 is the only other published member. 11003 is in no group.
    assert out["suppression_reason"].tolist() == [None, PRIMARY, COMPLEMENTARY, PRIMARY]


def test_groups_need_their_parent():
    # Without the arrondissement cell there is no equation: nothing complementary.
    cells = make_cells([("municipality", "11001", 3, 100), ("municipality", "11002", 20, 200)])
    out = suppress(cells, [], ARR_HIERARCHY)
    assert out["suppression_reason"].tolist() == [PRIMARY, None]


# --- contract: copy, order, pass-through, validation ------------------------------------------


def test_input_untouched_order_index_and_extra_columns_kept():
    cells = make_cells(
        [
            ("municipality", "11003", 37, 300),
            ("arrondissement", "11000", 60, 600),
            ("municipality", "11001", 3, 100),
            ("municipality", "11002", 20, 200),
        ]
    )
    cells["rate"] = cells["num_persons"] / cells["den_persons"]
    cells.index = [40, 10, 30, 20]
    before = cells.copy()
    out = suppress(cells, [], ARR_HIERARCHY)
    pd.testing.assert_frame_equal(cells, before)
    assert list(out.index) == [40, 10, 30, 20]
    pd.testing.assert_frame_equal(out[before.columns], before)
    assert out["suppression_reason"].tolist() == [None, None, PRIMARY, COMPLEMENTARY]


def test_empty_input():
    out = suppress(make_cells([], ["sex"]), ["sex"], NO_HIERARCHY)
    assert len(out) == 0
    assert {"suppressed", "suppression_reason"} <= set(out.columns)


def test_duplicate_keys_rejected():
    cells = make_cells([("municipality", "11001", 10, 100), ("municipality", "11001", 10, 100)])
    with pytest.raises(ValueError, match="duplicate"):
        suppress(cells, [], NO_HIERARCHY)


def test_missing_column_rejected():
    cells = make_cells([("municipality", "11001", 10, 100)])
    with pytest.raises(ValueError, match="sex"):
        suppress(cells, ["sex"], NO_HIERARCHY)


# --- property test on a synthetic hierarchy ---------------------------------------------------

SYNTH_TREE = {
    # child -> parent
    ("region", "02000"): ("belgium", "01000"),
    ("region", "03000"): ("belgium", "01000"),
    ("region", "04000"): ("belgium", "01000"),
    ("province", "10000"): ("region", "02000"),
    ("province", "50000"): ("region", "03000"),
    ("arrondissement", "11000"): ("province", "10000"),
    ("arrondissement", "12000"): ("province", "10000"),
    ("arrondissement", "51000"): ("province", "50000"),
    ("arrondissement", "21000"): ("region", "04000"),
    ("municipality", "11001"): ("arrondissement", "11000"),
    ("municipality", "11002"): ("arrondissement", "11000"),
    ("municipality", "11003"): ("arrondissement", "11000"),
    ("municipality", "12001"): ("arrondissement", "12000"),
    ("municipality", "12002"): ("arrondissement", "12000"),
    ("municipality", "51001"): ("arrondissement", "51000"),
    ("municipality", "51002"): ("arrondissement", "51000"),
    ("municipality", "21001"): ("arrondissement", "21000"),
    ("municipality", "21002"): ("arrondissement", "21000"),
}
SYNTH_AREAS = {
    ("area:pcz", "Z01"): ["11001", "12001"],
    ("area:pcz", "Z02"): ["11002", "11003", "51001"],
    ("area:pcz", "Z03"): ["21001", "21002"],
}
SYNTH_HIERARCHY = Hierarchy(geo_parent=SYNTH_TREE, area_members=SYNTH_AREAS)
SYNTH_DIMS = ["sex", "age"]
SEXES = [None, "F", "M"]
AGES = [None, "0-17", "18-64", "65+"]


def _ancestors(node):
    while node in SYNTH_TREE:
        node = SYNTH_TREE[node]
        yield node


def synthetic_cells(rng: np.random.Generator) -> pd.DataFrame:
    """Consistent counts: leaves drawn at municipality x sex x age, summed up every hierarchy."""
    scale = rng.choice([3, 10, 40])  # small scales give many primary cells
    totals: dict[tuple, list[int]] = {}
    municipalities = [node for node in SYNTH_TREE if node[0] == "municipality"]
    for muni in municipalities:
        for sex in SEXES[1:]:
            for age in AGES[1:]:
                den = int(rng.poisson(scale))
                num = int(rng.binomial(den, rng.uniform(0.05, 0.6)))
                geos = [muni, *_ancestors(muni)]
                geos += [area for area, members in SYNTH_AREAS.items() if muni[1] in members]
                for geo in geos:
                    for s in (sex, None):
                        for a in (age, None):
                            acc = totals.setdefault((*geo, s, a), [0, 0])
                            acc[0] += num
                            acc[1] += den
    rows = [(*key, num, den) for key, (num, den) in totals.items()]
    cells = make_cells(rows, SYNTH_DIMS)
    cells = cells[rng.uniform(size=len(cells)) > 0.1]  # some cells are not computed/published
    cells["value"] = rng.normal(size=len(cells))  # a pass-through column
    return cells.reset_index(drop=True)


def _keyed(out: pd.DataFrame) -> dict[tuple, str | None]:
    return status(out, SYNTH_DIMS)


@pytest.mark.parametrize("seed", range(20))
def test_random_cells_invariants_and_determinism(seed):
    rng = np.random.default_rng(seed)
    cells = synthetic_cells(rng)
    zero_is_safe = bool(seed % 2)
    out = suppress(cells, SYNTH_DIMS, SYNTH_HIERARCHY, zero_is_safe=zero_is_safe)

    # Every cell below the threshold is suppressed as primary, and only those are primary.
    num, den = cells["num_persons"], cells["den_persons"]
    small = (den < 5) | ((num < 5) & ~((num == 0) & zero_is_safe))
    assert (out["suppression_reason"] == PRIMARY).tolist() == small.tolist()
    assert out.loc[small, "suppressed"].all()
    assert set(out["suppression_reason"].dropna()) <= {PRIMARY, COMPLEMENTARY}

    # No equation is left with exactly one unknown.
    assert unsafe_groups(out, SYNTH_DIMS, SYNTH_HIERARCHY) == []

    # Same cells in another row order (and NaN for totals): same decisions by key.
    shuffled = cells.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    shuffled["age"] = shuffled["age"].astype(object).where(shuffled["age"].notna(), np.nan)
    out2 = suppress(shuffled, SYNTH_DIMS, SYNTH_HIERARCHY, zero_is_safe=zero_is_safe)
    assert _keyed(out2) == _keyed(out)
    # ...and the row order of that call is its own input's.
    pd.testing.assert_frame_equal(out2[shuffled.columns], shuffled)
