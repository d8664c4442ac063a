"""The hand-built warehouse (tests/handbuilt.py), built once per session."""

from __future__ import annotations

import handbuilt
import pytest


@pytest.fixture(scope="session")
def handbuilt_warehouse(spark, tmp_path_factory):
    return handbuilt.build(spark, tmp_path_factory.mktemp("handbuilt"))
