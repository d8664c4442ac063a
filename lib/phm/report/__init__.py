"""A static, self-contained HTML Atlas of the published tables (``phm report``).

Hand-written inline SVG, no JavaScript library, no external request: see docs/report.md.
:mod:`phm.report.svg`, :mod:`phm.report.pages` and :mod:`phm.report.geo` need no Spark;
:mod:`phm.report.data` reads the warehouse, :mod:`phm.report.build` writes the pages.
"""
