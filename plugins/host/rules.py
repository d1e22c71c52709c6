"""HOST002: the memory ledger's total (every service's worst case) against RAM, and
against RAM + swap.

It names the overflow once for the whole host: the total, the few largest consumers with
their arithmetic and sources, and the ledger itself for the rest (it is in the report, and
under this finding in text), so its evidence stays a few lines however many services the
host runs. A consumer that alone exceeds RAM is the cause it names; a service the others
leave no RAM at all is not judged by its own rule, and it says which.
"""
from __future__ import annotations

from oomaudit import Evidence, Finding, Severity
from oomaudit.units import format_size

LARGEST = 3  # consumers named in full; the ledger holds the rest


def check_host002(host):
    ledger = host.ledger
    if not ledger.consumers:
        return
    ram = host.require("ram")
    swap = host.fact("swap")
    total = ledger.total()
    if total <= ram.value:
        return
    evidence = ledger.summary(LARGEST)
    evidence.append(Evidence(f"RAM = {format_size(ram.value)}", ram.source))
    swap_bytes = swap.value if swap else 0
    if swap:
        evidence.append(Evidence(f"swap = {format_size(swap_bytes)}", swap.source))
    cause = ledger.beyond(ram.value)
    unjudged = ledger.unjudged(ram.value)
    if unjudged:
        names = ", ".join(unjudged[:LARGEST]) + (
            f" and {len(unjudged) - LARGEST} more" if len(unjudged) > LARGEST else "")
        evidence.append(Evidence(f"not judged by their own rules: {names} (the others leave "
                                 "them no RAM at all; judged once this overflow is fixed)"))
    beyond = swap is not None and total > ram.value + swap_bytes
    where = "RAM + swap" if beyond else "RAM"
    limit = ram.value + swap_bytes if beyond else ram.value
    alone = (f"; {cause[0].service} alone claims {format_size(cause[0].bytes)}"
             if len(cause) == 1 else "")
    yield Finding(
        "HOST002",
        f"services' worst case {format_size(total)} exceeds {where} {format_size(limit)} "
        f"by {format_size(total - limit)}{alone}",
        evidence=evidence, severity=Severity.CRITICAL if beyond else None,
        fix=f"shrink the largest consumers by {format_size(total - ram.value)} in total "
            "(see 'oomaudit budget'), or give the host more RAM")  # key "": once per host
