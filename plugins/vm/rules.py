"""VM001-VM004's logic; their words are in rules/vm.toml. Each scenario (live, the files
as applied at boot, or one file) is judged; every number comes with its source."""
from __future__ import annotations

from oomaudit.plugins.sysctl.rules import DROP_IN, inside

from oomaudit import Evidence, Finding
from oomaudit.parsers.sysctl import display_name
from oomaudit.snippets import snippet
from oomaudit.units import format_size

from .constants import MIN_FREE, SWAPPINESS, WATERMARK
from .hugepages import thp_location, thp_mode
from .settings import ram, scenarios, swap
from .watermarks import kernel_min_free_kbytes, watermark_gap_kb

MIN_FREE_SHARE = 5  # % of RAM: the most the kernel itself ever reserves (khugepaged's cap)
WATERMARK_MAX = 500  # 5% of RAM between watermarks: kswapd keeps over 10% free


def _fix(host, scenario, key: str, value: int, why: str) -> str:
    path, _ = scenario.located(key)
    where = inside(host, path) if path else DROP_IN
    name = display_name(key)
    return snippet(f"in {{file}}:\n{name} = {value}   # {why}\nthen: sysctl -w {name}={value}",
                   file=where)


def _finding(host, scenario, rule, key, message, evidence, fix):
    path, line = scenario.located(key)
    note = [Evidence(scenario.note)] if scenario.note else []
    return Finding(rule, message, path, line, [Evidence(*scenario.shown(key)), *evidence,
                                               *note], fix=fix, key=display_name(key))


def check_vm001(host):
    """vm.swappiness = 0 with swap: the kernel swaps anonymous memory only at the brink, and
    a cgroup's reclaim not at all, so the OOM killer comes while swap is free."""
    space = swap(host)
    if space is None or space.value <= 0:
        return
    for scenario in scenarios(host):
        if scenario.policy[SWAPPINESS].value != 0:
            continue
        yield _finding(
            host, scenario, "VM001", SWAPPINESS,
            f"vm.swappiness = 0 with {format_size(space.value)} of swap: the kernel swaps "
            "only at the brink of OOM and a cgroup at its limit not at all, so services are "
            "OOM-killed while swap is free",
            [Evidence(f"swap = {format_size(space.value)}", space.source)],
            _fix(host, scenario, SWAPPINESS, 1, "swap as a last resort, not never"))


def check_vm002(host):
    """vm.min_free_kbytes above 5% of RAM and above what the kernel computes for it."""
    memory = ram(host)
    if memory is None:
        return
    ram_kb = memory.value // 1024
    mode = thp_mode(host)
    huge = mode.value != "never" if mode else True
    own = kernel_min_free_kbytes(ram_kb, huge)
    for scenario in scenarios(host):
        setting = scenario.policy[MIN_FREE]
        value = setting.value
        if value is None or value * 100 <= ram_kb * MIN_FREE_SHARE or value <= own:
            continue
        how = (f"the kernel's own for this RAM: min_free_kbytes = {own} "
               f"({format_size(own * 1024)}): int_sqrt(RAM kB x 16) clamped 128..262144"
               + (", raised by khugepaged for transparent huge pages (2 + 9 pageblocks of "
                  "2 MiB per zone, 3 zones, at most 5% of RAM)" if huge else ""))
        yield _finding(
            host, scenario, "VM002", MIN_FREE,
            f"vm.min_free_kbytes = {value} ({format_size(value * 1024)}, "
            f"{value * 100 / ram_kb:.1f}% of RAM) is {value / own:.0f}x what the kernel "
            "computes: it reclaims and OOM-kills while that much memory is still free",
            [Evidence(f"RAM = {format_size(memory.value)}", memory.source),
             Evidence(how, "mm/page_alloc.c calculate_min_free_kbytes, mm/khugepaged.c "
                           "set_recommended_min_free_kbytes"),
             Evidence(f"transparent huge pages: {mode.value}", mode.source) if mode else
             Evidence("transparent huge pages assumed enabled (madvise, Debian's kernel "
                      "default): nothing in the tree sets them")],
            _fix(host, scenario, MIN_FREE, own, "the kernel's own value for this RAM; or "
                 "remove the line"))


def check_vm003(host):
    """vm.watermark_scale_factor so high that kswapd keeps over a tenth of RAM free."""
    memory = ram(host)
    for scenario in scenarios(host):
        factor = scenario.policy[WATERMARK].value
        if factor <= WATERMARK_MAX:
            continue
        evidence, said = [], f"{factor / 100:g}% of RAM"
        if memory is not None:
            gap = watermark_gap_kb(0, memory.value // 1024, factor) * 1024
            said = f"{format_size(gap)}, {factor / 100:g}% of RAM"
            evidence.append(Evidence(f"RAM = {format_size(memory.value)}", memory.source))
        yield _finding(
            host, scenario, "VM003", WATERMARK,
            f"vm.watermark_scale_factor = {factor}: each watermark is {said} above the "
            "last, so kswapd keeps over twice that free and evicts page cache and swaps "
            "long before memory is short", evidence,
            _fix(host, scenario, WATERMARK, 10, "the kernel default: 0.1% of RAM; up to "
                 "200 if allocation stalls are measured"))


# Services whose vendor documents against THP ``always``. Redis is REDIS005's (it weighs
# Redis' own disable-thp); MongoDB 8.0 with its new TCMalloc asks for THP instead.
THP_AVERSE = {"mongodb": "MongoDB (before 8.0) documents disabling transparent huge pages: "
                         "its memory grows by whole huge pages and khugepaged stalls it"}


def check_vm004(host):
    """Transparent huge pages ``always`` on a host whose ledger runs such a service."""
    from oomaudit.plugins.systemd.services import belongs

    services = [(s, why, c) for s, why in THP_AVERSE.items() for c in host.ledger.consumers
                if belongs(c.service, s)]
    if not services:
        return
    mode = thp_mode(host)
    if mode is None or mode.value != "always":
        return
    names = sorted({c.service for _, _, c in services})
    yield Finding(
        "VM004", f"transparent huge pages are 'always' on a host running {', '.join(names)}"
                 ": memory grows by 2 MiB pages the service did not ask for",
        *thp_location(host),
        [Evidence(f"transparent huge pages: {mode.value}", mode.source),
         *(Evidence(f"{c.service}: {format_size(c.bytes)} in the ledger; {why}", c.source)
           for _, why, c in services)],
        fix="transparent_hugepage=madvise on the kernel command line "
            "(GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub), or now: "
            "echo madvise > /sys/kernel/mm/transparent_hugepage/enabled",
        key="transparent_hugepage")
