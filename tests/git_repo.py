"""A real git repository in a temporary folder, for the tests that run ``oomaudit diff``
(tests/diff/test_diff.py, tests/docs/test_ci_docs.py). git itself makes every commit: no fake."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from conftest import need_program

IDENTITY = {"GIT_AUTHOR_NAME": "oomaudit tests", "GIT_AUTHOR_EMAIL": "tests@oomaudit.invalid",
            "GIT_COMMITTER_NAME": "oomaudit tests",
            "GIT_COMMITTER_EMAIL": "tests@oomaudit.invalid"}


def git_env() -> dict[str, str]:
    """The test's environment without the GIT_* a hook or CI may have set, and with an
    identity and no user or system config, so that every machine commits alike."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(IDENTITY, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    return env


class Repo:
    """A git working tree at ``path``: a new one on ``branch``, or one that exists."""

    def __init__(self, path: Path, branch: str = "main", init: bool = True):
        self.path = path
        self.program = need_program("git", "oomaudit diff reads commits with git")
        if init:
            path.mkdir(parents=True, exist_ok=True)
            self.git("init", "-q", "-b", branch)

    def git(self, *args: str) -> str:
        proc = subprocess.run([self.program, "-c", "commit.gpgsign=false", *args],
                              cwd=self.path, env=git_env(), capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
        return proc.stdout

    def write(self, rel: str, text: str) -> Path:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return target

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").strip()
