"""What the vm plugin's registration and its code both need: the plugin's name and the
kernel settings it replays from the sysctl files, with the values the kernel accepts."""
from __future__ import annotations

PLUGIN = "vm"
SWAPPINESS, MIN_FREE, WATERMARK = ("vm/swappiness", "vm/min_free_kbytes",
                                   "vm/watermark_scale_factor")
# key -> (lowest, highest the kernel accepts, its default), as the sysctl plugin's
# kernel.LIMITS (mm/vmscan.c and mm/page_alloc.c sysctl tables: swappiness 0..200 since
# 5.8, watermark_scale_factor 1..3000). min_free_kbytes has no constant default: the
# kernel computes it from the RAM at boot (None here; see watermarks.py).
LIMITS = {SWAPPINESS: (0, 200, 60), MIN_FREE: (0, (1 << 31) - 1, None),
          WATERMARK: (1, 3000, 10)}
