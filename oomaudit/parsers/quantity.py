"""Kubernetes resource quantities (``512Mi``, ``1G``, ``1e9``, ``0.5Gi``, ``1000m``) as
apimachinery's ``resource.ParseQuantity`` reads them (pkg/api/resource/quantity.go).

The scanner is ``parseQuantityString``: a sign, digits, an optional ``.`` and digits
(``1.``, ``.5`` and even ``.`` are numbers), then suffix characters from
``eEinumkKMGTP``, an optional sign and digits. The suffix must then be one of the
decimal SI ones (``n u m "" k M G T P E``: ``E`` alone is exa, 10^18), a binary one
(``Ki`` .. ``Ei``) or an exponent ``e``/``E`` followed by a Go ``ParseInt`` integer
(truncated to int32). ``m`` is *milli*: ``1000m`` of memory is one byte. Values are
exact (never floats); a non-zero value finer than 1n is rounded up to 1n, and a binary
value is capped at 2^63-1. The kubelet takes memory as ``Value()``: rounded up to a
whole byte. A whole value (``512Mi``, ``2G``: nearly every memory quantity) is an int;
only a fraction imports the fractions module (with decimal: a tenth of a manifest's check).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..cnumbers import digits as c_digits

if TYPE_CHECKING:
    from fractions import Fraction

DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15,
           "E": 18}
BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
MAX_INT64 = (1 << 63) - 1
_SUFFIX_CHARS = set("eEinumkKMGTP")
_DIGITS = set("0123456789")
FORMAT_WRONG = ("quantities must match the regular expression "
                "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
NUMERIC = "unable to parse numeric part of quantity"
SUFFIX = "unable to parse quantity's suffix"
_FAR = 400  # decimal exponents beyond this are astronomically large or below 1n


class QuantityError(ValueError):
    """apimachinery's own error text (ErrFormatWrong, ErrNumeric, ErrSuffix)."""


def _scan(text: str) -> tuple[bool, str, str, str, str]:
    """parseQuantityString: (positive, value, num, denom, suffix)."""
    positive, pos, end = True, 0, len(text)
    if text[0] in "+-":
        positive = text[0] != "-"
        pos = 1
    while pos < end and text[pos] == "0":
        pos += 1
    if pos >= end:
        return positive, "0", "0", "", ""
    start = pos
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    num = text[start:pos] or "0"
    if pos >= end:
        return positive, text, num, "", ""
    denom = ""
    if text[pos] == ".":
        pos += 1
        start = pos
        while pos < end and text[pos] in _DIGITS:
            pos += 1
        denom = text[start:pos]
        if pos >= end:
            return positive, text, num, denom, ""
    value, suffix_start = text[:pos], pos
    while pos < end and text[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    if pos < end:
        raise QuantityError(FORMAT_WRONG)
    return positive, value, num, denom, text[suffix_start:]


def _interpret(suffix: str) -> tuple[int, int, str]:
    """(base, exponent, format) of a suffix, as quantitySuffixer.interpret."""
    if suffix in DECIMAL:
        return 10, DECIMAL[suffix], "DecimalSI"
    if suffix in BINARY:
        return 2, BINARY[suffix], "BinarySI"
    if len(suffix) > 1 and suffix[0] in "eE":
        digits = suffix[1:]
        body = digits[1:] if digits[:1] in "+-" else digits
        if not body or not set(body) <= _DIGITS:
            raise QuantityError(SUFFIX)
        parsed = c_digits(body) * (-1 if digits[:1] == "-" else 1)
        if not -MAX_INT64 - 1 <= parsed <= MAX_INT64:
            raise QuantityError(SUFFIX)  # strconv.ParseInt: value out of range
        return 10, (parsed + (1 << 31)) % (1 << 32) - (1 << 31), "DecimalExponent"
    raise QuantityError(SUFFIX)


def parse(text: str) -> int | Fraction:
    """The exact value of a quantity string; QuantityError with apimachinery's message."""
    if text == "":
        raise QuantityError(FORMAT_WRONG)
    if text == "0":
        return 0
    positive, value, num, denom, suffix = _scan(text)
    base, exponent, fmt = _interpret(suffix)
    digits, places = _significant(num + denom, len(denom))
    scale = exponent - places
    if fmt != "BinarySI":
        fast = 18 - len(num + denom) >= 0 and scale >= -9
        if not fast and not any(c in _DIGITS for c in value):
            raise QuantityError(NUMERIC)  # inf.Dec.SetString of a bare sign or point
    if not digits:  # whatever the exponent (0e999999999 is no 10^999999999 to compute)
        return 0
    if fmt == "BinarySI" and places <= 0:
        amount = min((digits * 10 ** -places) << exponent, MAX_INT64)
    elif fmt != "BinarySI" and scale >= 0:
        amount = MAX_INT64 if scale > _FAR else digits * 10 ** scale  # beyond any machine
    else:
        amount = _fraction(digits, places, exponent, fmt)
    return amount if positive else -amount


def _fraction(digits: int, places: int, exponent: int, fmt: str) -> Fraction:
    """A value with a fraction of a unit, exact, rounded up to whole nanos (away from
    zero); a binary one capped at 2^63-1."""
    from fractions import Fraction

    scale = exponent - places
    if fmt == "BinarySI":
        amount = Fraction(digits << exponent) / Fraction(10) ** places
    elif scale < -_FAR:
        amount = Fraction(1, 10 ** 9)
    else:
        amount = digits * Fraction(10) ** scale
    if amount.denominator > 1:
        amount = Fraction(math.ceil(amount * 10 ** 9), 10 ** 9)
    if fmt == "BinarySI" and amount > MAX_INT64:
        amount = Fraction(MAX_INT64)
    return amount


def _significant(text: str, places: int, keep: int = 60) -> tuple[int, int]:
    """(digits, decimal places) of a number written as ``text`` with ``places`` after the
    point: exact to ``keep`` significant digits, the rest kept as one sticky digit (1 when
    any was not 0), so rounding up to nanos and saturating still see them. Thousands of
    digits never reach ``int()`` (its 4300-digit limit, and its quadratic time)."""
    significant = text.lstrip("0")
    if len(significant) <= keep:
        return int(significant or "0"), places
    sticky = "1" if significant[keep:].strip("0") else "0"
    return int(significant[:keep] + sticky), places - (len(significant) - keep - 1)


def to_bytes(text: str) -> int:
    """Memory in bytes as the kubelet uses it: ``Value()``, rounded up to a whole byte."""
    amount = parse(text)
    whole = math.ceil(abs(amount))
    return min(whole, MAX_INT64) * (1 if amount >= 0 else -1)
