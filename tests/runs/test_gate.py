"""The publication gate's comparison, cell by cell, on hand-made published and staged rows."""

from __future__ import annotations

from phm.runs.gate import Z95, GateRules, compare

COLUMNS = (
    "indicator_id string, period int, geo_level string, geo_code string, breakdown_key string, "
    "value double, ci_low double, ci_high double, suppressed boolean"
)


def _row(ind, code, value, se=None, suppressed=False, period=2023):
    low, high = (None, None) if se is None else (value - Z95 * se, value + Z95 * se)
    return (ind, period, "municipality", code, "", value, low, high, suppressed)


def test_moved_cells_need_both_k_standard_errors_and_the_tolerance(spark):
    before = [
        _row("rate", "A", 100.0, se=1.0),  # -> 110: 10 SE and 10%: moved
        _row("rate", "B", 100.0, se=5.0),  # -> 110: 2 SE: not moved
        _row("rate", "C", 1000.0, se=0.1),  # -> 1010: 100 SE but 1%: not moved
        _row("rate", "D", 50.0, se=1.0),  # lost
        _row("rate", "E", 50.0, se=1.0, suppressed=True),  # -> published: not compared
        _row("share", "A", 40.0),  # ratio of sums, no interval -> 60: untested
        _row("share", "B", 40.0),
    ]
    after = [
        _row("rate", "A", 110.0, se=1.0),
        _row("rate", "B", 110.0, se=5.0),
        _row("rate", "C", 1010.0, se=0.1),
        _row("rate", "E", 55.0, se=1.0),
        _row("rate", "F", 55.0, se=1.0),  # gained
        _row("share", "A", 60.0),
        _row("share", "B", 40.0),
        _row("share", "A", 60.0, period=2024),  # a slice never published: not compared
    ]
    report = compare(
        spark.createDataFrame(before, COLUMNS),
        spark.createDataFrame(after, COLUMNS),
        GateRules(max_moved=0.2, max_lost=0.1),
    )
    rate, share = report.indicators
    assert (rate.indicator_id, rate.compared, rate.moved, rate.lost, rate.gained) == (
        "rate",
        3,
        1,
        1,
        1,
    )
    assert (rate.cells_before, rate.cells_after, rate.untested) == (5, 5, 0)
    assert rate.suppressed_before == 0.2 and rate.suppressed_after == 0.0
    assert rate.reasons == [
        "1 of 3 published cells moved by more than 3 standard errors and 5%",
        "1 of 5 cells disappeared",
        "1 new cells (there were 5)",
        "suppressed share went from 20.0% to 0.0%",
    ]
    assert (share.compared, share.moved, share.untested, share.reasons) == (0, 0, 2, [])
    assert report.held and report.reasons[0].startswith("rate: 1 of 3")
    assert not compare(
        spark.createDataFrame(before, COLUMNS),
        spark.createDataFrame(after, COLUMNS),
        GateRules(enabled=False),
    ).held
