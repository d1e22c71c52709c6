"""Shared test helpers: run the real CLI in a subprocess, find ../shared test data."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("OOMAUDIT_SHARED", REPO.parent / "shared"))
IN_CI = os.environ.get("CI", "").lower() == "true"
# fixtures that tests of several folders use: a real php-fpm pool, the pre-commit hook repository
pytest_plugins = ["fpm_pool", "pre_commit_repo"]


def need_program(name: str, why: str) -> str:
    """Path of a reference program; skip (never in CI) when it is missing."""
    import shutil
    found = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/sbin/{name}") if os.access(p, os.X_OK)), None)
    if found:
        return found
    if IN_CI:
        pytest.fail(f"{name} is required in CI ({why}); .ci/run must install it")
    pytest.skip(f"{name} not installed ({why})")


def need_shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        if IN_CI:
            pytest.fail(f"{path} missing in CI")
        pytest.skip(f"{path} not present (test data lives in ../shared)")
    return path


@pytest.fixture
def oomaudit(tmp_path):
    """Run ``python -m oomaudit ARGS`` from ``tmp_path`` (never from the repo, where the
    source tree would shadow the installed package). Returns CompletedProcess."""
    def run(*args: str, cwd: Path | None = None, env: dict | None = None,
            input: str | None = None) -> subprocess.CompletedProcess:
        # a machine's own /etc/oomaudit.toml must not steer what a test's scan finds
        full_env = {**os.environ, "NO_COLOR": "1",
                    "OOMAUDIT_SYSTEM_CONFIG": str(tmp_path / "no-system-config.toml"),
                    **(env or {})}
        return subprocess.run([sys.executable, "-m", "oomaudit", *map(str, args)],
                              cwd=cwd or tmp_path, env=full_env, input=input,
                              capture_output=True, text=True, timeout=120)
    return run


def as_nobody() -> list[str]:
    """The command prefix that runs a program as nobody: files root may read and nobody may
    not are how tests make a source unreadable (root reads everything)."""
    if os.geteuid() != 0:
        return []  # already unprivileged: chmod 000 is enough
    if shutil.which("setpriv"):
        return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    if shutil.which("runuser"):
        return ["runuser", "-u", "nobody", "--"]
    pytest.skip("running as root without setpriv or runuser: cannot test unreadable files")


@pytest.fixture
def world_dir():
    """A folder the unprivileged user may enter (pytest's tmp_path is root-only)."""
    folder = Path(tempfile.mkdtemp(prefix="oomaudit-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def assert_no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr
