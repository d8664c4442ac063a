"""Parsing and checking of command-line values, shared by the CLI and the ``jobs/`` entry points.

Each function raises :class:`phm.errors.InputError` with a message that says what was expected
and what was given, so the user never sees a traceback for a typo.

>>> parse_years("2022-2024")
[2022, 2023, 2024]
>>> parse_month("2024-06")
datetime.date(2024, 6, 1)
"""

from __future__ import annotations

import datetime as dt
import re

from phm.errors import InputError

MIN_PERSONS = 100
FIRST_YEAR = 2002  # IMA holds data from service year 2002 on
LAST_YEAR = 2099
MAX_DEFECT_RATE = 0.1

_YEAR = re.compile(r"\d{4}")
_MONTH = re.compile(r"(\d{4})-(\d{2})")


def parse_years(text: str) -> list[int]:
    """'2022-2024' (inclusive range), '2022,2023' or '2023' -> sorted list of years."""
    raw = text.replace(" ", "")
    if not raw:
        raise InputError("--years is empty; expected e.g. 2022-2024 or 2022,2023")
    if "-" in raw and "," not in raw:
        parts = raw.split("-")
        if len(parts) != 2 or not all(_YEAR.fullmatch(p) for p in parts):
            raise InputError(f"--years {text!r}: expected a range like 2022-2024")
        first, last = int(parts[0]), int(parts[1])
        if first > last:
            raise InputError(f"--years {text!r}: the range runs backwards ({first} > {last})")
        years = list(range(first, last + 1))
    else:
        parts = raw.split(",")
        bad = [p for p in parts if not _YEAR.fullmatch(p)]
        if bad:
            raise InputError(
                f"--years {text!r}: {bad[0]!r} is not a 4-digit year; "
                "expected e.g. 2022-2024 or 2022,2023"
            )
        years = [int(p) for p in parts]
        duplicates = sorted({y for y in years if years.count(y) > 1})
        if duplicates:
            raise InputError(f"--years {text!r}: {duplicates} given twice")
        years.sort()
    out_of_range = [y for y in years if not FIRST_YEAR <= y <= LAST_YEAR]
    if out_of_range:
        raise InputError(f"--years {text!r}: {out_of_range[0]} is outside {FIRST_YEAR}-{LAST_YEAR}")
    return years


def check_consecutive(years: list[int], option: str = "--years") -> list[int]:
    """The generator simulates a population year after year: no gaps."""
    gaps = [y for y in range(years[0], years[-1] + 1) if y not in years]
    if gaps:
        raise InputError(
            f"{option}: years must be consecutive; {', '.join(map(str, gaps))} missing"
        )
    return years


def parse_month(text: str, option: str = "--as-of") -> dt.date:
    """'YYYY-MM' -> the first day of that month."""
    m = _MONTH.fullmatch(text.strip())
    if not m:
        raise InputError(f"{option} {text!r}: expected a month as YYYY-MM, e.g. 2024-12")
    year, month = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12:
        raise InputError(f"{option} {text!r}: month {month} is not between 01 and 12")
    return dt.date(year, month, 1)


def parse_date(text: str, option: str = "--data-end") -> dt.date:
    """A day as YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"{option}: expected a date as YYYY-MM-DD (e.g. 2024-03-31), got {text!r}"
        ) from None


def check_persons(persons: int) -> int:
    if persons < MIN_PERSONS:
        raise InputError(f"--persons {persons}: at least {MIN_PERSONS} persons are needed")
    return persons


def check_as_of(as_of: dt.date, years: list[int]) -> dt.date:
    """The accounting as-of month cannot precede the first generated year."""
    if as_of < dt.date(years[0], 1, 1):
        raise InputError(
            f"--as-of {as_of:%Y-%m}: the accounting month is before the first year {years[0]}"
        )
    return as_of


def check_defect_rate(rate: float) -> float:
    if not 0.0 <= rate <= MAX_DEFECT_RATE:
        raise InputError(
            f"--defect-rate {rate}: expected a fraction between 0 and {MAX_DEFECT_RATE}"
        )
    return rate


def check_year(year: int | None) -> int | None:
    if year is not None and not FIRST_YEAR <= year <= LAST_YEAR:
        raise InputError(f"--year {year}: expected a year between {FIRST_YEAR} and {LAST_YEAR}")
    return year
