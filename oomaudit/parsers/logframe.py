"""The framing around a kernel message: whatever a logger, a pager or a person put before it.

A kernel record reaches a file in many wrappers, and the OOM parser only needs two
things from them: the time as printed and, where the wrapper allows, the absolute
time. Wrappers recognised (all found by *searching* the text before the message,
so grep's ``file:`` prefix, e-mail ``> `` quotes and indentation do not matter):

- raw ``dmesg`` / ``/dev/kmsg`` as we render it: ``[12345.678901] msg`` (seconds since
  boot; absolute only when the boot time is known, i.e. for this boot, live)
- ``dmesg -T``: ``[Fri Feb 27 10:15:30 2026] msg``, with the weekday and month in the
  locale of whoever ran it (``[Di Aug 12 03:54:03 2025]``, ``[mar. août 12 ...]``)
- syslog (RFC 3164, rsyslog's default, ``journalctl -k`` short and short-precise):
  ``Feb 27 10:15:30 host kernel: msg`` -- no year; it is inferred from a reference
  time (the file's mtime, or now) as the latest year that is not in the future
- ISO 8601 / RFC 3339 (rsyslog high-precision, RFC 5424 ``<13>1 2026-...``,
  ``journalctl -o short-iso``, VMware's ``vmware.log`` guest lines)
- ``journalctl -o json`` lines: ``MESSAGE`` with ``__REALTIME_TIMESTAMP``
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

# Month abbreviations as strftime("%b") prints them in the locales dmesg -T meets most
# (C/English, German, French, Spanish, Italian, Dutch, Portuguese); dots are stripped.
_MONTHS = {}
for _number, _names in enumerate((
        "jan ene gen jän janv", "feb fév févr fev", "mar mär mrt mars", "apr avr abr",
        "may mai mag mei", "jun juin giu", "jul juil lug", "aug août ago aoû",
        "sep sept set", "oct okt ott out", "nov", "dec dez déc dic"), 1):
    for _name in _names.split():
        _MONTHS[_name] = _number

_UPTIME = re.compile(r"\[\s*(\d{1,10}\.\d{1,9})\]")
# dmesg -T: "[<weekday> <month> <day> HH:MM:SS <year>]" in any locale
_HUMAN = re.compile(r"\[([^\[\]]{0,20}?(\S+)\s+(\d{1,2})\s+(\d\d):(\d\d):(\d\d)\s+(\d{4}))\]")
_ISO = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?"
                  r"(Z|[+-]\d\d:?\d\d)?")
_SYSLOG = re.compile(r"(?<![\w:])([A-Z][^\W\d_]{2})\s+(\d{1,2})\s+(\d\d):(\d\d):(\d\d)"
                     r"(?:\.(\d{1,9}))?(?![\d:])")


class Stamp(NamedTuple):
    """When a record was logged: ``printed`` as it appears (without brackets), ``uptime``
    (the ``[seconds]`` since boot, if printed) and ``absolute`` (aware datetime) if known."""

    printed: str | float | None = None
    uptime: float | None = None
    absolute: datetime | None = None


NO_STAMP = Stamp()


def _month(token: str) -> int | None:
    return _MONTHS.get(token.strip(".").lower()[:5]) or _MONTHS.get(token.strip(".").lower()[:3])


def _safe(build):
    try:
        return build()
    except (ValueError, OverflowError):  # 31 Feb, year 0, ...: printed, but not a time
        return None


def _fraction(digits: str | None) -> int:
    return int((digits or "0")[:6].ljust(6, "0"))


def _local(naive: datetime) -> datetime:
    """Syslog and dmesg -T print local time without a zone: the zone of the machine that
    logged it, which we assume is the one reading it (the usual case: the same host)."""
    return naive.astimezone()


def parse_stamp(prefix: str, reference: datetime | None = None,
                boot_time: float | None = None) -> Stamp:
    """The time of a record from the text before its message (``prefix``)."""
    uptimes = _UPTIME.findall(prefix)
    uptime = float(uptimes[-1]) if uptimes else None  # the kernel's own stamp is the last
    human = _HUMAN.search(prefix)
    if human:
        month = _month(human.group(2))
        absolute = _safe(lambda: _local(datetime(
            int(human.group(7)), month, int(human.group(3)), int(human.group(4)),
            int(human.group(5)), int(human.group(6))))) if month else None
        return Stamp(human.group(1).strip(), uptime, absolute)
    iso = _ISO.search(prefix)
    if iso:
        return Stamp(iso.group(0), uptime, _safe(lambda: _iso_time(iso)))
    syslog = _SYSLOG.search(prefix)
    if syslog:
        return Stamp(syslog.group(0), uptime, _safe(lambda: _syslog_time(syslog, reference)))
    if uptime is not None:
        absolute = None
        if boot_time is not None:
            absolute = _safe(lambda: datetime.fromtimestamp(boot_time + uptime, timezone.utc))
        return Stamp(uptime, uptime, absolute)
    return NO_STAMP


def _iso_time(m: re.Match) -> datetime:
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    naive = datetime(year, month, day, hour, minute, second, _fraction(m.group(7)))
    zone = m.group(8)
    if not zone:
        return _local(naive)
    if zone == "Z":
        return naive.replace(tzinfo=timezone.utc)
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return naive.replace(tzinfo=timezone(sign * offset))


def _syslog_time(m: re.Match, reference: datetime | None) -> datetime | None:
    month = _month(m.group(1))
    if not month:
        return None
    ref = reference or datetime.now().astimezone()
    fields = (month, int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5)),
              _fraction(m.group(6)))
    stamp = _local(datetime(ref.year, *fields))
    if stamp > ref + timedelta(days=1):  # December lines read in January: last year
        stamp = _local(datetime(ref.year - 1, *fields))
    return stamp


def journal_record(line: str) -> tuple[str, Stamp] | None:
    """``journalctl -o json``: (message, stamp), or None when the line is not such a record.

    ``MESSAGE`` is a string, or an array of byte values when it was not valid UTF-8."""
    import json

    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    message = record.get("MESSAGE")
    if isinstance(message, list):
        try:
            message = bytes(message).decode("utf-8", "replace")
        except (TypeError, ValueError):
            return None
    if not isinstance(message, str):
        return None
    absolute = uptime = None
    realtime = str(record.get("__REALTIME_TIMESTAMP", ""))
    if realtime.isdigit():
        absolute = _safe(lambda: datetime.fromtimestamp(int(realtime) / 1e6, timezone.utc))
    monotonic = str(record.get("_SOURCE_MONOTONIC_TIMESTAMP", ""))
    if monotonic.isdigit():
        uptime = int(monotonic) / 1e6
    printed = absolute.isoformat() if absolute else uptime
    return message, Stamp(printed, uptime, absolute)


def journal_message(line: str) -> str:
    """A ``journalctl -o json`` line's message; any other line as it is."""
    if line.startswith("{") and '"MESSAGE"' in line:
        record = journal_record(line)
        if record:
            return record[0]
    return line
