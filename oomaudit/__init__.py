"""oomaudit: audit a Linux host or a config repository for what lets the OOM killer strike.

The public API for plugin authors is re-exported here; ``oomaudit.hookspecs``
documents every hook. See docs/plugins.md.
"""
import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("oomaudit")

from .model import Evidence, Finding, MissingFact, Rule, Severity  # noqa: E402
from .reading import Reader, Source  # noqa: E402
from .report import Reporter  # noqa: E402

__all__ = [
    "Evidence", "Finding", "MissingFact", "Reader", "Reporter", "Rule", "Severity", "Source",
    "hookimpl", "__version__",
]
