"""The pre-commit hooks, run by the real ``pre-commit try-repo`` on a temporary git repo:
they fail on an fstab without swap (SWAP001) and pass on one with a swap file. The
README's configuration works as written (``pre-commit autoupdate`` pins a commit, then
``pre-commit run``), leaves CI and tool YAML alone, and a plugin named in
``additional_dependencies`` is heard through ``oomaudit-repo``.

Slow (marked ``slow``, never skipped): each run builds pre-commit's own venv and
pip-installs this repository into it.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO
from pre_commit_repo import BAD_FSTAB, GOOD_FSTAB, LITTER, git, git_env, try_repo

HOOKS = REPO / ".pre-commit-hooks.yaml"
PLUGIN = REPO / "tests" / "plugin_api" / "fixtures" / "plugin_pkg"


def hooks() -> dict[str, dict]:
    return {h["id"]: h for h in yaml.safe_load(HOOKS.read_text(encoding="utf-8"))}


def passed(path: str) -> bool:
    """Whether pre-commit hands ``path`` to the ``oomaudit`` hook (files, then exclude)."""
    hook = hooks()["oomaudit"]
    return bool(re.search(hook["files"], path)) and not re.search(hook["exclude"], path)


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
    etc/redis/redis.conf  etc/redis/redis-cache.conf  etc/redis/6379.conf  redis_6380.conf
    etc/valkey/valkey.conf
"""
NOT_READ = """
    README.md  oomaudit/cli.py  .oomaudit.toml  pyproject.toml  etc/ssh/sshd_config
    etc/logrotate.conf  etc/security/limits.conf  templates/fstab.j2  templates/my.cnf.j2
    etc/fstab.erb  etc/hosts  etc/nginx/mime.types  etc/systemd/system/backup.timer
    .pre-commit-config.yaml  .pre-commit-hooks.yaml  .github/workflows/ci.yml
    .github/dependabot.yml  .gitlab-ci.yml  .gitlab/ci/test.yml  .circleci/config.yml
    mkdocs.yml  .readthedocs.yaml  .yamllint.yml  .golangci.yml  azure-pipelines.yml
    ansible/group_vars/all.yml  host_vars/db1.yaml  roles/mysql/tasks/main.yml
    roles/mysql/defaults/main.yml  charts/app/Chart.yaml  charts/app/values.yaml
    charts/app/values.prod.yaml  kustomization.yaml  pnpm-lock.yaml  environment.yml
"""


@pytest.mark.parametrize("path", READ.split() + ["charts/app/templates/deployment.yaml",
                                                  "deploy/.github-mirror/compose.yaml"])
def test_files_pattern_takes_the_config_types_oomaudit_reads(path):
    assert passed(path), path


@pytest.mark.parametrize("path", NOT_READ.split())
def test_files_pattern_leaves_other_files(path):
    assert not passed(path), path


# -- the real pre-commit ------------------------------------------------------------------


@pytest.fixture
def project(tmp_path) -> Path:
    """A config repository, as a pre-commit user has one."""
    root = tmp_path / "configs"
    (root / "etc").mkdir(parents=True)
    (root / "README.md").write_text("host configs\n")
    git("init", "-q", cwd=root)
    return root


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


# -- the README's configuration, as written -------------------------------------------------

def readme_yaml() -> list[str]:
    """The YAML blocks of the README's pre-commit section: the configuration, then the
    plugin example."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## pre-commit\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```yaml\n(.*?)^```$", section, re.M | re.S)


def run_hooks(project: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    env = git_env()
    env["PRE_COMMIT_HOME"] = str(home)
    proc = subprocess.run([sys.executable, "-m", "pre_commit", *args, "--color", "never"],
                          cwd=project, env=env, capture_output=True, text=True, timeout=900)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return proc


def test_readme_shows_one_hook_and_no_tag():
    config, plugin = readme_yaml()
    (repo,) = yaml.safe_load(config)["repos"]
    assert [h["id"] for h in repo["hooks"]] == ["oomaudit"]  # never both: findings twice
    assert repo["rev"] == "main" and "pre-commit autoupdate --repo" in (
        REPO / "README.md").read_text(encoding="utf-8").replace("\n", " ")
    (hook,) = yaml.safe_load(plugin)
    assert hook["id"] == "oomaudit-repo" and hook["additional_dependencies"]


@pytest.mark.slow
def test_readme_configuration_works_as_written(hook_repo, project):
    """The README's config with this repository's URL replaced by a local clone: autoupdate
    pins the commit main points to, and the hook reports SWAP001 once and skips the
    repository's CI and tool YAML without a word."""
    config = readme_yaml()[0].replace("https://github.com/oomaudit/oomaudit", str(hook_repo))
    (project / ".pre-commit-config.yaml").write_text(config)
    (project / ".github" / "workflows").mkdir(parents=True)
    (project / ".github" / "workflows" / "ci.yml").write_text("on: push\njobs: {}\n")
    (project / "mkdocs.yml").write_text("site_name: configs\n")
    (project / "etc" / "fstab").write_text(BAD_FSTAB)
    git("add", "-A", cwd=project)
    home = project.parent / "pre-commit-home"
    proc = run_hooks(project, home, "autoupdate", "--repo", str(hook_repo))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    head = subprocess.run(["git", "rev-parse", "main"], cwd=hook_repo, capture_output=True,
                          text=True, check=True).stdout.strip()
    pinned = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    assert pinned["repos"][0]["rev"] == head
    git("add", "-A", cwd=project)
    proc = run_hooks(project, home, "run", "--all-files")
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert len(re.findall(r"SWAP001 medium no swap", out)) == 1, out
    assert "not a config format" not in out and "mutable reference" not in out, out


@pytest.mark.slow
def test_a_plugins_format_through_the_repository_hook(hook_repo, project, tmp_path):
    """The README's plugin example, with the plugin of tests/fixtures installed from a copy
    (and its deliberately broken rule ignored): oomaudit-repo reports KEYDB001."""
    plugin = shutil.copytree(PLUGIN, tmp_path / "plugin", ignore=shutil.ignore_patterns(*LITTER))
    hook = yaml.safe_load(readme_yaml()[1])[0]
    hook["additional_dependencies"] = [str(plugin)]
    hook["args"] = ["--ignore", "KEYDB900"]
    head = subprocess.run(["git", "rev-parse", "main"], cwd=hook_repo, capture_output=True,
                          text=True, check=True).stdout.strip()
    config = {"repos": [{"repo": str(hook_repo), "rev": head, "hooks": [hook]}]}
    (project / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    (project / "etc" / "keydb").mkdir(parents=True)
    (project / "etc" / "keydb" / "keydb.conf").write_text("bind 127.0.0.1\nmaxmemory 0\n")
    git("add", "-A", cwd=project)
    proc = run_hooks(project, project.parent / "pre-commit-home", "run", "--all-files")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert re.search(r"^etc/keydb/keydb\.conf:2: KEYDB001 medium ", proc.stdout, re.M), proc.stdout
