"""Data layer: the source data model, reference tables, loading with validation and quarantine."""
