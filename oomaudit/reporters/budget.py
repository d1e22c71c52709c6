"""``oomaudit budget``: the memory ledger of each host as a table with a bar per consumer."""
from __future__ import annotations

import json

from ..host import Host
from ..units import format_size

BAR = 30


def text_view(hosts: list[Host], color: bool) -> str:
    out = []
    for host in hosts:
        ram = host.fact("ram")
        swap = host.fact("swap")
        out.append(f"{host.label}: RAM {_size(ram)}, swap {_size(swap)}")
        consumers = host.ledger.consumers
        if not consumers:
            out.append("  no memory consumers found in the configs read\n")
            continue
        width = max(len("total"), *(len(c.service) for c in consumers))  # total aligns too
        for c in consumers:
            share = c.bytes / ram.value if ram and ram.value else 0
            bar = "#" * min(BAR, round(share * BAR)) if ram else ""
            pct = f"{share:6.1%}" if ram else "     ?"
            out.append(f"  {c.service:<{width}}  {format_size(c.bytes):>10}  {pct}  "
                       f"|{bar:<{BAR}}|  {c.how} ({c.source})")
        total = host.ledger.total()
        line = f"  {'total':<{width}}  {format_size(total):>10}"
        if ram:
            line += f"  {total / ram.value:6.1%} of RAM" if ram.value else ""
            left = ram.value - total
            line += f"; {format_size(abs(left))} {'left' if left >= 0 else 'over'}"
        out.append(line + "\n")
    return "\n".join(out)


def _size(fact) -> str:
    return f"{format_size(fact.value)} ({fact.source})" if fact else "unknown"


def json_view(hosts: list[Host], color: bool) -> str:
    rows = [{
        "host": h.name, "label": h.label,
        "ram": h.fact("ram") and {"bytes": h.fact("ram").value, "source": h.fact("ram").source},
        "swap": h.fact("swap") and {"bytes": h.fact("swap").value, "source": h.fact("swap").source},
        "consumers": [c._asdict() for c in h.ledger.consumers],
        "total": h.ledger.total(),
    } for h in hosts]
    return json.dumps(rows, indent=2) + "\n"
