"""The attacker against a real run: linked indicators that count the same persons (medical
house, GMD and GP contact shares share denominators and complements; 65+ counts; deaths), a
hospital comparison, all levels and breakdowns, both audiences.

Without noise (small cells hidden, nothing else) the attacker pins many hidden counts: the
attack has teeth. With the cell-key method it pins none, and every hidden count keeps every
value a blank cell allows."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from spec_helpers import REPO_SPECS, TEST_SECRET

from phm.compile.plan import build_plan
from phm.data.warehouse import Warehouse
from phm.disclosure import EXACT, PTable, Protection
from phm.disclosure import attack as A
from phm.runs.gate import GateRules
from phm.runs.indicators import run_indicators
from phm.spec import load_catalogue

LINKED = [
    "medical_house_share",
    "gmd_coverage",
    "gp_contact_share",
    "population_65plus_share",
    "polypharmacy_65plus",
    "mortality_per_1000",
    "readmission_unplanned_30d",
]
SAMPLE = 40


@pytest.fixture(scope="module")
def linked_run(spark, small_warehouse, tmp_path_factory):
    root = tmp_path_factory.mktemp("attack") / "wh"
    shutil.copytree(small_warehouse.root, root)
    catalogue = load_catalogue(REPO_SPECS)
    plan = build_plan(catalogue, catalogue.select(LINKED))

    def run(ptable: PTable) -> dict[str, A.System]:
        wh = Warehouse.at(root)
        run_indicators(
            spark,
            wh,
            catalogue,
            ids=LINKED,
            years=[2022],
            protection=Protection(TEST_SECRET, ptable),
            full=True,
            gate=GateRules(enabled=False),  # each table perturbs differently on purpose
        )
        return {
            aud: A.published_system(spark, wh, plan, ptable.max_noise, aud)
            for aud in (A.PUBLIC, A.INTERNAL)
        }

    return run


def _attack(system: A.System, max_noise: int) -> pd.DataFrame:
    # every hospital target, and a sample of the others (each costs two linear programs)
    chosen = A.targets(system)
    hospital = chosen[chosen.geo_level == A.HOSPITAL]
    others = chosen[chosen.geo_level != A.HOSPITAL].sample(SAMPLE, random_state=3)
    out = A.audit(system, max_noise, only=pd.concat([hospital, others]).index)
    assert (out.attack_low <= out.truth).all() and (out.truth <= out.attack_high).all()
    return out


def test_the_attack_pins_hidden_counts_when_nothing_is_perturbed(linked_run):
    systems = linked_run(EXACT)
    for audience, system in systems.items():
        assert len(A.targets(system)) > 500
        out = _attack(system, 0)
        determined = out.attack_low == out.attack_high
        assert determined.mean() > 0.25, audience


def test_cell_key_method_leaves_every_hidden_count_open(linked_run):
    table = PTable()
    for audience, system in linked_run(table).items():
        out = _attack(system, table.max_noise)
        assert (out.geo_level == A.HOSPITAL).any() and (out.geo_level == "municipality").any()
        assert not (out.attack_low == out.attack_high).any(), audience
        protected = A.protected(out)
        assert protected.all(), out[~protected].to_string()
