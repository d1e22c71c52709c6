"""--root resolves like a chroot: nothing outside the tree is ever reached."""
import errno
import os

import pytest

from oomaudit.rootfs import inside_path, resolve_in_root


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    (root / "etc/mysql/conf.d").mkdir(parents=True)
    (root / "usr/lib").mkdir(parents=True)
    (root / "usr/lib/real.cnf").write_text("[mysqld]\n")
    return root


def test_absolute_symlink_stays_inside(tree):
    os.symlink("/usr/lib/real.cnf", tree / "etc/mysql/my.cnf")
    assert resolve_in_root(tree, "/etc/mysql/my.cnf") == tree / "usr/lib/real.cnf"


def test_relative_symlink_and_dotdot_cannot_climb_out(tree):
    os.symlink("../../../../../../etc/passwd", tree / "etc/mysql/escape")
    assert resolve_in_root(tree, "/etc/mysql/escape") == tree / "etc/passwd"
    assert resolve_in_root(tree, "../../etc/shadow") == tree / "etc/shadow"


def test_symlinked_directory_is_followed_inside(tree):
    os.symlink("/usr/lib", tree / "etc/lib")
    assert resolve_in_root(tree, "/etc/lib/real.cnf") == tree / "usr/lib/real.cnf"


def test_relative_path_uses_cwd_inside_tree(tree):
    assert resolve_in_root(tree, "conf.d", cwd="/etc/mysql") == tree / "etc/mysql/conf.d"


def test_symlink_loop_is_eloop(tree):
    os.symlink("/etc/b", tree / "etc/a")
    os.symlink("/etc/a", tree / "etc/b")
    with pytest.raises(OSError) as info:
        resolve_in_root(tree, "/etc/a")
    assert info.value.errno == errno.ELOOP


def test_inside_path(tree):
    assert inside_path(tree, tree / "etc/fstab") == "/etc/fstab"


def test_system_paths_are_globbed_inside_the_tree(tree, tmp_path):
    """A wildcard directory that is an absolute symlink is followed inside the tree (the
    machine running the audit has its own /etc/postgresql); a matched folder is no file."""
    from oomaudit.config import Settings
    from oomaudit.discovery import system_host
    from oomaudit.reading import Reader

    (tree / "srv/pg15/main").mkdir(parents=True)
    (tree / "srv/pg15/main/postgresql.conf").write_text("shared_buffers = 1GB\n")
    (tree / "etc/postgresql").mkdir()
    os.symlink("/srv/pg15", tree / "etc/postgresql/15")
    (tree / "etc/postgresql/16/main/postgresql.conf").mkdir(parents=True)  # a folder
    reader = Reader("pg", parse=str, system_paths=("/etc/postgresql/*/*/postgresql.conf",
                                                   "/etc/missing.conf"))
    host = system_host(tree, {"pg": reader}, Settings(), {})
    assert [real for _, real in host.files] == [tree / "srv/pg15/main/postgresql.conf"]
    assert host.diagnostics == []
