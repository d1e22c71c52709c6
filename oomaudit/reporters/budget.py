"""The memory ledger drawn and told: ``oomaudit budget`` (text and JSON), and the bar that
``scan``/``check`` text output shows under a host whose HOST002 fires.

A host is one stacked bar: each service's worst case in its own letter (a background
colour too when colour is on), RAM between the first two ``|``, swap up to the next, and
what the services claim beyond that drawn past the end and closed with ``>``, never capped
at 100%. Below it a legend; ``budget`` adds the table with each consumer's arithmetic.

The figures are the report's (``HostFacts``: facts and ledger as the rules saw them), and
budget's verdict is HOST002's finding, so ``budget`` and ``scan``/``check`` never disagree
about whether a host fits. Service names and sources come from configs: every one is
escaped (``host.terminal``) before it reaches a terminal.
"""
from __future__ import annotations

import string
import time

from ..host import terminal
from ..jsonout import dumps
from ..report import Report
from ..units import format_size

RAM_CELLS = 40  # RAM's width in the bar, unless swap or the overflow needs the room
MAX_CELLS = 72  # the whole drawing's width at most: huge overflows shrink the scale
LEGEND_WIDTH = 88
SCHEMA_VERSION = 1
RULE = "HOST002"

_SYMBOLS = string.ascii_lowercase + string.ascii_uppercase + string.digits
_MORE = "+"  # the services left when the symbols run out share this one
_FREE, _SWAP, _PAST = ".", "~", ">"
_PALETTE = ["\033[30;44m", "\033[30;42m", "\033[30;43m", "\033[30;45m", "\033[30;46m",
            "\033[30;47m", "\033[30;104m", "\033[30;102m", "\033[30;103m", "\033[30;105m",
            "\033[30;106m"]
_RESET, _BOLD, _DIM, _RED = "\033[0m", "\033[1m", "\033[2m", "\033[1;31m"
class _Service:
    """One service's share of the bar: every consumer of that name summed."""

    def __init__(self, name: str, nbytes: int, sources: list[str]):
        self.name = name
        self.bytes = nbytes
        self.sources = sources
        self.symbol = _MORE
        self.paint = ""


def _services(ledger: list[dict]) -> list[_Service]:
    by_name: dict[str, _Service] = {}
    for c in ledger:
        service = by_name.setdefault(c["service"], _Service(c["service"], 0, []))
        service.bytes += c["bytes"]
        service.sources.append(c["source"])
    services = [s for s in by_name.values() if s.bytes > 0]  # nothing to draw for the rest
    used: set[str] = set()
    for n, service in enumerate(services):  # the service's own letters first: m for mysql
        own = [ch.lower() for ch in service.name if ch.isascii() and ch.isalnum()]
        symbol = next((ch for ch in [*own, *_SYMBOLS] if ch not in used), _MORE)
        used.add(symbol)
        service.symbol = symbol
        service.paint = _PALETTE[n % len(_PALETTE)] if symbol != _MORE else _DIM
    return services


def _fact(host, key: str) -> int | None:
    value = host.facts.get(key, (None, ""))[0]
    return value if isinstance(value, int) and value >= 0 else None


def draw(host, color: bool) -> list[str]:
    """The bar of one host (a ``HostFacts``) and its legend; nothing when its RAM is unknown
    or it has no consumer (there is no scale, or nothing to draw)."""
    ram, swap = _fact(host, "ram"), _fact(host, "swap") or 0
    services = _services(host.ledger)
    if not ram or not services:
        return []
    total = sum(s.bytes for s in services)
    scale = min(RAM_CELLS / ram, MAX_CELLS / max(total, ram + swap))  # cells per byte
    ram_end = max(1, round(ram * scale))
    swap_end = max(ram_end + (swap > 0), round((ram + swap) * scale))
    owner: list[_Service] = []
    claimed = 0
    for service in services:
        claimed += service.bytes
        owner += [service] * (round(claimed * scale) - len(owner))
    # rounding must not hide which side of a boundary the total is on, nor all of it
    owner += [services[-1]] * ((ram_end if total >= ram else 1) - len(owner))
    for fits, end in ((total <= ram, ram_end), (total <= ram + swap, swap_end)):
        if fits:
            del owner[end:]
        elif len(owner) <= end:
            owner += [services[-1]] * (end + 1 - len(owner))

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    bar, fills = [paint("|", _BOLD)], []
    for cell in range(max(len(owner), swap_end)):
        if cell in (ram_end, swap_end):
            bar.append(paint("|", _BOLD))
        if cell < len(owner):
            bar.append(paint(owner[cell].symbol, owner[cell].paint))
        else:
            fills.append(_FREE if cell < ram_end else _SWAP)
            bar.append(paint(fills[-1], _DIM))
    bar.append(paint(_PAST, _RED) if len(owner) > swap_end else paint("|", _BOLD))
    regions = f"|RAM {format_size(ram)}|" + (f"swap {format_size(swap)}|" if swap else "")
    if len(owner) > swap_end:
        regions += f"beyond{_PAST}"
    return ["  " + "".join(bar) + "  " + _verdict(total, ram, swap),
            *_legend(regions, services, set(fills), paint)]


def _verdict(total: int, ram: int, swap: int) -> str:
    text = f"{format_size(total)} ({total / ram:.1%} of RAM)"
    if total <= ram:
        return f"{text}, {format_size(ram - total)} left"
    if not swap:
        return f"{text}, {format_size(total - ram)} over"
    return f"{text}, {format_size(total - ram)} over RAM, " + (
        "within RAM + swap" if total <= ram + swap else
        f"{format_size(total - ram - swap)} over RAM + swap")


def _legend(regions: str, services: list[_Service], fills: set[str], paint) -> list[str]:
    """Entries (symbol, its colour, text) wrapped at LEGEND_WIDTH visible columns."""
    entries = [("", "", regions)]
    for s in services:
        if s.symbol != _MORE:
            where = terminal(s.sources[0]) if len(s.sources) == 1 else f"{len(s.sources)} consumers"
            entries.append((s.symbol, s.paint, f"={terminal(s.name)} ({format_size(s.bytes)}, "
                                               f"{where})"))
    rest = [s for s in services if s.symbol == _MORE]
    if rest:
        entries.append((_MORE, _DIM, f"={len(rest)} more services "
                                     f"({format_size(sum(s.bytes for s in rest))})"))
    entries += [(fill, _DIM, f"={what}") for fill, what in ((_FREE, "free RAM"),
                                                             (_SWAP, "free swap"))
                if fill in fills]
    lines: list[str] = []
    line, width = "", 0
    for symbol, code, text in entries:
        size = len(symbol) + len(text)
        if line and width + 2 + size > LEGEND_WIDTH:
            lines.append(line)
            line, width = "", 0
        line += ("  " if line else "") + (paint(symbol, code) if symbol else "") + text
        width += (2 if width else 0) + size
    return ["  " + text for text in [*lines, line]]


def overflows(report: Report, color: bool) -> list[str]:
    """For ``scan``/``check`` text: the bar of every host whose HOST002 fired."""
    over = {name for name, f in report.findings if f.rule == RULE}
    lines = []
    for host in report.hosts:
        if host.name in over:
            lines += ["", f"Worst-case memory against RAM ({terminal(host.label)}):",
                      *draw(host, color)]
    return lines


# -- oomaudit budget ----------------------------------------------------------------------

def _verdicts(report: Report) -> dict[str, dict]:
    """HOST002's outcome per host: what budget's exit code follows."""
    found = {name: f for name, f in report.findings if f.rule == RULE}
    outcome = {}
    for run in report.runs:
        if run.rule.id != RULE:
            continue
        finding = found.get(run.host)
        outcome[run.host] = {
            "status": run.status,
            "severity": finding.severity.label if finding else None,
            "detail": finding.message if finding else run.detail}
    return outcome


def text_view(report: Report, color: bool) -> str:
    verdicts = _verdicts(report)
    out = []
    for host in report.hosts:
        ram = _fact(host, "ram")
        out.append(f"{terminal(host.label)}: RAM {_size(host, 'ram')}, swap {_size(host, 'swap')}")
        if not host.ledger:
            out.append("  no memory consumers found in the configs read\n")
            continue
        bar = draw(host, color)
        if not bar:
            verdict = verdicts.get(host.name, {}).get("detail") or "RAM unknown"
            bar = [f"  no bar: {terminal(verdict)}"]
        out += bar
        width = max(len("total"), *(len(terminal(c["service"])) for c in host.ledger))
        for c in host.ledger:
            pct = f"{c['bytes'] / ram:6.1%}" if ram else "     ?"
            out.append(f"  {terminal(c['service']):<{width}}  {format_size(c['bytes']):>10}  {pct}"
                       f"  {terminal(c['how'])} ({terminal(c['source'])})")
        total = sum(c["bytes"] for c in host.ledger)
        line = f"  {'total':<{width}}  {format_size(total):>10}"
        if ram:
            left = ram - total
            line += (f"  {total / ram:6.1%} of RAM; {format_size(abs(left))} "
                     f"{'left' if left >= 0 else 'over'}")
        out.append(line + "\n")
    out += [f"notice: {terminal(n)}" for n in report.notices]
    out += [f"error: {terminal(e)}" for e in report.errors]
    return "\n".join(out).rstrip("\n") + "\n"


def _size(host, key: str) -> str:
    value, source = host.facts.get(key, (None, ""))
    return f"{format_size(value)} ({terminal(source)})" if value is not None else "unknown"


def json_view(report: Report, color: bool) -> str:
    """The shape ``oomaudit/budget.schema.json`` describes."""
    verdicts = _verdicts(report)

    def fact(host, key: str) -> dict | None:
        value, source = host.facts.get(key, (None, ""))
        return None if value is None else {"bytes": value, "source": source}

    hosts = []
    for h in report.hosts:
        total = sum(c["bytes"] for c in h.ledger)
        ram = _fact(h, "ram")
        hosts.append({
            "host": h.name, "label": h.label, "ram": fact(h, "ram"), "swap": fact(h, "swap"),
            "consumers": h.ledger, "total": total,
            "left": None if ram is None else ram - total,
            "verdict": verdicts.get(h.name)})
    return dumps({
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "oomaudit", "version": report.version},
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "target": report.target,
        "fail_on": report.fail_on.label,
        "hosts": hosts,
        "errors": list(report.errors),
        "notices": list(report.notices),
        "exit_code": report.exit_code(),
    })
