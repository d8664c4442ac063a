"""Built-in person-year attributes: the variables every spec can use without defining a feature.

They come from the population table (and its previous year). The compiler builds exactly these
columns (a test holds it to that); specs are checked against this list before Spark starts.
``kind`` says which tests fit: ``number`` (at_least/at_most), ``flag`` (equals true/false) or
``category`` (equals/in).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Attribute:
    name: str
    kind: str  # number | flag | category
    doc: str


ATTRIBUTES: dict[str, Attribute] = {
    a.name: a
    for a in (
        Attribute("age", "number", "Age at 31 December of the period year (year - birth_year)."),
        Attribute("sex", "category", "'M' or 'F'."),
        Attribute("bim", "flag", "Increased reimbursement (BIM/VT) at 31 December."),
        Attribute("bim_basis", "category", "'benefit' or 'income'; null when not BIM."),
        Attribute("insurer", "category", "Sickness fund code (100, 200, ... 900)."),
        Attribute(
            "nursing_home", "flag", "Resides in a nursing home at the end of the year or at death."
        ),
        Attribute("medical_house", "flag", "Enrolled in a medical house (GP forfait)."),
        Attribute("gmd", "flag", "Has a global medical record (GMD/DMG)."),
        Attribute("chronic_status", "flag", "Holds the status of chronic condition."),
        Attribute("disability", "flag", "Recognised invalidity or disability."),
        Attribute("died", "flag", "Died during the period year."),
        Attribute("alive_at_end", "flag", "Alive at 31 December of the period year."),
        Attribute("insured_previous_year", "flag", "Also in the population table the year before."),
        Attribute(
            "insured_days",
            "number",
            "Days insured in the period year (1 January or, when born "
            "or arrived in the year, 1 July, to 31 December or death; both ends included).",
        ),
    )
}

# attributes that can be breakdown dimensions (age goes through named age schemes instead)
BREAKDOWN_ATTRIBUTES = tuple(n for n, a in ATTRIBUTES.items() if a.kind != "number")
