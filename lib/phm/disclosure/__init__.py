"""Statistical disclosure control of everything a run publishes: the cell-key method.

- :mod:`phm.disclosure.cell_key`: record keys, cell keys and the perturbation table;
- :mod:`phm.disclosure.protect`: what a published cell shows (perturbed counts, scaled sums,
  small cells hidden with one reason);
- :mod:`phm.disclosure.policy`: the secret and table a run uses;
- :mod:`phm.disclosure.attack`: an attacker that solves everything published as one linear
  system, exactly and by linear programming, to check the protection.

``docs/disclosure.md`` states the method, its parameters and what it protects against.
"""

from phm.disclosure.cell_key import EXACT, PTable, cell_key, record_key
from phm.disclosure.policy import Protection, default_protection
from phm.disclosure.protect import REASON, Published, publish_counts, scale_sum

__all__ = [
    "EXACT",
    "REASON",
    "PTable",
    "Protection",
    "Published",
    "cell_key",
    "default_protection",
    "publish_counts",
    "record_key",
    "scale_sum",
]
