"""The pre-commit hooks, run by the real ``pre-commit try-repo`` on a temporary git repo:
they fail on an fstab without swap (SWAP001) and pass on one with a swap file.

Slow (marked ``slow``, never skipped): each try-repo builds pre-commit's own venv and
pip-installs this repository into it (try-repo uses a fresh store every time).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO

HOOKS = REPO / ".pre-commit-hooks.yaml"
LITTER = ("__pycache__", "*.pyc", "*.egg-info", "build", "dist", ".pytest_cache",
          ".ruff_cache", ".hypothesis", ".venv", ".git")

BAD_FSTAB = """\
# <file system>                           <mount point> <type> <options>         <dump> <pass>
UUID=0a3407de-014b-458b-b5c1-848e92a327a3 /             ext4   errors=remount-ro 0      1
UUID=7a0bd5ee-d5e5-4a4b-a2cd-1f2d2c4f1d5a /boot         ext4   defaults          0      2
"""
GOOD_FSTAB = BAD_FSTAB + "/swapfile none swap sw 0 0\n"


def hooks() -> dict[str, dict]:
    return {h["id"]: h for h in yaml.safe_load(HOOKS.read_text(encoding="utf-8"))}


# -- the hooks file ----------------------------------------------------------------------

def test_hook_definitions():
    staged, repo = hooks()["oomaudit"], hooks()["oomaudit-repo"]
    assert staged["entry"] == "oomaudit check" and staged["language"] == "python"
    assert staged["require_serial"] is True and staged.get("pass_filenames", True)
    assert repo["entry"] == "oomaudit check ." and repo["language"] == "python"
    assert repo["pass_filenames"] is False and repo["always_run"] is True


READ = """
    etc/fstab  fstab  hosts/db1/etc/fstab  etc/fstab.d/data.fstab  db1_fstab
    etc/sysctl.conf  etc/sysctl.d/99-vm.conf  usr/lib/sysctl.d/50-default.conf
    etc/my.cnf  etc/mysql/my.cnf  etc/mysql/conf.d/tuning.cnf  mariadb.conf.d/50-server.cnf
    etc/postgresql/16/main/postgresql.conf  pgdata/postgresql.auto.conf
    etc/php-fpm.conf  etc/php/8.2/fpm/pool.d/www.conf  etc/php-fpm.d/www.conf
    etc/httpd/conf/httpd.conf  etc/apache2/apache2.conf  etc/httpd/conf.d/mpm.conf
    etc/apache2/mods-enabled/mpm_prefork.conf  conf/extra/httpd-mpm.conf
    etc/nginx/nginx.conf  etc/nginx/conf.d/app.conf  etc/nginx/sites-enabled/default
    etc/systemd/system/mysql.service  lib/systemd/system/php8.2-fpm.service
    etc/systemd/system/nginx.service.d/override.conf  etc/systemd/system/db.slice
    docker-compose.yml  deploy/compose.yaml  docker/docker-compose.prod.yml
    k8s/postgres-statefulset.yaml  manifests/deployment.yml
"""
NOT_READ = """
    README.md  oomaudit/cli.py  .oomaudit.toml  pyproject.toml  etc/ssh/sshd_config
    etc/logrotate.conf  etc/security/limits.conf  templates/fstab.j2  templates/my.cnf.j2
    etc/fstab.erb  etc/hosts  etc/nginx/mime.types  etc/systemd/system/backup.timer
"""


@pytest.mark.parametrize("path", READ.split())
def test_files_pattern_takes_the_config_types_oomaudit_reads(path):
    assert re.search(hooks()["oomaudit"]["files"], path), path


@pytest.mark.parametrize("path", NOT_READ.split())
def test_files_pattern_leaves_other_files(path):
    assert not re.search(hooks()["oomaudit"]["files"], path), path


# -- the real pre-commit ------------------------------------------------------------------

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
    git("init", "-q", cwd=dest)
    git("add", "-A", cwd=dest)
    git("commit", "-q", "-m", "oomaudit under test", cwd=dest)
    return dest


@pytest.fixture
def project(tmp_path) -> Path:
    """A config repository, as a pre-commit user has one."""
    root = tmp_path / "configs"
    (root / "etc").mkdir(parents=True)
    (root / "README.md").write_text("host configs\n")
    git("init", "-q", cwd=root)
    return root


def try_repo(hook_repo: Path, project: Path, *args: str) -> subprocess.CompletedProcess:
    env = git_env()
    env["PRE_COMMIT_HOME"] = str(project.parent / "pre-commit-home")
    proc = subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo),
                           *args, "--color", "never"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=600)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return proc


@pytest.mark.slow
def test_hooks_fail_on_an_fstab_without_swap(hook_repo, project):
    (project / "etc" / "fstab").write_text(BAD_FSTAB)
    git("add", "-A", cwd=project)
    proc = try_repo(hook_repo, project, "--all-files", "--verbose")
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert re.search(r"^oomaudit \(OOM-killer risks in config files\)\.+Failed$", out, re.M), out
    assert re.search(r"^oomaudit \(whole repository\)\.+Failed$", out, re.M), out
    assert re.search(r"^(\./)?etc/fstab(:\d+)?: SWAP001 medium no swap", out, re.M), out
    assert re.search(r"^- hook id: oomaudit\n(- duration: .*\n)?- exit code: 1$", out, re.M), out


@pytest.mark.slow
def test_hooks_pass_on_an_fstab_with_a_swap_file(hook_repo, project):
    (project / "etc" / "fstab").write_text(GOOD_FSTAB)
    git("add", "-A", cwd=project)
    proc = try_repo(hook_repo, project, "--all-files", "--verbose")
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert re.search(r"^oomaudit \(OOM-killer risks in config files\)\.+Passed$", out, re.M), out
    assert re.search(r"^oomaudit \(whole repository\)\.+Passed$", out, re.M), out
    assert "SWAP001" not in out


@pytest.mark.slow
def test_repo_hook_runs_when_no_config_file_is_staged(hook_repo, project):
    """Only README.md is staged: the per-file hook has nothing to check, the whole-repo hook
    still audits the committed fstab."""
    (project / "etc" / "fstab").write_text(BAD_FSTAB)
    git("add", "-A", cwd=project)
    git("commit", "-q", "-m", "configs", cwd=project)
    (project / "README.md").write_text("host configs, now documented\n")
    git("add", "README.md", cwd=project)
    proc = try_repo(hook_repo, project)
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert re.search(r"^oomaudit \(OOM-killer risks in config files\)\.+\(no files to check\)"
                     r"Skipped$", out, re.M), out
    assert re.search(r"^oomaudit \(whole repository\)\.+Failed$", out, re.M), out
    assert "SWAP001" in out
