"""VM004 and the THP mode read offline: GRUB_CMDLINE_LINUX(_DEFAULT) against what bash
leaves after sourcing the file (grub-mkconfig sources it), the kernel's last
transparent_hugepage= winning, and tmpfiles.d after the command line."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import assert_no_traceback, need_program
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oomaudit.plugins.vm.hugepages import GRUB_VARS, cmdline_thp, grub_values

MONGOD = "storage:\n  wiredTiger:\n    engineConfig:\n      cacheSizeGB: 1\n"


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def vm004(oomaudit, root: Path) -> list[dict]:
    proc = oomaudit("scan", "--root", root, "--ram", "4G", "--format", "json",
                    "--select", "VM004")
    assert_no_traceback(proc)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)["findings"]


def test_thp_always_on_the_command_line_with_mongodb_fires(oomaudit, tmp_path):
    write(tmp_path, "etc/mongod.conf", MONGOD)
    grub = write(tmp_path, "etc/default/grub", 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT='
                 '"quiet"\nGRUB_CMDLINE_LINUX="transparent_hugepage=always"\n')
    [finding] = vm004(oomaudit, tmp_path)
    assert finding["path"] == str(grub) and finding["line"] == 3
    assert finding["severity"] == "medium" and "running mongodb" in finding["message"]
    whats = " ".join(e["what"] for e in finding["evidence"])
    assert "transparent huge pages: always" in whats and "mongodb: 1.0 GiB" in whats
    assert "transparent_hugepage=madvise" in finding["fix"]
    # grub.d is sourced after the file: its madvise wins
    write(tmp_path, "etc/default/grub.d/50-thp.cfg",
          'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX transparent_hugepage=madvise"\n')
    assert vm004(oomaudit, tmp_path) == []


def test_tmpfiles_write_after_boot_and_nothing_set_is_quiet(oomaudit, tmp_path):
    write(tmp_path, "etc/mongod.conf", MONGOD)
    assert vm004(oomaudit, tmp_path) == []  # the kernel's build default is not in the tree
    conf = write(tmp_path, "usr/lib/tmpfiles.d/thp.conf",
                 "w /sys/kernel/mm/transparent_hugepage/enabled - - - - always\n")
    [finding] = vm004(oomaudit, tmp_path)
    assert finding["path"] == str(conf) and finding["line"] == 1
    write(tmp_path, "etc/tmpfiles.d/thp.conf",  # /etc shadows the same name in /usr/lib
          "w /sys/kernel/mm/transparent_hugepage/enabled - - - - never\n")
    assert vm004(oomaudit, tmp_path) == []


def test_thp_always_without_such_a_service_is_quiet(oomaudit, tmp_path):
    write(tmp_path, "etc/default/grub", 'GRUB_CMDLINE_LINUX="transparent_hugepage=always"\n')
    assert vm004(oomaudit, tmp_path) == []


def test_the_last_valid_setting_on_the_command_line_wins():
    assert cmdline_thp("transparent_hugepage=never quiet transparent_hugepage=always") == \
        "always"
    assert cmdline_thp("transparent_hugepage=always transparent_hugepage=sometimes") == \
        "always"
    assert cmdline_thp("quiet splash") is None


WORDS = st.sampled_from(["quiet", "splash", "transparent_hugepage=always",
                         "transparent_hugepage=never", "a=b", "$GRUB_CMDLINE_LINUX",
                         "${GRUB_CMDLINE_LINUX_DEFAULT}", "x#y", "#c"])


@st.composite
def grub_files(draw) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["assign", "comment", "other", "blank"]))
        if kind == "assign":
            name = draw(st.sampled_from(GRUB_VARS))
            value = " ".join(draw(st.lists(WORDS, max_size=3)))
            quote = draw(st.sampled_from(['"', "'", ""] if " " not in value else ['"', "'"]))
            if quote == "'":
                value = value.replace("$", "")  # no expansion inside: nothing to compare
            prefix = draw(st.sampled_from(["", "export "]))
            note = draw(st.sampled_from(["", " # was quiet", "#x"]))
            lines.append(f"{prefix}{name}={quote}{value}{quote}{note}")
        elif kind == "comment":
            lines.append("# GRUB_CMDLINE_LINUX=\"transparent_hugepage=always\"")
        elif kind == "other":
            lines.append(draw(st.sampled_from(["GRUB_DEFAULT=0", "GRUB_TIMEOUT=5",
                                               'GRUB_DISTRIBUTOR="Debian"'])))
        else:
            lines.append("")
    return "\n".join(lines) + "\n"


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(grub_files())
def test_grub_values_match_what_bash_leaves(tmp_path, text):
    bash = need_program("bash", "sources /etc/default/grub as grub-mkconfig does")
    path = tmp_path / "grub"
    path.write_text(text)
    script = ('. "$1"; printf "%s\\0%s" "$GRUB_CMDLINE_LINUX" "$GRUB_CMDLINE_LINUX_DEFAULT"')
    out = subprocess.run([bash, "-c", script, "bash", str(path)], capture_output=True,
                         text=True, env={"PATH": "/usr/bin:/bin"}, check=True).stdout
    ours = grub_values(text)
    assert [ours.get(v, ("", 0))[0] for v in GRUB_VARS] == out.split("\0")


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_any_grub_text_reads_without_a_traceback(text):
    values = grub_values(text)
    assert set(values) <= set(GRUB_VARS)
    cmdline_thp(" ".join(v for v, _ in values.values()))
