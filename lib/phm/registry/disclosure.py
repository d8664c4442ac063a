"""Hiding rules of disclosure control: when a published cell shows no number at all.

Each rule is one :class:`HidingRule` subclass, registered by being defined. It reads the cell's
true and perturbed person counts (numerator and denominator, :class:`Counts`) and the
indicator's disclosure settings (the spec's ``disclosure`` block: ``min_count``,
``zero_is_safe``, and whatever a new rule adds there) and says which cells it hides. A cell is
hidden when any rule hides it, and shows one single reason whatever the rule
(:data:`phm.disclosure.protect.REASON`), so a blank cell says nothing about why.

A new rule must keep every hidden count unrecoverable from what is published:
``tests/disclosure/test_attack.py`` attacks the whole published catalogue, and the attacker
(:mod:`phm.disclosure.attack`) must be told the new rule (docs/extending.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np

RULES: dict[str, HidingRule] = {}


class Settings(Protocol):
    """What a rule may read of the spec's disclosure block."""

    @property
    def min_count(self) -> int: ...

    @property
    def zero_is_safe(self) -> bool: ...


@dataclass(frozen=True)
class Counts:
    """Person counts of cells: true and as published (perturbed), numerator and denominator."""

    npers_true: np.ndarray
    npers_pub: np.ndarray
    dpers_true: np.ndarray
    dpers_pub: np.ndarray


class HidingRule:
    name: ClassVar[str]
    doc: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        RULES[cls.name] = cls()

    def hides(self, counts: Counts, settings: Settings) -> np.ndarray:
        raise NotImplementedError


class SmallDenominator(HidingRule):
    name = "small_denominator"
    doc = "fewer than min_count persons behind the denominator, true or perturbed"

    def hides(self, counts: Counts, settings: Settings) -> np.ndarray:
        m = settings.min_count
        return np.asarray((counts.dpers_true < m) | (counts.dpers_pub < m))


class SmallNumerator(HidingRule):
    name = "small_numerator"
    doc = (
        "between 1 and min_count - 1 persons behind the numerator, true or perturbed (0 "
        "persons too unless zero_is_safe; 0 stays 0 under perturbation)"
    )

    def hides(self, counts: Counts, settings: Settings) -> np.ndarray:
        m = settings.min_count
        small = (counts.npers_true < m) | (counts.npers_pub < m)
        if settings.zero_is_safe:
            small &= counts.npers_true != 0
        return np.asarray(small)


def hidden(counts: Counts, settings: Settings) -> np.ndarray:
    """True for every cell some rule hides."""
    out = np.zeros(len(counts.npers_true), dtype=bool)
    for rule in RULES.values():
        out |= rule.hides(counts, settings)
    return out
