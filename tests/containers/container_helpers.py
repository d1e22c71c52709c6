"""Run ``oomaudit check`` on container configs and return the findings as (rule, path, line)."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import assert_no_traceback

FIXTURES = Path(__file__).parent / "fixtures"


def findings(oomaudit, *targets, cwd=None, ram="8G") -> list[dict]:
    proc = oomaudit("check", "--ram", ram, "--format", "json", *map(str, targets), cwd=cwd)
    assert_no_traceback(proc)
    assert proc.returncode in (0, 1), proc.stderr
    data = json.loads(proc.stdout)
    assert not data["errors"], data["errors"]
    return data["findings"]


def hits(found: list[dict], prefix: str = "CONTAINER") -> set[tuple[str, str, int]]:
    return {(f["rule"], Path(f["path"]).name, f["line"]) for f in found
            if f["rule"].startswith(prefix)}
