"""The printk formats of an OOM-killer report, as regular expressions cited by kernel version.

Each pattern follows the format strings of ``mm/oom_kill.c``, ``mm/memcontrol.c`` and
``mm/show_mem.c`` from 2.6 to 6.x (the version and commit that changed it are noted
above it), so that one parser (:mod:`oomaudit.parsers.kernlog`) reads every kernel's
report. A new kernel's wording is added here, beside the versions before it.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

# Header, dump_header() in mm/oom_kill.c:
#   2.6.2x  "%s invoked oom-killer: gfp_mask=0x%x, order=%d, oomkilladj=%d"
#           (torvalds/linux mm/oom_kill.c @01017a22)
#   2.6.32+ "... gfp_mask=0x%x, order=%d, oom_adj=%d, oom_score_adj=%d"
#   3.x     "... gfp_mask=0x%x, order=%d, oom_score_adj=%hd"
#   4.5+    "... gfp_mask=%#x(%pGg), order=%d, oom_score_adj=%hd"
#   4.8-4.18 "... gfp_mask=%#x(%pGg), nodemask=%*pbl,  order=%d, oom_score_adj=%hd" (@c797bc88)
#   4.19+   back to "gfp_mask=%#x(%pGg), order=%d, oom_score_adj=%hd" (nodemask moved to
#           the oom-kill: summary); order=-1 means a SysRq-f kill (is_sysrq_oom()).
HEADER = re.compile(r"(?P<comm>\S(?:.{0,40}?\S)?) invoked oom-killer: (?P<args>.*)")
_INVOKED = " invoked oom-killer: "
GFP = re.compile(r"gfp_mask=(0x[0-9a-fA-F]+(?:\([^)]*\))?)")
ORDER = re.compile(r"order=(-?\d+)")
TRIGGER_ADJ = re.compile(r"(?:oom_score_adj|oomkilladj)=(-?\d+)")

# Selection, oom_kill_process():
#   2.6.2x  "Out of Memory: Kill process %d (%s) score %li and children."
#   2.6.3x  "%s: kill process %d (%s) score %li or a child"
#   2.6.36-4.x "%s: Kill process %d (%s) score %u or sacrifice child" (@c797bc88)
SELECT = re.compile(r"(?P<msg>(?:Out of [Mm]emory|Memory cgroup out of memory)[^:]{0,40}): "
                    r"[Kk]ill process (?P<pid>\d+) \((?P<comm>.{0,64}?)\) score (?P<score>-?\d+)")

# Kill, __oom_kill_task()/__oom_kill_process():
#   2.6.2x  "%s: Killed process %d (%s)."  (@01017a22)
#   <2.6.36 "Killed process %d (%s) vsz:%lukB, anon-rss:%lukB, file-rss:%lukB"
#   2.6.36+ "Killed process %d (%s) total-vm:%lukB, anon-rss:%lukB, file-rss:%lukB"
#   4.5+    "..., shmem-rss:%lukB" (@c797bc88)
#   4.19+   "%s: Killed process ..." (message first: "Out of memory", "Memory cgroup out of
#           memory", "Out of memory (oom_kill_allocating_task)")
#   5.4+    "%s: Killed process %d (%s) total-vm:%lukB, anon-rss:%lukB, file-rss:%lukB,
#            shmem-rss:%lukB, UID:%u pgtables:%lukB oom_score_adj:%hd"
#   backports: RHEL 6 "Killed process %d, UID %d, (%s) ...", RHEL 7 "Killed process %d
#   (%s), UID %u, total-vm:..."
_KILL = (r"(?:(?P<msg>Out of [Mm]emory(?: \(oom_kill_allocating_task\))?|Memory cgroup out of"
         r" memory|No available memory[^:]{0,20}): )?Killed process (?P<pid>\d+)")
_MSG_MAX = 42  # "Out of memory (oom_kill_allocating_task): ", the longest message
KILLED = re.compile(_KILL + r"(?P<rest>(?:(?!Killed process).)*)")
_KILLED_ALONE = re.compile(_KILL + r"(?P<rest>.*)")  # KILLED where the line holds one kill
COMM = re.compile(r",?\s*(?:UID:?\s*(?P<uid>\d+),?\s*)?\((?P<comm>.{0,64}?)\)(?=[\s,.]|$)")
KB = re.compile(r"(total-vm|vsz|anon-rss|file-rss|shmem-rss|pgtables):(\d[\d,]*)kB")
UID = re.compile(r"\bUID[: ]\s*(\d+)")
VICTIM_ADJ = re.compile(r"oom_score_adj:(-?\d+)")

# Summary, dump_oom_summary() 4.19+: "oom-kill:constraint=%s,nodemask=%*pbl" then
# cpuset_print_current_mems_allowed() ",cpuset=%s,mems_allowed=%*pbl" and
# mem_cgroup_print_oom_context() ",oom_memcg=%s,task_memcg=%s" or ",global_oom", then
# ",task=%s,pid=%d,uid=%d". Kernels without cpusets/memcg omit those parts.
SUMMARY = re.compile(r"oom-kill:(?P<fields>constraint=.*)")
SUMMARY_SPLIT = re.compile(r",(?=(?:constraint|nodemask|cpuset|mems_allowed|oom_memcg|"
                            r"task_memcg|task|pid|uid)=|global_oom\b)")

# memcg, mm/memcontrol.c: mem_cgroup_print_oom_meminfo() "memory: usage %llukB, limit
# %llukB, failcnt %lu" (v1 also "memory+swap:", "kmem:"); before 4.19
# mem_cgroup_print_oom_info() "Task in %s killed as a result of limit of %s"; 4.19+
# mem_cgroup_print_oom_group() "Tasks in %s are going to be killed due to memory.oom.group
# set"; "Memory cgroup stats for %s:" opens the stats dump (not the victim's cgroup).
MEMCG_USAGE = re.compile(r"(?<![\w+])memory: usage (\d+)kB, limit (\d+)kB, failcnt (\d+)")
TASK_IN = re.compile(r"Task in (?P<memcg>\S+) killed as a result of limit of (?P<limit>\S+)")
GROUP = re.compile(r"Tasks in (?P<memcg>\S+) are going to be killed due to memory\.oom\.group")
# oom_reaper (4.6+): "oom_reaper: reaped process %d (%s), now anon-rss:%lukB, ..." or
# "oom_reaper: unable to reap pid:%d (%s)" (@c797bc88).
REAPED = re.compile(r"oom_reaper: reaped process (\d+)")
UNREAPED = re.compile(r"oom_reaper: unable to reap pid:(\d+)")
# show_mem()/show_swap_cache_info(): "Free swap  = %lukB", "Total swap = %lukB".
SWAP = re.compile(r"(Free|Total) swap\s*=\s*(\d+)kB")
PANIC = re.compile(r"Kernel panic - not syncing: (?:Out of memory|out of memory)[^\r\n]*")
# dump_tasks(): "[ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name"
# (2.6.32: "... rss cpu oom_adj oom_score_adj name"; 4.15+: "[  pid  ] ... pgtables_bytes
# ..."; 6.x adds "rss_anon rss_file rss_shmem"): columns are read from the header.
TABLE_HEAD = re.compile(r"\[\s*pid\s*\]\s+(?P<cols>uid\s+tgid\s+total_vm\s+rss.*\bname)\s*$")
TABLE_ROW = re.compile(r"\[\s*(?P<pid>\d+)\]\s+(?P<rest>-?\d.*)")


# A search for HEADER or KILLED tries every position of a line (the optional message, the
# comm of up to 42 characters before its literal) and KILLED a lookahead at every character
# of a kill's rest: these start where the first match can, a few characters before the
# literal, and read a line holding one kill to its end. Same matches, a fraction of the time.
def header(line: str) -> re.Match | None:
    at = line.find(_INVOKED)
    return HEADER.search(line, max(0, at - 42)) if at >= 0 else None


def kills(line: str) -> Iterator[re.Match]:
    """KILLED's matches in ``line``: two records may share a line."""
    at = line.find("Killed process")
    if at < 0:
        return iter(())
    pattern = KILLED if line.find("Killed process", at + 1) >= 0 else _KILLED_ALONE
    return pattern.finditer(line, max(0, at - _MSG_MAX))
