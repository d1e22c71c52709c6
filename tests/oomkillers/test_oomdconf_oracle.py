"""oomd.conf and its drop-ins merged in systemd's order, against `systemd-analyze
--root=DIR cat-config systemd/oomd.conf` (Debian's systemd) over generated trees: which
files, in which order; a link to /dev/null, which cat-config lists and systemd-oomd skips
as masked, is left out of both."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import need_program
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oomaudit.plugins.oomkillers import oomdconf

from oomaudit.host import ROOT, Host

FOLDERS = ("etc/systemd", "run/systemd", "usr/local/lib/systemd", "usr/lib/systemd",
           "lib/systemd")  # the last: read by a split-/usr systemd only
NAMES = ("10-a.conf", "20-b.conf", "5-c.conf", "x.txt", "zz.conf")


def _tree(root: Path, main: bool, placed: list[tuple[int, int, bool]]) -> None:
    if main:
        (root / "etc/systemd").mkdir(parents=True, exist_ok=True)
        (root / "etc/systemd/oomd.conf").write_text("[OOM]\nSwapUsedLimit=80%\n")
    for folder, name, masked in placed:
        target = root / FOLDERS[folder] / "oomd.conf.d" / NAMES[name]
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() or target.is_symlink():
            continue
        if masked:
            target.symlink_to("/dev/null")
        else:
            target.write_text(f"[OOM]\nSwapUsedLimit={folder * 10 + name}%\n")


def _theirs(analyze: str, root: Path) -> list[str]:
    out = subprocess.run([analyze, f"--root={root}", "cat-config", "systemd/oomd.conf"],
                         capture_output=True, text=True, timeout=30)
    prefix = "" if root == Path("/") else str(root)
    listed = [line[2:].removeprefix(prefix) for line in out.stdout.splitlines()
              if line.startswith("# /")]
    return [p for p in listed if not os.path.islink(f"{prefix}{p}")
            or os.readlink(f"{prefix}{p}") != "/dev/null"]


def _host(root: Path) -> Host:
    return Host(str(root), mode=ROOT, root=root)


@pytest.fixture(scope="module")
def analyze() -> str:
    return need_program("systemd-analyze", "the oracle of oomd.conf's merge order")


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.booleans(), st.lists(st.tuples(st.integers(0, len(FOLDERS) - 1),
                                         st.integers(0, len(NAMES) - 1), st.booleans()),
                               max_size=8))
def test_files_and_order_agree_with_systemd_analyze(analyze, tmp_path_factory, main, placed):
    root = tmp_path_factory.mktemp("oomd")
    _tree(root, main, placed)
    ours = [inside for inside, _ in oomdconf.files(_host(root))]
    assert ours == _theirs(analyze, root)


def test_the_last_assignment_wins_and_defaults_fill_in(tmp_path):
    _tree(tmp_path, True, [(3, 0, False), (0, 1, False)])
    merged = oomdconf.settings(_host(tmp_path))
    value, where = merged["SwapUsedLimit"]
    assert value == "1%" and where.endswith("/etc/systemd/oomd.conf.d/20-b.conf:2")
    assert merged["DefaultMemoryPressureLimit"] == ("60%", "")


def test_debian_defaults(analyze):
    """This machine's own files, when Debian's systemd-oomd is installed."""
    if not Path("/usr/lib/systemd/oomd.conf.d/10-oomd-defaults.conf").exists():
        need_program("oomctl", "Debian's systemd-oomd ships the defaults drop-in")
    ours = [inside for inside, _ in oomdconf.files(_host(Path("/")))]
    assert ours == _theirs(analyze, Path("/"))
    assert re.match(r"\d+s$", oomdconf.settings(_host(Path("/")))[
        "DefaultMemoryPressureDurationSec"][0])


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_any_oomd_conf_merges_without_a_traceback(tmp_path_factory, text):
    root = tmp_path_factory.mktemp("any")
    (root / "etc/systemd/oomd.conf.d").mkdir(parents=True)
    (root / "etc/systemd/oomd.conf.d/a.conf").write_bytes(text.encode("utf-8", "surrogatepass"))
    merged = oomdconf.settings(_host(root))
    assert set(oomdconf.DEFAULTS) <= set(merged)
