"""tmpfs mounts of an fstab in the memory ledger (issue 14.6): the annotated fixture
(fixtures/tmpfs.fstab, "# ledger: SIZE" before each entry), and size=/nr_blocks= read as the
kernel reads them, proven by mounting a tmpfs with the same options and asking statvfs."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import assert_no_traceback, need_program
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oomaudit.plugins.swap.tmpfs import limit

from oomaudit.parsers.fstab import parse_fstab
from oomaudit.units import parse_size

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "tmpfs.fstab"


def test_annotated_fstab_ledger(oomaudit):
    lines = FIXTURE.read_text().splitlines()
    wanted = {}
    for number, line in enumerate(lines, 1):
        if line.startswith("# ledger:"):
            claim = line.split(":", 1)[1].strip()
            target = lines[number].split()[1]  # the entry on the next line
            wanted[f"tmpfs {target}"] = (claim, f"{FIXTURE}:{number + 1}")
    proc = oomaudit("check", FIXTURE, "--ram", "8G", "--format", "json")
    assert_no_traceback(proc)
    ledger = {c["service"]: c for h in json.loads(proc.stdout)["hosts"] for c in h["ledger"]}
    assert set(ledger) == {s for s, (claim, _) in wanted.items() if claim != "-"}
    for service, (claim, where) in wanted.items():
        if claim == "-":
            continue
        assert ledger[service]["source"] == where
        assert ledger[service]["bytes"] == (0 if claim == "none" else parse_size(claim))
    assert "half of RAM (4.0 GiB)" in ledger["tmpfs /dev/shm"]["how"]
    assert "no limit" in ledger["tmpfs /run/big"]["how"]


def test_budget_counts_a_capped_tmpfs_against_ram(oomaudit, tmp_path):
    (tmp_path / "fstab").write_text("tmpfs /tmp tmpfs size=3G 0 0\n/swapfile none swap sw 0 0\n")
    (tmp_path / "my.cnf").write_text("[mysqld]\ninnodb_buffer_pool_size = 2G\n")
    proc = oomaudit("check", tmp_path, "--ram", "4G", "--format", "json")
    found = [f for f in json.loads(proc.stdout)["findings"] if f["rule"] == "HOST002"]
    assert found and any("tmpfs /tmp" in e["what"] for e in found[0]["evidence"])


# -- the kernel as oracle ----------------------------------------------------------------

def _ram() -> int:
    """totalram_pages x PAGE_SIZE, as /proc/meminfo's MemTotal gives it."""
    with open("/proc/meminfo") as meminfo:
        return next(int(line.split()[1]) * 1024 for line in meminfo
                    if line.startswith("MemTotal:"))


def _kernel(tmp_path: Path, options: str) -> int | None:
    """What statvfs says a tmpfs mounted with ``options`` holds (None: mount refused it,
    0: no limit)."""
    mount = need_program("mount", "mounts a tmpfs as the kernel's reading of size=")
    target = tmp_path / "mnt"
    target.mkdir(exist_ok=True)
    proc = subprocess.run([mount, "-t", "tmpfs", "-o", options, "oomtest", str(target)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        if "permission denied" in proc.stderr.lower() or "must be superuser" in proc.stderr:
            pytest.skip(f"mounting a tmpfs needs CAP_SYS_ADMIN here: {proc.stderr.strip()}")
        return None
    try:
        stat = os.statvfs(target)
        unlimited = stat.f_blocks == 0 or stat.f_blocks * stat.f_frsize >= 1 << 60
        return 0 if unlimited else stat.f_blocks * stat.f_frsize
    finally:
        subprocess.run(["umount", str(target)], check=True)


SIZES = st.one_of(
    st.builds(lambda n, s: f"{n}{s}", st.integers(0, 4096), st.sampled_from(
        ["", "k", "K", "m", "M", "g", "%", "kb", "MB", ".5G", "x"])),
    st.builds(lambda n: f"0x{n:x}M", st.integers(1, 64)),
    st.builds(lambda n: f"0{n:o}k", st.integers(1, 4096)),
    st.sampled_from(["", "-1M", "08M", "1e3"]))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=SIZES, key=st.sampled_from(["size", "nr_blocks"]), extra=st.booleans())
def test_size_as_the_kernel_reads_it(tmp_path, size, key, extra):
    options = f"{key}={size}" + (",size=64M" if extra and key == "nr_blocks" else "")
    entry = parse_fstab(f"tmpfs /x tmpfs {options} 0 0\n").entries[0]
    ram = _ram()
    nbytes, how = limit(entry, ram)
    kernel = _kernel(tmp_path, options)
    if kernel is None:
        assert nbytes is None and "mount refuses it" in how, how
    elif kernel == 0:
        assert nbytes is None and "no limit" in how, how
    else:
        assert nbytes == kernel, how
