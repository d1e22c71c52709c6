"""``check`` on a repository that holds a host tree (issue 14.2): the folder that stands for
/ (oomaudit/hosttree.py), and absolute includes looked up there, for Apache (outside
ServerRoot), PostgreSQL and nginx as for PHP-FPM (tests/phpfpm/test_fpm_repositories.py).

fixtures/host-tree is an etckeeper-style repository: apache2.conf includes
/etc/phpmyadmin/apache.conf, which raises MaxRequestWorkers to 400 for the prefork MPM that
mods-enabled loads (one server, counted once); postgresql.conf includes
/etc/postgresql/15/main/tuning.conf, sized for a bigger host. ``# expect: RULE`` on a line
of its own: that finding is reported on the next line (RAM 4 GiB)."""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import assert_no_traceback
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oomaudit.confine import JAIL, Tree
from oomaudit.hosttree import in_tree, trees

TREE = Path(__file__).resolve().parent / "fixtures" / "host-tree"
RULES = ("HTTPD", "PG", "CONF", "HOST002")
MAINS = ["etc/apache2/apache2.conf", "etc/postgresql/15/main/postgresql.conf"]


def _expected(top: Path, under: str = "") -> set[tuple[str, str, int]]:
    found = set()
    for path in sorted(p for p in TREE.rglob("*") if p.is_file()):
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines, 1):
            m = re.match(r"\s*#\s*expect:\s*([A-Z]+\d{3})", line)
            if m:
                found.add((m.group(1), under + path.relative_to(TREE).as_posix(), number + 1))
    return found


def _findings(oomaudit, *targets, cwd: Path) -> tuple[set, list]:
    proc = oomaudit("check", *map(str, targets), "--ram", "4G", "--format", "json", cwd=cwd)
    assert_no_traceback(proc)
    report = json.loads(proc.stdout)
    assert not report["errors"], report["errors"]
    root = cwd.resolve()
    found = {(f["rule"], Path(root, f["path"]).resolve().relative_to(root).as_posix(), f["line"])
             for f in report["findings"] if f["path"] and f["rule"].startswith(RULES)}
    return found, [c for h in report["hosts"] for c in h["ledger"]]


@pytest.fixture
def repo(tmp_path) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(TREE, copy)
    (copy / ".git").mkdir()  # a work tree's top: what check may read in
    return copy


def test_absolute_includes_are_followed_inside_the_repository(oomaudit, repo):
    found, ledger = _findings(oomaudit, ".", cwd=repo)
    assert found == _expected(repo)
    apache = [c for c in ledger if c["service"] == "apache"]
    assert len(apache) == 1 and apache[0]["bytes"] == 400 * (16 << 20)  # one server


@pytest.mark.parametrize("targets, rules", [(MAINS, ("HTTPD", "PG")), (MAINS[:1], ("HTTPD",)),
                                            (MAINS[1:], ("PG",))])
def test_the_main_files_alone_give_the_same_findings(oomaudit, repo, targets, rules):
    """pre-commit passes only the changed files: their includes still count."""
    whole, _ = _findings(oomaudit, ".", cwd=repo)
    found, _ = _findings(oomaudit, *targets, cwd=repo)
    assert found == {f for f in whole if f[0].startswith(rules)}
    assert {f[0][:2] for f in found} == {r[:2] for r in rules}


def test_a_host_folder_of_a_repository_is_its_own_tree(oomaudit, tmp_path):
    hosts = tmp_path / "repo" / "hosts"
    shutil.copytree(TREE, hosts / "web1")
    found, _ = _findings(oomaudit, ".", cwd=tmp_path / "repo")
    assert found == _expected(hosts, "hosts/web1/")


def test_two_trees_in_one_host_leave_absolute_includes_unresolved(oomaudit, tmp_path):
    """Without host profiles, hosts/a and hosts/b are one host: which / an include means is
    not known, so it is not followed (nothing of the other host is read in)."""
    for name in ("a", "b"):
        shutil.copytree(TREE, tmp_path / "repo" / "hosts" / name)
    _, ledger = _findings(oomaudit, ".", cwd=tmp_path / "repo")
    mains = [c for c in ledger if c["source"].endswith("main/postgresql.conf")]
    assert len(mains) == 2  # tuning.conf, given on its own, is judged as a file of its own
    assert all(c["how"].startswith("shared_buffers 128.0 MiB +") for c in mains), mains


# -- trees -------------------------------------------------------------------------------

@pytest.mark.parametrize("paths, found", [
    (["etc/fstab"], ["."]),
    (["hosts/web1/etc/php/8.2/fpm/php-fpm.conf", "hosts/web1/etc/fstab"], ["hosts/web1"]),
    (["/srv/backup/etc/mysql/my.cnf"], ["/srv/backup"]),
    (["image/usr/local/etc/php-fpm.d/www.conf"], ["image"]),
    (["hosts/b/etc/fstab", "hosts/a/etc/fstab", "hosts/b/etc/my.cnf"], ["hosts/b", "hosts/a"]),
    (["compose.yaml", "www.conf"], []),
    (["etc"], []),  # a file named etc is no folder
])
def test_trees(paths, found):
    assert trees(map(Path, paths)) == [Path(tree) for tree in found]


NAMES = st.text("abcxyz-_.", min_size=1, max_size=6).filter(lambda n: n not in (".", ".."))


@given(prefix=st.lists(NAMES | st.sampled_from(["usr", "local"]), max_size=4),
       rest=st.lists(NAMES, min_size=1, max_size=4), absolute=st.booleans())
def test_the_tree_is_what_comes_before_etc(prefix, rest, absolute):
    """Any spelling: what comes before the last etc folder, above usr/local or usr."""
    path = Path("/" if absolute else ".", *prefix, "etc", *rest)
    top = prefix[:-2] if prefix[-2:] == ["usr", "local"] else \
        prefix[:-1] if prefix[-1:] == ["usr"] else prefix
    assert trees([path]) == [Path("/" if absolute else ".", *top)]


PARTS = st.sampled_from(["etc", "..", ".", "", "php", "*.conf", "link", "loop", "out", "x"])


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(PARTS, max_size=8), cwd=st.sampled_from(["/", "/etc", "/etc/php"]))
def test_an_include_never_leads_out_of_the_tree(tmp_path, parts, cwd):
    """Whatever a hostile config names (.., links to / and out of the tree, loops): a path
    inside the tree, or None; never an exception."""
    repo = tmp_path / "repo"
    tree = repo / "hosts" / "web1"
    if not repo.exists():
        (tree / "etc" / "php").mkdir(parents=True)
        (tree / "etc" / "php" / "x").write_text("")
        (tree / "etc" / "link").symlink_to("/etc")  # absolute: the tree's own /etc
        (tree / "etc" / "out").symlink_to("../../../..")  # relative, out of the tree
        (tree / "etc" / "loop").symlink_to("loop")
    found = in_tree(tree, "/" + "/".join(parts), cwd, Tree(repo, JAIL))
    assert found is None or os.path.abspath(found).startswith(str(tree) + "/") or \
        os.path.abspath(found) == str(tree)
