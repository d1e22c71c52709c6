"""The real pre-commit on this repository's hooks, for tests/integrations/test_pre_commit.py
and the baseline test: a git repository of the working tree's files that ``pre-commit
try-repo`` clones (``hook_repo``, a fixture registered by tests/conftest.py), and git and
pre-commit run without the caller's environment leaking in."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

LITTER = ("__pycache__", "*.pyc", "*.egg-info", "build", "dist", ".pytest_cache",
          ".ruff_cache", ".hypothesis", ".venv", ".git")

BAD_FSTAB = """\
# <file system>                           <mount point> <type> <options>         <dump> <pass>
UUID=0a3407de-014b-458b-b5c1-848e92a327a3 /             ext4   errors=remount-ro 0      1
UUID=7a0bd5ee-d5e5-4a4b-a2cd-1f2d2c4f1d5a /boot         ext4   defaults          0      2
"""
GOOD_FSTAB = BAD_FSTAB + "/swapfile none swap sw 0 0\n"


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=cwd, env=git_env(),
                   check=True, capture_output=True)


def git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "OOMAUDIT_DISABLE_PLUGINS")
           and not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(GIT_AUTHOR_NAME="oomaudit tests", GIT_AUTHOR_EMAIL="tests@oomaudit.invalid",
               GIT_COMMITTER_NAME="oomaudit tests", GIT_COMMITTER_EMAIL="tests@oomaudit.invalid",
               NO_COLOR="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> Path:
    """A clean git repository holding this repository's files as the working tree has them
    (tracked and new, nothing ignored), committed: what try-repo clones. Built from the files
    rather than cloned, so that uncommitted work is what gets tested, in CI's fresh clone as
    at a developer's desk."""
    dest = tmp_path_factory.mktemp("hook-repo")
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], cwd=REPO, capture_output=True, check=True)
        names = [n for n in out.stdout.decode().split("\0") if n]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (an sdist)
        shutil.rmtree(dest)
        shutil.copytree(REPO, dest, ignore=shutil.ignore_patterns(*LITTER))
    else:
        for name in names:
            if (REPO / name).is_file():
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / name, dest / name)
    git("init", "-q", "-b", "main", cwd=dest)  # the README's rev: main
    git("add", "-A", cwd=dest)
    git("commit", "-q", "-m", "oomaudit under test", cwd=dest)
    return dest


def try_repo(hook_repo: Path, project: Path, *args: str) -> subprocess.CompletedProcess:
    env = git_env()
    env["PRE_COMMIT_HOME"] = str(project.parent / "pre-commit-home")
    proc = subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo),
                           *args, "--color", "never"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=600)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return proc
