"""Each Node process a unit starts in the host's memory ledger (the ``oomaudit_budget``
hook): the V8 heap limit its ``--max-old-space-size`` sets. Without the flag V8 sizes
the heap from the RAM it sees, which oomaudit does not compute: such a process is left
out of the ledger, and the how of each entry says what it does not count."""
from __future__ import annotations

from .constants import PLUGIN, SERVICE
from .heap import YOUNG, OldSpace, old_space
from .starts import Start, starts

CLAIMS = "node.claims"


def how(space: OldSpace) -> str:
    return (f"{space.word.text}: V8 old space {space.mib} MiB + young generation "
            f"{YOUNG >> 20} MiB (3 x 16 MiB semi-spaces) = the heap limit; Buffers and "
            "native memory outside the V8 heap not counted")


def sized(host) -> list[tuple[Start, OldSpace]]:
    """The starts whose heap is set, with it (node refusing its flag: left out)."""
    found = []
    for start in starts(host):
        space, error = old_space(start.words)
        if space is not None and not error:
            found.append((start, space))
    return found


def add_to_ledger(host) -> None:
    claims = host.cache.setdefault(CLAIMS, {})
    for start, space in sized(host):
        host.ledger.add(SERVICE, space.limit, f"{start.unit.name}: {how(space)}",
                        space.word.where, PLUGIN)
        claims[id(start)] = host.ledger.consumers[-1]
