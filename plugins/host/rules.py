"""HOST002: the memory ledger's total (every service's worst case) against RAM, and
against RAM + swap."""
from __future__ import annotations

from oomaudit import Evidence, Finding, Severity
from oomaudit.units import format_size


def check_host002(host):
    ledger = host.ledger
    if not ledger.consumers:
        return
    ram = host.require("ram")
    swap = host.fact("swap")
    total = ledger.total()
    if total <= ram.value:
        return
    evidence = [Evidence(f"{c.service}: {format_size(c.bytes)} = {c.how}", c.source)
                for c in ledger.consumers]
    evidence.append(Evidence(f"RAM = {format_size(ram.value)}", ram.source))
    swap_bytes = swap.value if swap else 0
    if swap:
        evidence.append(Evidence(f"swap = {format_size(swap_bytes)}", swap.source))
    beyond = swap is not None and total > ram.value + swap_bytes
    where = "RAM + swap" if beyond else "RAM"
    limit = ram.value + swap_bytes if beyond else ram.value
    yield Finding(
        "HOST002",
        f"services' worst case {format_size(total)} exceeds {where} {format_size(limit)} "
        f"by {format_size(total - limit)}",
        evidence=evidence, severity=Severity.CRITICAL if beyond else None,
        fix=f"shrink the largest consumers by {format_size(total - ram.value)} in total "
            "(see 'oomaudit budget'), or give the host more RAM")  # key "": once per host
