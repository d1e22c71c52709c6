"""The confined layer (oomaudit/confine.py): resolution inside a root, safe opens, the cap.

Each test builds a real tree in tmp_path with the links, FIFOs and sizes it needs; the
end-to-end promises through the CLI are in tests/adversarial/.
"""
import errno
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oomaudit.confine import CHROOT, JAIL, LIVE, Refused, Tree
from oomaudit.host import inside_path
from oomaudit.invocation import jail_for


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    (root / "etc/mysql").mkdir(parents=True)
    (root / "usr/lib").mkdir(parents=True)
    (root / "usr/lib/real.cnf").write_text("[mysqld]\n")
    (root / "etc/mysql/my.cnf").symlink_to("/usr/lib/real.cnf")
    (root / "etc/mysql/escape").symlink_to("../../../../../../etc/passwd")
    (root / "etc/lib").symlink_to("../usr/lib")
    (root / "etc/passwd").write_text("inside\n")
    return root


def test_chroot_follows_links_inside_the_root(tree):
    fs = Tree(tree, CHROOT)
    assert fs.inside("/etc/mysql/my.cnf") == tree / "usr/lib/real.cnf"
    assert fs.inside("/etc/lib/real.cnf") == tree / "usr/lib/real.cnf"
    assert fs.inside("conf.d", "/etc/mysql") == tree / "etc/mysql/conf.d"


def test_a_relative_path_from_the_root_folder_is_inside(tree, monkeypatch):
    """Run from / (a systemd service's working directory, cron's): a relative path is the
    tree's, not '//tmp/...', which no prefix of the root matches."""
    monkeypatch.chdir("/")
    fs = Tree(tree, JAIL)
    relative = str(tree / "usr/lib/real.cnf").lstrip("/")
    assert fs.read(relative) == b"[mysqld]\n"
    assert fs.real(relative) == str(tree / "usr/lib/real.cnf")


def test_chroot_clamps_dotdot_and_absolute_links_at_the_root(tree):
    fs = Tree(tree, CHROOT)
    assert fs.inside("/etc/mysql/escape") == tree / "etc/passwd"
    assert fs.inside("../../etc/passwd") == tree / "etc/passwd"
    assert fs.read(tree / "etc/mysql/escape") == b"inside\n"


def test_a_link_loop_is_eloop_on_reading_not_a_hang(tmp_path):
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    fs = Tree(tmp_path, CHROOT)
    assert fs.inside("/a") == tmp_path / "a"  # as written: the read says why
    with pytest.raises(OSError) as caught:
        fs.read(fs.inside("/a"))
    assert caught.value.errno == errno.ELOOP
    assert fs.exists(tmp_path / "a")  # there, but unreadable: a CONF003, not a pass


def test_a_repository_refuses_a_link_out_of_it(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (tmp_path / "secret").write_text("password\n")
    (repo / "abs.cnf").symlink_to(tmp_path / "secret")
    (repo / "rel.cnf").symlink_to("../secret")
    (repo / "sub").mkdir()
    (repo / "sub/up").symlink_to("../..")
    fs = Tree(repo, JAIL)
    for name in ("abs.cnf", "rel.cnf", "sub/up/secret"):
        with pytest.raises(Refused) as caught:
            fs.read(repo / name)
        assert caught.value.errno == errno.EXDEV
        assert "outside the repository" in caught.value.strerror
    with pytest.raises(Refused):
        fs.read(tmp_path / "secret")  # named directly, but not in the repository


def test_a_repository_follows_its_own_links(tmp_path):
    repo = tmp_path / "repo"
    (repo / "shared").mkdir(parents=True)
    (repo / "shared/pool.conf").write_text("[www]\n")
    (repo / "host1").mkdir()
    (repo / "host1/pool.conf").symlink_to("../shared/pool.conf")
    (repo / "host2").symlink_to(repo / "shared")  # an absolute link inside the repository
    fs = Tree(repo, JAIL)
    assert fs.read(repo / "host1/pool.conf") == b"[www]\n"
    assert fs.read(repo / "host2/pool.conf") == b"[www]\n"
    assert fs.listdir(repo / "host2") == ["pool.conf"]


def test_an_absolute_link_in_a_host_tree_is_read_in_that_tree(tmp_path):
    """Debian's /etc/mysql/my.cnf -> /etc/alternatives/my.cnf, kept by etckeeper or in a
    fleet's hosts/web1/etc: read where the host would read it, inside the repository."""
    repo = tmp_path / "repo"
    (repo / "hosts/web1/etc/mysql").mkdir(parents=True)
    (repo / "hosts/web1/etc/alternatives").mkdir()
    (repo / "hosts/web1/etc/alternatives/my.cnf").write_text("[mysqld]\n")
    (repo / "hosts/web1/etc/mysql/my.cnf").symlink_to("/etc/alternatives/my.cnf")
    (repo / "hosts/web1/etc/mysql/shadow").symlink_to("/etc/shadow")
    (repo / "hosts/web1/etc/mysql/home").symlink_to("/root/.my.cnf")
    fs = Tree(repo, JAIL)
    assert fs.read(repo / "hosts/web1/etc/mysql/my.cnf") == b"[mysqld]\n"
    with pytest.raises(FileNotFoundError):  # the host tree's /etc/shadow: not there
        fs.read(repo / "hosts/web1/etc/mysql/shadow")
    with pytest.raises(Refused):  # no folder of the repository holds a root/
        fs.read(repo / "hosts/web1/etc/mysql/home")


@pytest.mark.parametrize("kind", [LIVE, CHROOT, JAIL])
def test_a_fifo_is_refused_without_blocking(tmp_path, kind):
    os.mkfifo(tmp_path / "kern.log")
    fs = Tree(tmp_path if kind != LIVE else Path("/"), kind)
    with pytest.raises(OSError) as caught:
        fs.read(tmp_path / "kern.log")
    assert "not a regular file" in caught.value.strerror


def test_a_link_to_a_device_is_refused(tmp_path):
    (tmp_path / "kern.log").symlink_to("/dev/zero")
    with pytest.raises(OSError) as caught:
        Tree(Path("/"), LIVE).read(tmp_path / "kern.log")
    assert "not a regular file" in caught.value.strerror


def test_proc_is_refused_where_a_config_is_expected(tmp_path):
    (tmp_path / "my.cnf").symlink_to("/proc/self/status")
    with pytest.raises(Refused) as caught:
        Tree(Path("/"), LIVE).read(tmp_path / "my.cnf")
    assert "/proc" in caught.value.strerror


def test_the_cap_refuses_a_larger_file_and_names_the_cap(tmp_path):
    (tmp_path / "big.cnf").write_bytes(b"#" * 2049)
    (tmp_path / "small.cnf").write_bytes(b"#" * 2048)
    fs = Tree(tmp_path, JAIL, cap=2048)
    with pytest.raises(Refused) as caught:
        fs.read(tmp_path / "big.cnf")
    assert caught.value.errno == errno.EFBIG and "2.0 KiB" in caught.value.strerror
    assert len(fs.read(tmp_path / "small.cnf")) == 2048
    assert fs.read(tmp_path / "big.cnf", 16) == b"#" * 16  # a sniff reads a head only


def test_glob_matches_as_glob3_does(tmp_path):
    for name in ("b.conf", "a.conf", ".hidden.conf", "c.txt"):
        (tmp_path / name).write_text("")
    (tmp_path / "d.conf").mkdir()
    fs = Tree(tmp_path, JAIL)
    assert fs.glob(tmp_path / "*.conf") == [tmp_path / "a.conf", tmp_path / "b.conf"]
    assert fs.glob(tmp_path / ".*.conf") == [tmp_path / ".hidden.conf"]
    assert fs.glob(tmp_path / "*.conf", folders=True)[-1] == tmp_path / "d.conf"


def test_the_roots_own_path_is_no_pattern(tmp_path):
    root = tmp_path / "run[1]*?"
    (root / "conf.d").mkdir(parents=True)
    (root / "conf.d/a.conf").write_text("")
    assert Tree(root, CHROOT).glob(root / "conf.d/*.conf") == [root / "conf.d/a.conf"]
    assert Tree(root, JAIL).glob(root / "conf.d/a.conf") == [root / "conf.d/a.conf"]


def test_glob_of_an_absent_folder_matches_nothing(tmp_path):
    assert Tree(tmp_path, JAIL).glob(tmp_path / "none/*.conf") == []


def test_glob_does_not_leave_a_repository_through_a_link(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside/x.conf").write_text("")
    (repo / "conf.d").symlink_to(tmp_path / "outside")
    with pytest.raises(Refused):
        Tree(repo, JAIL).glob(repo / "conf.d/*.conf")


def test_exists_is_true_behind_a_folder_it_may_not_search(tmp_path):
    fs = Tree(tmp_path, JAIL)
    assert not fs.exists(tmp_path / "absent")
    assert fs.exists(tmp_path)


@pytest.mark.parametrize("kind", [LIVE, JAIL])
def test_named_is_a_name_in_its_folder_link_or_not(tree, kind):
    """``named`` answers whether the name is there without following it: a link to a file
    out of the tree, or to nothing, is named; in a repository, a name under a link out of
    it is not."""
    (tree / "etc/dangling").symlink_to("/nonexistent/target")
    fs = Tree(tree, kind)
    assert fs.named(tree / "etc/passwd") and fs.named(tree / "etc/mysql/escape")
    assert fs.named(tree / "etc/dangling")
    assert not fs.named(tree / "etc/absent") and not fs.named(tree / "absent/passwd")
    assert fs.named(tree / "etc/lib/real.cnf")  # through a link inside the tree
    (tree / "etc/out").symlink_to("../..")  # the folder holding the tree
    assert fs.named(tree / "etc/out/root") == (kind == LIVE)


def test_inside_path_is_the_path_the_audited_system_sees(tree):
    assert inside_path(tree, tree / "etc/fstab") == "/etc/fstab"
    assert inside_path(tree, Path("/elsewhere/fstab")) == "/elsewhere/fstab"


def test_jail_is_the_repository_or_the_targets_common_folder(tmp_path):
    (tmp_path / "repo/a").mkdir(parents=True)
    (tmp_path / "other").mkdir()
    assert jail_for([str(tmp_path / "repo/a")], tmp_path / "repo") == tmp_path / "repo"
    assert jail_for([str(tmp_path / "repo/a"), str(tmp_path / "other")],
                    tmp_path / "repo") == tmp_path


_NAMES = st.sampled_from(["a", "b", "..", ".", "/"])


@settings(max_examples=200, deadline=None)
@given(links=st.lists(st.tuples(st.sampled_from(["a", "b", "c/d"]),
                                st.lists(_NAMES, min_size=1, max_size=4)), max_size=4),
       path=st.lists(st.sampled_from(["a", "b", "c", "d", "..", "."]), min_size=1,
                     max_size=6))
def test_no_resolution_leaves_the_root(tmp_path_factory, links, path):
    """Whatever links a tree holds, a chroot resolution lands inside it and a repository
    either lands inside or refuses."""
    base = tmp_path_factory.mktemp("t")
    root = base / "root"
    (root / "c").mkdir(parents=True)
    for name, target in links:
        link = root / name
        if not os.path.lexists(link):
            link.symlink_to("/".join(target).replace("//", "/") or ".")
    inside = str(Tree(root, CHROOT).inside("/" + "/".join(path)))  # a loop: as written
    assert inside == str(root) or inside.startswith(str(root) + "/")
    try:
        real = Tree(root, JAIL).real(root / "/".join(path))
    except OSError:
        return
    assert real == str(root) or real.startswith(str(root) + "/")
