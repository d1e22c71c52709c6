"""Helpers for the engine's contract tests: the stub plugin (tests/stub_plugins) and the
JSON report schema.

The stub plugin is a third-party-like plugin: on ``PYTHONPATH`` its ``.dist-info``
puts it in the ``oomaudit`` entry-point group, so the real CLI loads it as it would
load a pip-installed one. Its format (``*.stub``) is described in its docstring.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from importlib import resources
from pathlib import Path

STUB_DIR = Path(__file__).resolve().parent / "stub_plugins"


def stub_env(**extra: str) -> dict[str, str]:
    """Environment for ``oomaudit(...)`` that makes the stub plugin discoverable."""
    path = os.pathsep.join(p for p in (str(STUB_DIR), os.environ.get("PYTHONPATH")) if p)
    return {"PYTHONPATH": path, **extra}


def stub_module():
    """The stub plugin module, imported in-process (for ``load_plugins(extra=...)``)."""
    spec = importlib.util.spec_from_file_location("oomaudit_stub", STUB_DIR / "oomaudit_stub.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def schema() -> dict:
    """The schema as installed with the package (package-data), not read from the repo."""
    return json.loads(resources.files("oomaudit").joinpath("report.schema.json")
                      .read_text(encoding="utf-8"))


def validate(report: dict) -> None:
    import jsonschema
    jsonschema.Draft202012Validator(schema()).validate(report)


def assert_no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr


def json_report(proc: subprocess.CompletedProcess) -> dict:
    """The JSON a CLI run printed, checked against the schema and the process exit code."""
    assert_no_traceback(proc)
    report = json.loads(proc.stdout)
    validate(report)
    assert report["summary"]["exit_code"] == proc.returncode, proc.stderr
    return report


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    """The single stderr line of a run that failed with exit code 2 (and wrote nothing)."""
    assert_no_traceback(proc)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("oomaudit: error: "), lines[0]
    assert proc.stdout == "", proc.stdout
    return lines[0]
