"""One process the OOM killer killed, as its kernel report told it: what the kernel-log
parser (:mod:`oomaudit.parsers.kernlog`) yields, the KLOG rules read and ``oomaudit logs``
prints (``to_json`` is the event of ``oomaudit/logs.schema.json``).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from ..record import Record


class OomEvent(Record):
    """One process killed by the OOM killer, with what its report said about why.

    Fields are None when the log does not print them (by kernel version, or because the
    excerpt is cut); ``partial`` marks a Killed line cut off after its pid."""

    def __init__(self, pid: int | None = None, process: str | None = None, uid: int | None = None,
                 total_vm_kb: int | None = None, anon_rss_kb: int | None = None,
                 file_rss_kb: int | None = None, shmem_rss_kb: int | None = None,
                 pgtables_kb: int | None = None, oom_score_adj: int | None = None,
                 score: int | None = None, selected: dict[str, Any] | None = None,
                 scope: str | None = None, constraint: str | None = None, memcg: str | None = None,
                 oom_memcg: str | None = None, memcg_usage_kb: int | None = None,
                 memcg_limit_kb: int | None = None, memcg_failcnt: int | None = None,
                 invoked_by: str | None = None, gfp_mask: str | None = None,
                 order: int | None = None, trigger_oom_score_adj: int | None = None,
                 via: str | None = None, swap_free_kb: int | None = None,
                 swap_total_kb: int | None = None, table: dict[str, Any] | None = None,
                 top: list[dict[str, Any]] | None = None, reaped: bool | None = None,
                 timestamp: str | float | None = None, uptime_s: float | None = None,
                 time: datetime | None = None, source: str = "", line: int = 0,
                 partial: bool = False):
        self.pid = pid
        self.process = process
        self.uid = uid
        self.total_vm_kb = total_vm_kb
        self.anon_rss_kb = anon_rss_kb
        self.file_rss_kb = file_rss_kb
        self.shmem_rss_kb = shmem_rss_kb
        self.pgtables_kb = pgtables_kb
        self.oom_score_adj = oom_score_adj
        self.score = score  # the badness score printed on the selection line
        self.selected = selected  # the selected task when a child died instead
        self.scope = scope  # "global" or "memcg"
        self.constraint = constraint
        self.memcg = memcg  # the victim's memory cgroup (task_memcg)
        self.oom_memcg = oom_memcg  # the cgroup whose limit was hit
        self.memcg_usage_kb = memcg_usage_kb
        self.memcg_limit_kb = memcg_limit_kb
        self.memcg_failcnt = memcg_failcnt
        self.invoked_by = invoked_by
        self.gfp_mask = gfp_mask
        self.order = order
        self.trigger_oom_score_adj = trigger_oom_score_adj
        self.via = via  # "sysrq", "oom_kill_allocating_task", "oom.group"
        self.swap_free_kb = swap_free_kb
        self.swap_total_kb = swap_total_kb
        self.table = table  # the victim's task-table row
        self.top = [] if top is None else top  # largest RSS in the task table
        self.reaped = reaped  # oom_reaper: True reaped, False unable, None not seen
        self.timestamp = timestamp  # as printed
        self.uptime_s = uptime_s
        self.time = time  # absolute, when the framing allows
        self.source = source
        self.line = line
        self.partial = partial

    @property
    def rss_kb(self) -> int | None:
        parts = [v for v in (self.anon_rss_kb, self.file_rss_kb, self.shmem_rss_kb) if v]
        return sum(parts) if parts else None

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in vars(self).items() if k != "time"}
        data["time"] = self.time.isoformat() if self.time else None
        return data
