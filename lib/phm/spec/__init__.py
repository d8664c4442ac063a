"""Indicator specs: YAML files -> typed, checked models (no Spark needed).

Steps, in order: ``yaml_source`` reads a file keeping the line of every key and refusing duplicate
keys; ``models`` validates its shape (pydantic, ``extra="forbid"``); ``catalogue`` loads a whole
spec folder and checks what the models cannot see alone (references between specs, source
columns, typos); ``schema`` writes the JSON Schema editors use for completion.
"""

from phm.spec.catalogue import Catalogue, load_catalogue
from phm.spec.issues import SpecError, SpecIssue

__all__ = ["Catalogue", "SpecError", "SpecIssue", "load_catalogue"]
