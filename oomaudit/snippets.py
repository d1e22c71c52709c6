"""Fix snippets that are safe to paste: the one way a value read from an audited file (a
path, a unit, pool or service name, a setting's text) enters a finding's ``fix``.

A fix is text an operator copies into a root shell or a config file, and the value came from
a file anyone may have written: an fstab path ``/swap$(curl ...|sh)`` must reach the shell as
one word, and a compose service name holding a newline must not add a line of its own to
the YAML it is pasted into. So every fix that names such a value is built by ``snippet``:

- ``{name:sh}`` in the template is one shell word (``shlex.quote``): ``shlex.split`` of the
  line gives the value back whole, whatever it holds; plain names stay as they are
  (``/swapfile``, ``mysql.service``). A list or tuple is a word per item.
- ``{name}`` is put in as it is: a config-file line or a comment, where quoting would change
  the value.
- A value that holds a line break (or a NUL, which no argument or config line carries) can
  be neither: the fix is then ``otherwise``, prose that says where to act without repeating
  the value.
"""
from __future__ import annotations

import shlex
import string

# what str.splitlines (the text report), a shell and a config reader take for the end of a
# line, and NUL (a set: a regex of it cost 0.3 ms to compile on every run)
_BREAK = frozenset("\x00\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")

UNSAFE = ("a name in this finding holds a line break, which no command or config line can "
          "carry: make the change by hand at the place the finding names")


class _Quoting(string.Formatter):
    def format_field(self, value: object, format_spec: str) -> str:
        if format_spec == "sh":
            words = value if isinstance(value, (list, tuple)) else (value,)
            return " ".join(shlex.quote(str(word)) for word in words)
        return super().format_field(value, format_spec)


_QUOTING = _Quoting()


def pasteable(value: object) -> bool:
    """Whether ``value`` (each item of a list or tuple) fits on one line of a command or a
    config file."""
    if isinstance(value, (list, tuple)):
        return all(map(pasteable, value))
    return _BREAK.isdisjoint(str(value))


def snippet(template: str, /, otherwise: str = UNSAFE, **values: object) -> str:
    """``template`` (``str.format`` fields) filled with ``values``: ``{name:sh}`` a shell word,
    ``{name}`` the value as it is; ``otherwise`` when a value cannot be put on one line."""
    if not all(map(pasteable, values.values())):
        return otherwise
    return _QUOTING.format(template, **values)
