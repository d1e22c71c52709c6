"""The kernel's own min_free_kbytes and the watermarks it derives, computed as Linux 6.x
does, so that a value set in a file can be compared with what the kernel would choose.

mm/page_alloc.c calculate_min_free_kbytes(): ``int_sqrt(lowmem_kbytes * 16)`` clamped to
128..262144 (lowmem_kbytes is nr_free_buffer_pages(): the managed pages of the zones up to
ZONE_NORMAL less their high watermarks, which on a 64-bit host is about the RAM).
mm/khugepaged.c set_recommended_min_free_kbytes(): with transparent huge pages enabled
(``always`` or ``madvise``), khugepaged raises it to two pageblocks per zone plus
MIGRATE_PCPTYPES squared pageblocks per zone, at most 5% of lowmem. With 2 MiB pageblocks
(x86-64) and the three zones of a host above 4 GiB (DMA, DMA32, Normal) that is 66 MiB.
__setup_per_zone_wmarks(): the low and high watermarks are min plus
max(min / 4, RAM x watermark_scale_factor / 10000), and min plus twice that.
"""
from __future__ import annotations

from math import isqrt

PAGEBLOCK_KB = 2048  # pageblock_nr_pages (512) x 4 KiB on x86-64
MIGRATE_PCPTYPES = 3
ZONES = 3  # DMA, DMA32 and Normal: a 64-bit host with more than 4 GiB


def computed_min_free_kbytes(lowmem_kb: int) -> int:
    """calculate_min_free_kbytes() for ``lowmem_kb`` of low memory."""
    return min(max(isqrt(lowmem_kb * 16), 128), 262144)


def thp_min_free_kbytes(lowmem_kb: int, zones: int = ZONES) -> int:
    """set_recommended_min_free_kbytes(): what khugepaged asks for, in KiB."""
    pages = PAGEBLOCK_KB // 4
    recommended = pages * zones * 2 + pages * zones * MIGRATE_PCPTYPES * MIGRATE_PCPTYPES
    return min(recommended, lowmem_kb // 4 // 20) * 4


def kernel_min_free_kbytes(lowmem_kb: int, thp: bool, zones: int = ZONES) -> int:
    """What the kernel sets when no file writes min_free_kbytes."""
    own = computed_min_free_kbytes(lowmem_kb)
    return max(own, thp_min_free_kbytes(lowmem_kb, zones)) if thp else own


def watermark_gap_kb(min_free_kb: int, ram_kb: int, scale_factor: int) -> int:
    """The distance from min to low (and low to high) summed over the zones, in KiB."""
    return max(min_free_kb // 4, ram_kb * scale_factor // 10000)
