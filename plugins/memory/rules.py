"""HOST001: memory or swap in use above the alert threshold, on a live host (the
registration calls it for no other)."""
from __future__ import annotations

from oomaudit import Evidence, Finding
from oomaudit.units import format_size

from .meminfo import MEMINFO, meminfo


def _threshold(host, key: str, default: float) -> tuple[float, str]:
    """The configured alert percentage and where it came from."""
    settings = host.settings
    value = getattr(settings, key.replace("-", "_"), None) if settings else None
    if value is None:
        return default, f"default; set {key} in .oomaudit.toml to change it"
    return value, f"{key} in {settings.path}"


def check_host001(host):
    info = meminfo(host)
    if not info or not info.get("MemTotal"):
        return
    total, available = info["MemTotal"], info.get("MemAvailable", info.get("MemFree", 0))
    limit, limit_source = _threshold(host, "memory-alert-percent", 85)
    used = total - available
    percent = used * 100 / total
    if percent > limit:
        yield Finding(
            "HOST001", f"memory in use {percent:.1f}% ({format_size(used)} of "
            f"{format_size(total)}) is above the alert threshold {limit:g}%",
            evidence=[Evidence(f"MemTotal = {format_size(total)}", f"live: {MEMINFO}"),
                      Evidence(f"MemAvailable = {format_size(available)}", f"live: {MEMINFO}"),
                      Evidence(f"in use = MemTotal - MemAvailable = {format_size(used)}"),
                      Evidence(f"threshold {limit:g}%", limit_source)],
            fix="see the kill order in this report and 'oomaudit budget': shrink the largest "
                "consumers or add RAM before the OOM killer chooses for you", key="memory")
    swap_total = info.get("SwapTotal", 0)
    if not swap_total:
        return
    swap_used = swap_total - info.get("SwapFree", 0)
    swap_limit, swap_source = _threshold(host, "swap-alert-percent", 50)
    swap_percent = swap_used * 100 / swap_total
    if swap_percent > swap_limit:
        yield Finding(
            "HOST001", f"swap in use {swap_percent:.1f}% ({format_size(swap_used)} of "
            f"{format_size(swap_total)}) is above the alert threshold {swap_limit:g}%",
            evidence=[Evidence(f"SwapTotal = {format_size(swap_total)}", f"live: {MEMINFO}"),
                      Evidence(f"SwapFree = {format_size(info.get('SwapFree', 0))}",
                               f"live: {MEMINFO}"),
                      Evidence(f"threshold {swap_limit:g}%", swap_source)],
            fix="the host is short of RAM for its working set: find what swaps (smem, "
                "/proc/PID/status VmSwap) and shrink it, or add RAM", key="swap")
