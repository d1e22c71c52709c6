"""VM001-VM003: each fired and not fired, through the CLI; the kernel's min_free_kbytes
formula against the kernel's own table and this machine's /proc; Debian's shipped sysctl
files and ../shared/realworld on a 4 GiB profile; any sysctl text gives findings or
CONF001, never a traceback."""
from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import IN_CI, assert_no_traceback, need_program, need_shared
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oomaudit.plugins.vm.watermarks import (
    computed_min_free_kbytes,
    kernel_min_free_kbytes,
    thp_min_free_kbytes,
)

from oomaudit import main


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def vm(oomaudit, *args, ram="4G", swap="2G") -> list[dict]:
    proc = oomaudit(*args, "--ram", ram, "--swap", swap, "--format", "json", "--select", "VM")
    assert_no_traceback(proc)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)["findings"]


def test_each_rule_fires_where_the_file_sets_it(oomaudit, tmp_path):
    write(tmp_path, "etc/sysctl.d/99-db.conf", "vm.swappiness = 0\nvm.min_free_kbytes = "
          "1048576\nvm.watermark_scale_factor = 1000\n")
    found = vm(oomaudit, "scan", "--root", tmp_path)
    assert {(f["rule"], f["severity"], f["line"]) for f in found} == {
        ("VM001", "medium", 1), ("VM002", "medium", 2), ("VM003", "low", 3)}
    by_rule = {f["rule"]: f for f in found}
    assert "2.0 GiB of swap" in by_rule["VM001"]["message"]
    assert "vm.swappiness = 1" in by_rule["VM001"]["fix"]
    assert "in /etc/sysctl.d/99-db.conf:" in by_rule["VM001"]["fix"]  # the host's path
    assert "1.0 GiB, 25.0% of RAM) is 16x" in by_rule["VM002"]["message"]
    assert "min_free_kbytes = 67584" in json.dumps(by_rule["VM002"]["evidence"])
    assert "vm.min_free_kbytes = 67584" in by_rule["VM002"]["fix"]
    assert "409.6 MiB, 10% of RAM" in by_rule["VM003"]["message"]
    # the same file alone in a config repository
    assert {f["rule"] for f in vm(oomaudit, "check", tmp_path / "etc/sysctl.d")} == \
        {"VM001", "VM002", "VM003"}


def test_the_last_file_wins_and_sane_values_are_quiet(oomaudit, tmp_path):
    write(tmp_path, "etc/sysctl.d/10-a.conf", "vm.swappiness = 0\nvm.min_free_kbytes = 1048576\n"
          "vm.watermark_scale_factor = 1000\n")
    write(tmp_path, "etc/sysctl.d/20-b.conf", "vm.swappiness = 1\nvm.min_free_kbytes = 131072\n"
          "vm.watermark_scale_factor = 200\n")  # 128 MiB is 3.1% of 4 GiB
    assert vm(oomaudit, "scan", "--root", tmp_path) == []


def test_swappiness_0_without_swap_is_quiet(oomaudit, tmp_path):
    write(tmp_path, "etc/sysctl.conf", "vm.swappiness = 0\n")
    assert vm(oomaudit, "scan", "--root", tmp_path, swap="0") == []
    assert [f["rule"] for f in vm(oomaudit, "scan", "--root", tmp_path)] == ["VM001"]


def test_min_free_kbytes_judged_against_the_ram(oomaudit, tmp_path):
    """A Raspberry Pi's 32 MiB (../shared/realworld) is 0.8% of 4 GiB, 6.3% of 512 MiB,
    where the kernel's own is 25.6 MiB (khugepaged's 5% cap)."""
    conf = write(tmp_path, "etc/sysctl.d/rpi.conf", "vm.min_free_kbytes=32768\n")
    assert vm(oomaudit, "check", conf) == []
    [finding] = vm(oomaudit, "check", conf, ram="512M")
    assert finding["rule"] == "VM002" and "6.2% of RAM" in finding["message"]


# the comment above calculate_min_free_kbytes() in mm/page_alloc.c: RAM -> min_free_kbytes
KERNEL_TABLE = {16: 512, 32: 724, 64: 1024, 128: 1448, 256: 2048, 512: 2896, 1024: 4096,
                2048: 5792, 4096: 8192, 8192: 11584, 16384: 16384}


def test_the_formula_matches_the_kernels_own_table():
    # the comment rounds: int_sqrt(8388608 x 16) is 11585, which it writes 11584
    assert {mib: computed_min_free_kbytes(mib * 1024) for mib in KERNEL_TABLE} == \
        {**KERNEL_TABLE, 8192: 11585}
    assert computed_min_free_kbytes(1 << 40) == 262144 and computed_min_free_kbytes(1) == 128
    assert thp_min_free_kbytes(64 << 20) == 67584  # 2 + 9 pageblocks x 3 zones x 2 MiB
    assert thp_min_free_kbytes(512 << 10) == 26212  # at most 5% of lowmem, in pages


def _lowmem_and_zones() -> tuple[int, int]:
    """nr_free_buffer_pages() in KiB (managed minus high watermark of the zones up to
    Normal) and the populated zones among them, from /proc/zoneinfo."""
    text = Path("/proc/zoneinfo").read_text()
    lowmem, zones = 0, 0
    for m in re.finditer(r"zone\s+(\w+)\n(.*?)(?=\nNode|\Z)", text, re.S):
        if m.group(1) not in ("DMA", "DMA32", "Normal"):
            continue
        managed = int(re.search(r"managed\s+(\d+)", m.group(2)).group(1))
        high = int(re.search(r"\bhigh\s+(\d+)", m.group(2)).group(1))
        present = int(re.search(r"present\s+(\d+)", m.group(2)).group(1))
        lowmem += max(managed - high, 0) * 4
        zones += present > 0
    return lowmem, zones


def test_the_formula_matches_this_kernel():
    """The kernel computes min_free_kbytes at boot and khugepaged raises it: unless a
    sysctl file on this machine sets it, /proc says what the formula must give."""
    if platform.machine() != "x86_64" or os.sysconf("SC_PAGE_SIZE") != 4096:
        pytest.skip("the pageblock arithmetic is x86-64's (2 MiB pageblocks, 4 KiB pages)")
    files = [Path("/etc/sysctl.conf"), *Path("/etc/sysctl.d").glob("*.conf"),
             *Path("/usr/lib/sysctl.d").glob("*.conf"), *Path("/run/sysctl.d").glob("*.conf")]
    if any("min_free_kbytes" in p.read_text(errors="replace") for p in files if p.is_file()):
        pytest.skip("a sysctl file on this machine sets vm.min_free_kbytes")
    live = int(Path("/proc/sys/vm/min_free_kbytes").read_text())
    mode = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    thp = "[never]" not in mode
    lowmem, zones = _lowmem_and_zones()
    # lowmem is read now, the kernel read it at boot (and after hotplug): the square root
    # moves by a few kB; khugepaged's figure does not move at all
    expected = kernel_min_free_kbytes(lowmem, thp, zones)
    assert abs(live - expected) <= max(expected // 100, 16), (live, expected, lowmem, zones)


def test_debians_shipped_sysctl_files_are_quiet(oomaudit, tmp_path):
    """procps' /etc/sysctl.conf and systemd's /usr/lib/sysctl.d, as the packages install
    them, on a 4 GiB profile: nothing above low."""
    need_program("dpkg", "reads the files Debian's procps and systemd packages install")
    copied = 0
    for package in ("procps", "systemd"):
        listed = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True)
        if listed.returncode != 0:
            if IN_CI:
                pytest.fail(f"{package} is not installed")
            continue
        for name in listed.stdout.splitlines():
            path = Path(name)
            if "sysctl" in name and name.endswith(".conf") and path.is_file():
                target = tmp_path / name.lstrip("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
                copied += 1
    if not copied:
        pytest.skip("neither procps nor systemd installed their sysctl files here")
    assert [f for f in vm(oomaudit, "scan", "--root", tmp_path)
            if f["severity"] not in ("info", "low")] == []


def test_realworld_sysctl_files_are_quiet_on_4_gib(oomaudit):
    folder = need_shared("realworld", "sysctl")
    assert vm(oomaudit, "check", folder) == []


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(
    st.sampled_from(["vm.swappiness", "vm.min_free_kbytes", "vm.watermark_scale_factor",
                     "vm/swappiness", "vm.*", "-vm.min_free_kbytes"]),
    st.text(max_size=12)), max_size=4),
    st.lists(st.one_of(st.integers(-5, 1 << 40).map(str), st.text(max_size=8)), max_size=4))
def test_any_sysctl_text_gives_findings_or_conf001(tmp_path, capsys, keys, values):
    text = "".join(f"{k} = {v}\n" for k, v in zip(keys, values, strict=False))
    conf = tmp_path / "sysctl.conf"
    conf.write_text(text)
    code = main(["check", str(conf), "--ram", "4G", "--swap", "1G", "--format", "json",
                 "--select", "VM,CONF001"])
    out = capsys.readouterr()
    assert code in (0, 1), out.err
    assert {f["rule"] for f in json.loads(out.out)["findings"]} <= \
        {"VM001", "VM002", "VM003", "CONF001"}
