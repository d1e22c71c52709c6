"""Sizes: what users type becomes exact bytes; bytes print as IEC units."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oomaudit.units import MAX_SIZE, format_size, parse_size

K, M, G, T = 1 << 10, 1 << 20, 1 << 30, 1 << 40


@pytest.mark.parametrize("text, expected", [
    ("4096", 4096), ("0", 0), ("8G", 8 * G), ("8GiB", 8 * G), ("8gib", 8 * G), ("8 GB", 8 * G),
    ("512M", 512 * M), ("512m", 512 * M), ("64K", 64 * K), ("64KiB", 64 * K), ("1.5G", 3 * G // 2),
    ("1T", T), ("  2G  ", 2 * G), ("100B", 100), ("0.5K", 512),
    # exact, not via float: 2**64 - 1 would round to 2**64 as a float
    ("18446744073709551615", (1 << 64) - 1), ("12345678901234567891", 12345678901234567891),
])
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", [
    "", "G", "8X", "-1G", "8 iB", "1.5", "1e9", "8GG", "8 G B", "eight", "0x10", "1,5G",
    "\uff18G",  # a full-width digit is a digit to str.isdigit, not a size
    "9" * 400 + "P",  # no OverflowError: refused as larger than 16 EiB
    "17E",
])
def test_parse_size_refuses_with_a_message(text):
    with pytest.raises(ValueError, match="invalid size"):
        parse_size(text)


@pytest.mark.parametrize("n, text", [
    (0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1536, "1.5 KiB"), (8 * G, "8.0 GiB"),
    (M - 1, "1.0 MiB"),  # rounds up into the next unit, never "1024.0 KiB"
    (-2 * G, "-2.0 GiB"), (MAX_SIZE, "16.0 EiB"), (1000 * (1 << 60), "1000.0 EiB"),
])
def test_format_size(n, text):
    assert format_size(n) == text


@given(st.text(max_size=40))
def test_parse_only_raises_value_error_and_its_result_formats(text):
    try:
        n = parse_size(text)
    except ValueError:
        return
    assert 0 <= n <= MAX_SIZE
    assert format_size(n)


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(["K", "M", "G"]),
       st.sampled_from(["", "B", "iB", "ib"]), st.sampled_from(["", " "]))
def test_integer_sizes_round_trip(n, unit, suffix, space):
    factor = {"K": K, "M": M, "G": G}[unit]
    assert parse_size(f"{n}{space}{unit}{suffix}") == n * factor
    assert parse_size(f"{n}{space}{unit.lower()}{suffix}") == n * factor
    assert parse_size(str(n * factor)) == n * factor


@given(st.integers(min_value=0, max_value=MAX_SIZE))
def test_format_then_parse_is_within_rounding(n):
    """What we print can be typed back (e.g. into --ram) and means nearly the same bytes."""
    back = parse_size(format_size(n))
    assert abs(back - n) <= max(n * 0.05, 1)


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=10**12),
       st.integers(min_value=0, max_value=12), st.sampled_from(["K", "M", "G", "T", "E"]))
def test_fractions_are_exact(whole, fraction, zeros, unit):
    """Integer arithmetic gives what exact decimal arithmetic gives, rounded down."""
    from decimal import Decimal

    from oomaudit.units import _FACTORS

    number = f"{whole}.{'0' * zeros}{fraction}"
    exact = int(Decimal(number) * _FACTORS[unit])
    if exact > MAX_SIZE:
        with pytest.raises(ValueError):
            parse_size(number + unit)
    else:
        assert parse_size(number + unit) == exact
