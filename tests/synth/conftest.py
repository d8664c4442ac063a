"""The generated warehouses (small_warehouse, calibration_warehouse) live in tests/conftest.py
so the compiler tests share them."""
