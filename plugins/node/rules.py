"""NODE001: a unit's Node heap limit above the RAM the other services of the memory
ledger leave it. The fix proposes 80% of what is left, less the young generation, for
the Buffers and native memory that live outside the V8 heap."""
from __future__ import annotations

from oomaudit import Evidence, Finding
from oomaudit.snippets import snippet
from oomaudit.units import format_size

from .budget import CLAIMS, how, sized
from .heap import YOUNG

MiB = 1 << 20
OVERHEAD = 0.8


def check_node001(host):
    for start, space in sized(host):
        ram = host.require("ram")
        room = host.ledger.room(host.cache.get(CLAIMS, {}).get(id(start)), ram, start.unit.name)
        left = room.left
        if space.limit <= left or not room.judged:
            continue
        fit = (int(max(left, 0) * OVERHEAD) - YOUNG) // MiB
        fix = (snippet("the other services already claim this host's RAM: move {unit} or "
                       "shrink what the others take", unit=start.unit.name) if fit < 16 else
               snippet(f"in {{where}} (the flag node reads last), in place of {{word:sh}}:\n"
                       f"--max-old-space-size={fit}\n# {OVERHEAD:.0%} of the "
                       f"{format_size(max(left, 0))} left for it, less V8's young generation",
                       where=space.word.where, word=space.word.text))
        path, _, line = space.word.where.rpartition(":")
        yield Finding(
            "NODE001", f"{start.unit.name}: Node's heap limit {format_size(space.limit)} "
            f"({space.word.text}) is above the {format_size(max(left, 0))} of RAM the other "
            "services leave it: a growing heap pushes the host into the OOM killer",
            path, int(line) if line.isdigit() else None,
            [Evidence(how(space), space.word.where), Evidence(f"node started by {start.source}"),
             *room.evidence], fix, key=f"{start.unit.name}: --max-old-space-size")
