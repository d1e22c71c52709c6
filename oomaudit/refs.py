"""Functions named as ``"module:function"`` and imported on first call.

Start-up is paid on every pre-commit run, so a plugin registers its readers and
rules with names instead of function objects; the module behind a name is
imported only when a file of that format is found or the rule has something to
check.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any


class Lazy:
    """A callable standing for ``module:attr``; it imports the module on first call."""

    __slots__ = ("ref", "_target")

    def __init__(self, ref: str):
        module, sep, attr = ref.partition(":")
        if not (module and sep and attr):
            raise ValueError(f"{ref!r}: expected 'module:function'")
        self.ref = ref
        self._target = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._target is None:
            module, _, attr = self.ref.partition(":")
            target: Any = import_module(module)
            for part in attr.split("."):
                target = getattr(target, part)
            self._target = target
        return self._target(*args, **kwargs)

    def __repr__(self) -> str:
        return f"lazy({self.ref!r})"

