"""oomaudit.record: the repr and the opt-in equality that replace dataclasses'."""
from __future__ import annotations

import pytest

from oomaudit import Evidence, Finding
from oomaudit.host import Host
from oomaudit.record import Record


class Node(Record):
    def __init__(self, name: str):
        self.name = name
        self.peer: Node | None = None


def test_repr_names_every_attribute_and_survives_a_cycle():
    a, b = Node("a"), Node("b")
    a.peer, b.peer = b, a
    assert repr(a) == "Node(name='a', peer=Node(name='b', peer=...))"


def test_records_compare_by_identity_unless_they_opt_in():
    assert Host("h", "files", None) != Host("h", "files", None)
    one = Finding("SWAP001", "no swap", "fstab", 1, [Evidence("0 B", "fstab:1")])
    assert one == Finding("SWAP001", "no swap", "fstab", 1, [Evidence("0 B", "fstab:1")])
    assert one != Finding("SWAP001", "no swap", "fstab", 2, [Evidence("0 B", "fstab:1")])
    assert one != ("SWAP001", "no swap")
    with pytest.raises(TypeError):  # mutable and compared by content: not hashable
        hash(one)


def test_values_are_immutable_and_hashable():
    evidence = Evidence("RAM = 8.0 GiB", "declared: --ram")
    assert {evidence: 1}[Evidence("RAM = 8.0 GiB", "declared: --ram")] == 1
    with pytest.raises(AttributeError):
        evidence.what = "RAM = 16.0 GiB"
