"""Finding identity: every rule documents the key it fingerprints by, and a fingerprint
survives what does not change the problem (a moved line, another value, the order of the
targets, the working directory, where a tree sits) but not another pool, service or unit.

Everything runs through the real CLI and reads ``fingerprint`` from its JSON report.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import need_program
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oomaudit.fingerprint import fingerprint

POOLS = """\
[www]
user = www-data
listen = /run/php/www.sock
pm = static
pm.max_children = 50
php_admin_value[memory_limit] = 256M

[api]
user = www-data
listen = /run/php/api.sock
pm = static
pm.max_children = 40
php_admin_value[memory_limit] = 256M
"""
MY_CNF = """\
[mysqld]
innodb_buffer_pool_size = 7G
sort_buffer_size = 1.5M
max_connections = 500
"""
FSTAB = "UUID=0a3407de-014b-458b-b5c1-848e92a327a3 / ext4 errors=remount-ro 0 1\n"
SYSCTL = "vm.overcommit_memory = 1\nvm.panic_on_oom = 1\n"
UNIT = """\
[Unit]
Description=MySQL

[Service]
ExecStart=/usr/sbin/mysqld
"""
COMPOSE = """\
services:
  web:
    image: nginx
  db:
    image: mysql:8.0
    command: --innodb-buffer-pool-size=2G
    mem_limit: 1g
"""
# path in the repository -> (text, comment prefix the format reads)
FILES = {
    "etc/php/8.2/fpm/pool.d/www.conf": (POOLS, ";"),
    "etc/mysql/my.cnf": (MY_CNF, "#"),
    "etc/fstab": (FSTAB, "#"),
    "etc/sysctl.d/90-vm.conf": (SYSCTL, "#"),
    "etc/systemd/system/mysql.service": (UNIT, "#"),
    "docker-compose.yml": (COMPOSE, "#"),
}
# what the repository above must report, each rule at least once
EXPECTED = {"CONTAINER001", "CONTAINER003", "FPM001", "FPM002", "FPM003", "HOST002",
            "MYSQL001", "MYSQL002", "MYSQL003", "SWAP001", "SYSCTL002", "SYSCTL003",
            "SYSTEMD005"}


def make_repo(root: Path, files: dict[str, str] | None = None) -> Path:
    texts = {path: text for path, (text, _) in FILES.items()}
    texts.update(files or {})
    for path, text in texts.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    return root


def audit(run, *args, cwd: Path) -> list[dict]:
    proc = run(*args, "--ram", "8G", "--format", "json", cwd=cwd)
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    assert not report["errors"]
    return report["findings"]


def identities(findings: list[dict]) -> set[tuple[str, str | None, str]]:
    return {(f["rule"], f["path"] and Path(f["path"]).name, f["fingerprint"]) for f in findings}


def by_message(findings: list[dict], rule: str, text: str) -> dict:
    [found] = [f for f in findings if f["rule"] == rule and text in f["message"]]
    return found


# -- the catalogue ----------------------------------------------------------------------

def test_every_builtin_rule_documents_its_key():
    from oomaudit.engine import Registry
    from oomaudit.manager import load_plugins

    rules = Registry.build(load_plugins(disable_third_party=True)).rules
    assert len(rules) > 30
    undocumented = [r.id for r in rules.values() if not r.fingerprint.strip()]
    assert not undocumented, f"rules/*.toml: add fingerprint = \"...\" to {undocumented}"


def test_explain_shows_the_key(oomaudit):
    proc = oomaudit("explain", "FPM001", "--no-plugins")
    assert proc.returncode == 0, proc.stderr
    assert "Fingerprint key" in proc.stdout and "the pool name" in proc.stdout


# -- what keeps a fingerprint -----------------------------------------------------------

def test_the_sample_repository_has_every_kind_of_finding(oomaudit, tmp_path):
    findings = audit(oomaudit, "check", ".", cwd=make_repo(tmp_path))
    assert EXPECTED <= {f["rule"] for f in findings}
    assert all(len(f["fingerprint"]) == 32 and "#" not in f["fingerprint"] for f in findings)


def _insertions(draw_lines):
    """Per file: (position, line) pairs inserted before the line at that position."""
    line = st.sampled_from(["", "   ", "{c} moved down by a comment", "{c}"])
    return st.fixed_dictionaries({path: st.lists(st.tuples(st.integers(0, 60), line),
                                                 min_size=1, max_size=draw_lines)
                                   for path in FILES})


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(inserted=_insertions(6))
def test_moving_lines_keeps_every_fingerprint(oomaudit, inserted):
    """Blank lines and comments above and between the settings move every finding's line
    and none of its fingerprints."""
    with tempfile.TemporaryDirectory() as before_dir, tempfile.TemporaryDirectory() as after_dir:
        before = audit(oomaudit, "check", ".", cwd=make_repo(Path(before_dir)))
        moved = {}
        for path, (text, comment) in FILES.items():
            lines = text.splitlines()
            for position, new in sorted(inserted[path], reverse=True):
                lines.insert(min(position, len(lines)), new.format(c=comment))
            lines.insert(0, f"{comment} a header that moves everything")
            moved[path] = "\n".join(lines) + "\n"
        after = audit(oomaudit, "check", ".", cwd=make_repo(Path(after_dir), moved))
    assert identities(after) == identities(before)
    lines_before = {(f["fingerprint"], f["line"]) for f in before if f["line"]}
    lines_after = {(f["fingerprint"], f["line"]) for f in after if f["line"]}
    assert lines_before and not lines_before & lines_after  # every located finding moved


VALUE_CHANGES = [  # file, text before, after, rule, part of the finding's message
    ("etc/php/8.2/fpm/pool.d/www.conf", "pm.max_children = 50", "pm.max_children = 60",
     "FPM001", "pool www"),
    ("etc/mysql/my.cnf", "innodb_buffer_pool_size = 7G", "innodb_buffer_pool_size = 6500M",
     "MYSQL001", "innodb_buffer_pool_size"),
    ("etc/mysql/my.cnf", "sort_buffer_size = 1.5M", "sort_buffer_size = 2.5M",
     "MYSQL003", "sort_buffer_size"),
    ("docker-compose.yml", "mem_limit: 1g", "mem_limit: 1536m", "CONTAINER003", "'db'"),
    ("etc/sysctl.d/90-vm.conf", "vm.panic_on_oom = 1", "vm.panic_on_oom = 2", "SYSCTL003",
     "panic_on_oom"),
]


@pytest.mark.parametrize("path, old, new, rule, about", VALUE_CHANGES,
                         ids=[c[3] for c in VALUE_CHANGES])
def test_a_new_value_keeps_the_fingerprint(oomaudit, tmp_path, path, old, new, rule, about):
    before = by_message(audit(oomaudit, "check", ".", cwd=make_repo(tmp_path / "a")),
                        rule, about)
    changed = FILES[path][0].replace(old, new)
    assert changed != FILES[path][0]
    after = by_message(audit(oomaudit, "check", ".",
                             cwd=make_repo(tmp_path / "b", {path: changed})), rule, about)
    assert after["message"] != before["message"]  # the value is in the message ...
    assert after["fingerprint"] == before["fingerprint"]  # ... and not in the identity


# -- what changes one --------------------------------------------------------------------

def test_another_pool_service_or_unit_is_another_finding(oomaudit, tmp_path):
    first = audit(oomaudit, "check", ".", cwd=make_repo(tmp_path / "a"))
    for rule in ("FPM001", "FPM003"):
        www, api = by_message(first, rule, "pool www"), by_message(first, rule, "pool api")
        assert www["fingerprint"] != api["fingerprint"]
    renamed = {
        "etc/php/8.2/fpm/pool.d/www.conf": POOLS.replace("[api]", "[shop]"),
        "docker-compose.yml": COMPOSE.replace("  web:", "  frontend:"),
        "etc/systemd/system/mariadb.service": UNIT,
    }
    second = audit(oomaudit, "check", ".", cwd=make_repo(tmp_path / "b", renamed))
    old, new = identities(first), identities(second)
    assert by_message(second, "FPM001", "pool www")["fingerprint"] == \
        by_message(first, "FPM001", "pool www")["fingerprint"]
    assert by_message(second, "FPM001", "pool shop")["fingerprint"] not in \
        {f["fingerprint"] for f in first}
    assert by_message(second, "CONTAINER001", "'frontend'")["fingerprint"] != \
        by_message(first, "CONTAINER001", "'web'")["fingerprint"]
    units = [f for f in second if f["rule"] == "SYSTEMD005"]
    assert len(units) == 2 and len({f["fingerprint"] for f in units}) == 2
    assert len(new - old) == 4  # shop's FPM001 and FPM003, frontend, mariadb.service


# -- the same findings, however the run is started -----------------------------------------

def test_target_order_does_not_matter(oomaudit, tmp_path):
    repo = make_repo(tmp_path / "repo")
    a, b = "etc", "docker-compose.yml"
    assert identities(audit(oomaudit, "check", a, b, cwd=repo)) == \
        identities(audit(oomaudit, "check", b, a, cwd=repo))


def test_the_working_directory_does_not_matter_in_a_git_repository(oomaudit, tmp_path):
    git = need_program("git", "a repository's root is where its .git is")
    repo = make_repo(tmp_path / "repo")
    subprocess.run([git, "init", "-q", str(repo)], check=True, capture_output=True)
    runs = [
        audit(oomaudit, "check", ".", cwd=repo),
        audit(oomaudit, "check", "repo", cwd=tmp_path),
        audit(oomaudit, "check", str(repo), cwd=Path(tempfile.gettempdir())),
        audit(oomaudit, "check", "../..", cwd=repo / "etc" / "mysql"),
    ]
    prints = [{f["fingerprint"] for f in run} for run in runs]
    assert prints[0] and all(p == prints[0] for p in prints)
    # the recipe: rule, host, the path from the repository's root, the rule's key
    assert fingerprint("SWAP001", "default", "etc/fstab", "") in prints[0]
    assert fingerprint("FPM001", "default", "etc/php/8.2/fpm/pool.d/www.conf", "www") \
        in prints[0]


def test_a_subfolder_of_a_git_repository_is_fingerprinted_from_the_root(oomaudit, tmp_path):
    git = need_program("git", "a repository's root is where its .git is")
    repo = make_repo(tmp_path / "repo")
    subprocess.run([git, "init", "-q", str(repo)], check=True, capture_output=True)
    prints = {f["fingerprint"] for f in audit(oomaudit, "check", "mysql", cwd=repo / "etc")}
    assert fingerprint("MYSQL001", "default", "etc/mysql/my.cnf", "innodb_buffer_pool_size") \
        in prints


def test_without_git_the_config_folder_is_the_root(oomaudit, tmp_path):
    repo = make_repo(tmp_path / "repo")
    (repo / ".oomaudit.toml").write_text('fail-on = "low"\n')
    inside = audit(oomaudit, "check", "etc", cwd=repo)
    outside = audit(oomaudit, "check", "repo/etc", cwd=tmp_path)
    assert identities(inside) == identities(outside)
    assert fingerprint("SWAP001", "default", "etc/fstab", "") in \
        {f["fingerprint"] for f in inside}


def test_a_tree_is_fingerprinted_relative_to_itself(oomaudit, tmp_path):
    """Two copies of one image, anywhere on disk, scanned from anywhere: the same findings;
    paths count from the tree's own root, as the host would see them."""
    first = make_repo(tmp_path / "a" / "db1")
    second = tmp_path / "elsewhere" / "deeper" / "db1"
    shutil.copytree(first, second)
    one = audit(oomaudit, "scan", "--root", "a/db1", cwd=tmp_path)
    two = audit(oomaudit, "scan", "--root", str(second), cwd=second / "etc")
    assert {f["fingerprint"] for f in one} == {f["fingerprint"] for f in two}
    assert fingerprint("SWAP001", "db1", "etc/fstab", "") in {f["fingerprint"] for f in one}
