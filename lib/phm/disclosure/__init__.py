"""Statistical disclosure control of published indicator cells.

Belgian IMA/AIM rule: no published cell may rest on fewer than 5 persons. :func:`suppress`
applies it to the cells of one indicator and one period (pure pandas, for ``applyInPandas``):
primary suppression of small cells, then complementary suppression so that no suppressed cell
can be recovered by subtraction along the geographic, custom-area or breakdown hierarchies.
"""

from phm.disclosure.suppression import COMPLEMENTARY, PRIMARY, Hierarchy, suppress

__all__ = ["COMPLEMENTARY", "PRIMARY", "Hierarchy", "suppress"]
