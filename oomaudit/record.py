"""The base of oomaudit's mutable classes, and why its classes are not dataclasses.

``@dataclass`` writes a class's ``__init__``, ``__repr__`` and ``__eq__`` (for a frozen
class also ``__setattr__``, ``__delattr__`` and ``__hash__``) as source text and compiles
each with ``exec`` when the class is created, which is on every run: about 0.15 ms for
the plainest class and 0.9 ms for a frozen one on a 2-CPU VM. A one-file pre-commit run
created 24 of them, 13 ms of its 70 (``bench/bench.py``). So oomaudit writes classes out:

* An immutable value (a finding's evidence, a fact, a parsed fstab line) is a
  ``typing.NamedTuple``: equality, hashing and a repr come from ``tuple`` in C, and the
  class costs a tenth of a frozen dataclass. Being a tuple, it also equals a plain tuple of
  the same fields; nothing in oomaudit compares it with one.
* Anything else is a plain class with an ``__init__`` that lists its fields, based on
  :class:`Record` for a repr that shows them. It compares by identity, as an entity
  should (two hosts with equal fields are two hosts); a record that is compared by its
  content (``Finding``, in plugin authors' tests) says so with
  ``__eq__ = Record.same_content``, which also makes it unhashable, as it is mutable.
"""
from __future__ import annotations

from reprlib import recursive_repr


class Record:
    """A repr naming every attribute (test failures, ``--debug``) and an opt-in equality."""

    @recursive_repr()  # records that point at each other (a unit and its set) print "..."
    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in vars(self).items())
        return f"{type(self).__name__}({fields})"

    def same_content(self, other: object) -> bool:
        """Equal when ``other`` is of the same class with equal attributes."""
        if type(other) is not type(self):
            return NotImplemented
        return vars(self) == vars(other)
