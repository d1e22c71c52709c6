"""Fresh venvs with this repository installed the way a user installs it, for the tests of
what only an install shows: entry points, package data, a third-party or scaffolded plugin
beside oomaudit. Building one takes tens of seconds: the tests that do are marked slow."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO

BUILD_LITTER = ("__pycache__", "*.pyc", "*.egg-info", "build", "dist", ".pytest_cache",
                ".ruff_cache", ".hypothesis", ".venv", ".git")


def copy_worktree(dest: Path) -> Path:
    """The repository as its working tree has it (tracked and new files, nothing ignored), so
    that build/, *.egg-info or a .venv of the working tree never reach the install; tests/
    is left out (nothing installs it)."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], cwd=REPO, capture_output=True, check=True)
        names = [n for n in out.stdout.decode().split("\0") if n]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (an sdist)
        shutil.copytree(REPO, dest, ignore=shutil.ignore_patterns(*BUILD_LITTER))
        return dest
    for name in names:
        source = REPO / name
        if source.is_file() and not name.startswith("tests/"):
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "OOMAUDIT_DISABLE_PLUGINS")
           and not k.startswith("PIP_")}
    env.update(NO_COLOR="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


class Venv:
    def __init__(self, path: Path, work: Path):
        self.path, self.work = path, work
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        self.python = path / "bin" / "python"

    def pip_install(self, *args: str) -> None:
        proc = subprocess.run([str(self.python), "-m", "pip", "install", "-q", *args],
                              env=clean_env(), capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr

    def py(self, code: str) -> str:
        return subprocess.run([str(self.python), "-c", code], cwd=self.work, env=clean_env(),
                              capture_output=True, text=True, check=True).stdout.strip()

    def oomaudit(self, *args, env: dict | None = None) -> subprocess.CompletedProcess:
        """The installed console script, run from a folder outside any source tree."""
        proc = subprocess.run([str(self.path / "bin" / "oomaudit"), *map(str, args)],
                              cwd=self.work, env=clean_env(**(env or {})),
                              capture_output=True, text=True, timeout=300)
        assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
        return proc
