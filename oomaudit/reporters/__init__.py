"""Built-in output formats, registered through the same hook a plugin would use.

Each format's module is imported only when it renders, so ``junit-xml`` costs
nothing to a run that prints text.
"""
from __future__ import annotations

from importlib import import_module

from .. import hookimpl
from ..report import Report, Reporter

FORMATS = {"text": "text", "json": "json_format", "junit": "junit", "prometheus": "prometheus",
           "sarif": "sarif", "github": "github", "gitlab": "gitlab"}


def _lazy(module: str):
    def render(report: Report, color: bool) -> str:
        return import_module(f"{__name__}.{module}").render(report, color)
    return render


@hookimpl
def oomaudit_reporters():
    return [Reporter(name, _lazy(module)) for name, module in FORMATS.items()]
