"""Differential: our merge of a sysctl tree against the real programs.

../shared/oracle-helpers/sysctl-oracle.sh runs ``sysctl --dry-run --system`` (procps) or
``systemd-sysctl`` in a private mount namespace and chroot with /proc/sys read-only, so
nothing reaches the kernel. It needs root (``unshare -m``); CI runs as root. Each call
takes ~50 ms; the generated trees are small and the examples few.

Both programs stat the keys they write, so generated keys come from a pool that exists
and is writable on every Linux host; the comparison is the final value of each key.
"""
from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import IN_CI, need_program, need_shared
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oomaudit.plugins.sysctl.policies import persisted

from oomaudit.host import ROOT, Host
from oomaudit.parsers.sysctl import PROCPS, SYSTEMD, canonical, simplify

POOL = ["vm.swappiness", "vm.overcommit_memory", "vm.overcommit_ratio", "vm.overcommit_kbytes",
        "vm.panic_on_oom", "vm.dirty_ratio", "vm.dirty_background_ratio", "vm.min_free_kbytes"]
GLOBS = ["vm.dirty_*ratio", "vm.overcommit_*", "vm.swappines?", "vm.dirty_[bx]ackground_ratio"]
KEYS = [canonical(k) for k in POOL]
DIRS = ["etc/sysctl.d", "run/sysctl.d", "usr/local/lib/sysctl.d", "usr/lib/sysctl.d"]
NAMES = ["10-a.conf", "50-b.conf", "99-sysctl.conf", "zz.conf", ".hidden.conf", "50-b.txt"]


@pytest.fixture(scope="module")
def oracle():
    need_program("sysctl", "procps reference for the sysctl merge")
    need_program("unshare", "the oracle helper's private mount namespace")
    if not os.path.exists("/lib/systemd/systemd-sysctl"):
        if IN_CI:
            pytest.fail("/lib/systemd/systemd-sysctl is required in CI (systemd package)")
        pytest.skip("systemd-sysctl not installed")
    if os.geteuid() != 0:
        if IN_CI:
            pytest.fail("the sysctl oracle needs root (unshare -m); CI runs as root")
        pytest.skip("the sysctl oracle needs root (unshare -m)")
    helper = need_shared("oracle-helpers", "sysctl-oracle.sh")

    def run(tree: Path, mode: str) -> dict[str, bytes]:
        proc = subprocess.run(["sh", str(helper), str(tree), mode], capture_output=True,
                              timeout=60)
        # rc 1: systemd mode's grep found no line (an empty tree), or procps met a key it
        # could not stat; a helper that could not set up its namespace says so on stderr
        assert proc.returncode in (0, 1), proc.stderr
        assert not re.search(rb"^(unshare|mount|chroot|cp):", proc.stderr, re.M), proc.stderr
        return _final(proc.stdout, mode)
    return run


def _final(out: bytes, mode: str) -> dict[str, bytes]:
    """The last value each key was written with, keyed like our canonical keys."""
    final = {}
    for line in out.split(b"\n"):  # procps prints values with a lone \r as they are
        if mode == PROCPS:
            if line.startswith(b"* Applying") or b" = " not in line:
                continue
            key, _, value = line.partition(b" = ")
            final[canonical(key.decode())] = value
        else:
            m = re.match(rb"Setting '/proc/sys/(.*)' to '(.*)'$", line)
            if m:
                final[simplify(m.group(1).decode())] = m.group(2)
    return final


def ours(tree: Path, dialect: str) -> dict[str, bytes]:
    host = Host("tree", ROOT, tree.resolve())
    merged = persisted(host).merged[dialect]
    result = {}
    for key in KEYS:
        origin = merged.final(key)
        if origin is not None:
            result[key] = origin.assignment.value.encode()
    return result


def write_tree(tree: Path, files: dict[str, str | None], sysctl_conf: str | None,
               link_99: bool) -> None:
    for rel, text in files.items():
        path = tree / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if text is None:
            path.symlink_to("/dev/null")
        else:
            path.write_bytes(text.encode())
    if sysctl_conf is not None:
        (tree / "etc").mkdir(exist_ok=True)
        (tree / "etc/sysctl.conf").write_bytes(sysctl_conf.encode())
    if link_99:
        (tree / "etc/sysctl.d").mkdir(parents=True, exist_ok=True)
        link = tree / "etc/sysctl.d/99-sysctl.conf"
        if link.exists() or link.is_symlink():
            link.unlink()
        link.symlink_to("../sysctl.conf")


blank = st.sampled_from(["", " ", "\t", "  \t"])
rare_blank = st.sampled_from(["", " ", "\t", "\v", "\f", "\r"])
key = st.one_of(st.sampled_from(POOL), st.sampled_from(POOL).map(lambda k: k.replace(".", "/")),
                st.sampled_from(GLOBS), st.just("vm.no_such_key"))
value = st.one_of(st.integers(0, 200).map(str), st.sampled_from(["2 # strict", '"15"', "",
                                                                 "0x10", "1\t2"]))
assignment = st.builds(
    lambda b1, dash, k, b2, b3, v, b4: f"{b1}{dash}{k}{b2}={b3}{v}{b4}",
    blank, st.sampled_from(["", "", "-", "- "]), key, blank, blank, value, rare_blank)
line = st.one_of(
    assignment, assignment, assignment,
    st.builds(lambda b, c, a: f"{b}{c}{a}", blank, st.sampled_from(["#", ";"]), assignment),
    st.sampled_from(POOL + GLOBS).map(lambda k: f"-{k}"),  # glob exclusion
    st.sampled_from(["", "garbage line", "x", "=5", "vm.swappiness = 3\rvm.dirty_ratio = 9"]))
content = st.lists(line, max_size=6).flatmap(
    lambda lines: st.sampled_from(["\n", "\r\n"]).map(
        lambda eol: eol.join(lines) + (eol if lines else "")))
tree_files = st.dictionaries(
    st.tuples(st.sampled_from(DIRS), st.sampled_from(NAMES)).map("/".join),
    st.one_of(content, content, content, st.none()), max_size=6)


@settings(max_examples=int(os.environ.get("SYSCTL_ORACLE_EXAMPLES", "40")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(files=tree_files, sysctl_conf=st.one_of(st.none(), content), link_99=st.booleans())
def test_merge_matches_both_programs(oracle, files, sysctl_conf, link_99):
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp)
        write_tree(tree, files, sysctl_conf, link_99)
        for dialect in (PROCPS, SYSTEMD):
            theirs = {k: v for k, v in oracle(tree, dialect).items() if k in KEYS}
            assert ours(tree, dialect) == theirs, dialect


def test_documented_precedence_tree(oracle, tmp_path):
    """ORACLES.md §7's tree: shadowing by directory, /dev/null masking, *.conf only,
    and /etc/sysctl.conf read last by procps but only via 99-sysctl.conf by systemd."""
    write_tree(tmp_path, {
        "usr/lib/sysctl.d/10-base.conf": "vm.swappiness=1\nvm.overcommit_memory=1\n",
        "usr/lib/sysctl.d/50-shadowed.conf": "vm.swappiness=2\n",
        "usr/local/lib/sysctl.d/50-shadowed.conf": "vm.swappiness=3\n",
        "run/sysctl.d/50-shadowed.conf": "vm.swappiness=4\n",
        "run/sysctl.d/60-run.conf": "vm.overcommit_ratio=70\n",
        "etc/sysctl.d/50-shadowed.conf": "vm.swappiness=5\n",
        "etc/sysctl.d/05-early.conf": "vm.min_free_kbytes=100000\n",
        "etc/sysctl.d/zz-notconf.txt": "vm.swappiness=9\n",
        "etc/sysctl.d/60-run.conf": None,
        "etc/sysctl.d/zz-after.conf": "vm.dirty_ratio = 12\n",
    }, "vm.swappiness=7\nvm.min_free_kbytes=200000\nvm.dirty_ratio = 30\n", link_99=True)
    for dialect in (PROCPS, SYSTEMD):
        theirs = {k: v for k, v in oracle(tmp_path, dialect).items() if k in KEYS}
        assert ours(tmp_path, dialect) == theirs
    # the one difference: a file sorted after 99-sysctl.conf
    assert ours(tmp_path, PROCPS)["vm/dirty_ratio"] == b"30"
    assert ours(tmp_path, SYSTEMD)["vm/dirty_ratio"] == b"12"
    assert "vm/overcommit_ratio" not in ours(tmp_path, SYSTEMD)  # masked


def test_sysctl_conf_without_link_is_procps_only(oracle, tmp_path):
    write_tree(tmp_path, {"usr/lib/sysctl.d/10-a.conf": "vm.overcommit_memory = 1\n"},
               "vm.overcommit_memory = 2\n", link_99=False)
    assert oracle(tmp_path, PROCPS)["vm/overcommit_memory"] == b"2"
    assert oracle(tmp_path, SYSTEMD)["vm/overcommit_memory"] == b"1"
    assert ours(tmp_path, PROCPS)["vm/overcommit_memory"] == b"2"
    assert ours(tmp_path, SYSTEMD)["vm/overcommit_memory"] == b"1"


@pytest.mark.parametrize("text", [
    "- vm.swappiness = 11\n",  # procps keeps the blank after '-': key ' vm.swappiness'
    "vm.swappiness = 5\rvm.dirty_ratio = 9\n",  # systemd ends a line at \r, procps does not
    "vm.swappiness = 5\n-vm.swappiness\n",  # systemd: the exclusion replaces the setting
    "vm.dirty_*ratio = 7\n-vm.dirty_ratio\nvm//dirty_background_ratio = 3\n",
    # systemd: a repeated key with a new value moves to the end of the write order
    "vm.dirty_*ratio = 7\nvm.dirty_[bx]ackground_ratio = 8\nvm.dirty_*ratio = 9\n",
    "vm.dirty_*ratio = 7\nvm.dirty_[bx]ackground_ratio = 8\nvm.dirty_*ratio = 7\n",
])
def test_dialect_quirks(oracle, tmp_path, text):
    write_tree(tmp_path, {"etc/sysctl.d/10-a.conf": text}, None, link_99=False)
    for dialect in (PROCPS, SYSTEMD):
        theirs = {k: v for k, v in oracle(tmp_path, dialect).items() if k in KEYS}
        assert ours(tmp_path, dialect) == theirs, dialect
