"""SWAP001-SWAP004 through the real CLI: config files (``check``), offline trees
(``scan --root``) and this machine (``scan``); plus the live-only logic on a stub host."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from conftest import assert_no_traceback
from oomaudit.plugins.swap import rules as swap
from oomaudit.plugins.swap.active import ActiveSwap, parse_proc_swaps
from oomaudit.plugins.swap.document import FstabDocument

from oomaudit.host import LIVE, Fact, Host
from oomaudit.parsers.fstab import parse_fstab
from oomaudit.reading import Source

FIXTURES = Path(__file__).parent / "fixtures"
GIB = 1 << 30


def run_json(oomaudit, *args):
    proc = oomaudit(*args, "--format", "json")
    assert_no_traceback(proc)
    assert proc.returncode in (0, 1), proc.stderr
    return proc, json.loads(proc.stdout)


def found(report, prefix=("SWAP", "CONF")):
    return sorted((f["rule"], f["line"]) for f in report["findings"]
                  if f["rule"].startswith(prefix))


# -- annotated fixtures: "# expect: ID" = a finding on the next line ---------------------

def expectations(path: Path) -> list[tuple[str, int | None]]:
    wanted = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        m = re.match(r"#\s*expect(-file)?:\s*(.+)", line)
        if m:
            for rule in m.group(2).split():
                wanted.append((rule, None if m.group(1) else number + 1))
    return sorted(wanted, key=lambda w: (w[0], w[1] or 0))


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.fstab")))
def test_annotated_fixture(oomaudit, name):
    path = FIXTURES / name
    proc, report = run_json(oomaudit, "check", path)
    wanted = expectations(path)
    got = sorted(found(report), key=lambda w: (w[0], w[1] or 0))
    assert got == wanted
    assert proc.returncode == (1 if wanted else 0)
    for finding in report["findings"]:
        assert finding["path"] == str(path) and finding["evidence"] and finding["fix"]


def test_text_output_names_line_and_fix(oomaudit):
    proc = oomaudit("check", FIXTURES / "commented-swap.fstab", "--ram", "8G")
    assert proc.returncode == 1
    assert re.search(r"commented-swap\.fstab:4: SWAP001 medium no swap", proc.stdout)
    assert "fallocate -l 2G /swapfile && chmod 600 /swapfile" in proc.stdout  # 8G RAM -> 2G
    assert "RAM = 8.0 GiB (declared: --ram)" in proc.stdout


def test_fail_on_threshold(oomaudit):
    assert oomaudit("check", FIXTURES / "no-swap.fstab", "--fail-on", "high").returncode == 0
    assert oomaudit("check", FIXTURES / "no-swap.fstab", "--fail-on", "medium").returncode == 1


def test_content_sniffing_finds_flattened_names(oomaudit, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "host1__etc__fstab.txt").write_text("/dev/sda1 / ext4 defaults 0 1\n")
    (repo / "sysctl.conf").write_text("vm.swappiness = 10\n")
    _, report = run_json(oomaudit, "check", repo)
    assert [(f["rule"], Path(f["path"]).name) for f in report["findings"]] == [
        ("SWAP001", "host1__etc__fstab.txt")]


# -- offline trees -----------------------------------------------------------------------

def tree(tmp_path: Path, fstab: str) -> Path:
    root = tmp_path / "tree"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "fstab").write_text(fstab)
    return root


def swapfile(path: Path, mode: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * 4096)
    os.chmod(path, mode)
    return path


@pytest.mark.parametrize("mode, expected, code", [(0o644, [("SWAP003", 2)], 1),
                                                  (0o640, [("SWAP003", 2)], 1),
                                                  (0o600, [], 0)])
def test_root_swapfile_mode(oomaudit, tmp_path, mode, expected, code):
    root = tree(tmp_path, "/dev/sda1 / ext4 defaults 0 1\n/swapfile none swap sw 0 0\n")
    swapfile(root / "swapfile", mode)
    proc, report = run_json(oomaudit, "scan", "--root", root, "--ram", "4G")
    assert found(report) == expected
    assert proc.returncode == code
    if expected:
        finding = report["findings"][0]
        assert finding["path"].endswith("etc/fstab") and f"{mode:04o}" in finding["message"]
        assert finding["fix"].startswith("chmod 600 /swapfile")


def test_root_missing_swapfile_and_devices(oomaudit, tmp_path):
    root = tree(tmp_path, "/dev/sda1 / ext4 defaults 0 1\n"
                          "/swapfile none swap sw 0 0\n"
                          "/dev/sdb2 none swap sw 0 0\n"
                          "UUID=0f1e2d3c none swap sw 0 0\n")
    proc, report = run_json(oomaudit, "scan", "--root", root)
    # devices and tags are not judged in a tree (it has no devices); the file is
    assert found(report) == [("SWAP002", 2)]
    assert proc.returncode == 1


def test_root_absolute_symlink_resolves_inside_tree(oomaudit, tmp_path):
    outside = Path("/etc/hostname") if Path("/etc/hostname").exists() else Path("/etc/passwd")
    root = tree(tmp_path, "/swap none swap sw 0 0\n/escape none swap sw 0 0\n")
    swapfile(root / "data" / "swapfile", 0o644)
    (root / "swap").symlink_to("/data/swapfile")  # absolute: must land in the tree
    (root / "escape").symlink_to(str(outside))  # exists on this machine, not in the tree
    _, report = run_json(oomaudit, "scan", "--root", root)
    assert found(report) == [("SWAP002", 2), ("SWAP003", 1)]
    swap003 = next(f for f in report["findings"] if f["rule"] == "SWAP003")
    assert any("/data/swapfile" in e["what"] for e in swap003["evidence"])
    os.chmod(root / "data" / "swapfile", 0o600)
    _, report = run_json(oomaudit, "scan", "--root", root)
    assert found(report) == [("SWAP002", 2)]


def test_root_no_swap_and_alternatives(oomaudit, tmp_path):
    root = tree(tmp_path, "/dev/sda1 / ext4 defaults 0 1\n")
    proc, report = run_json(oomaudit, "scan", "--root", root)
    assert found(report) == [("SWAP001", None)] and proc.returncode == 1
    (root / "etc" / "systemd").mkdir()
    (root / "etc" / "systemd" / "zram-generator.conf").write_text("[zram0]\n")
    proc, report = run_json(oomaudit, "scan", "--root", root)
    assert found(report) == [] and proc.returncode == 0


def test_root_without_fstab_is_silent(oomaudit, tmp_path):
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    proc, report = run_json(oomaudit, "scan", "--root", root)
    assert found(report) == [] and proc.returncode == 0


def test_check_mode_does_not_stat_this_machine(oomaudit, tmp_path):
    # /etc/passwd exists here with mode 0644; in a config repo it names nothing
    path = tmp_path / "fstab"
    path.write_text("/etc/passwd none swap sw 0 0\n/no/such/swapfile none swap sw 0 0\n")
    proc, report = run_json(oomaudit, "check", path)
    assert found(report) == [] and proc.returncode == 0


# -- this machine ------------------------------------------------------------------------

def _live_state():
    active = [line for line in Path("/proc/swaps").read_text().splitlines()[1:] if line.strip()]
    try:
        fstab = Path("/etc/fstab").read_text()
    except OSError:
        fstab = ""
    boot = [line for line in fstab.splitlines()
            if not line.lstrip().startswith("#") and len(line.split()) >= 3
            and line.split()[2] == "swap"
            and "noauto" not in (line.split()[3:4] or [""])[0].split(",")]
    return active, boot


def test_live_scan_reports_missing_swap(oomaudit):
    if not Path("/proc/swaps").exists():
        pytest.skip("no /proc/swaps (not Linux)")
    active, boot = _live_state()
    proc, report = run_json(oomaudit, "scan", "--select", "SWAP")
    rules = [f["rule"] for f in report["findings"]]
    if not active and not boot:  # this CI machine: no swap at all
        assert rules.count("SWAP001") == 1 and proc.returncode == 1
        finding = next(f for f in report["findings"] if f["rule"] == "SWAP001")
        assert any(e["source"] == "live: /proc/swaps" for e in finding["evidence"])
        assert "swapon" in finding["fix"]
    else:
        assert "SWAP001" not in rules


# -- live-only logic on a stub host ------------------------------------------------------

def live_host(tmp_path: Path, fstab: str, active: list[ActiveSwap]) -> Host:
    host = Host("test", LIVE, Path("/"))
    path = tmp_path / "fstab"
    path.write_text(fstab)
    source = Source(path, str(path), fstab)
    host.docs["fstab"] = [FstabDocument(source, parse_fstab(fstab))]
    host.facts["swaps"] = Fact(active, "live: /proc/swaps")
    host.facts["ram"] = Fact(16 * GIB, "declared: test")
    return host


def test_swap004_live_disagreements(tmp_path, monkeypatch):
    monkeypatch.setattr(swap, "in_container", lambda: False)
    a, b, c = (swapfile(tmp_path / n, 0o600) for n in ("a", "b", "c"))
    fstab = f"{a} none swap sw 0 0\n{b} none swap sw 0 0\n{c} none swap noauto 0 0\n"
    active = [ActiveSwap(str(b), "file", GIB, 0, -2),
              ActiveSwap(str(c), "file", GIB, 0, -3),
              ActiveSwap("/dev/sdz9", "partition", 2 * GIB, 0, -4)]
    host = live_host(tmp_path, fstab, active)
    findings = sorted(swap.check_swap004(host), key=lambda f: f.line or 0)
    assert [(f.rule, f.line) for f in findings] == [("SWAP004", None), ("SWAP004", 1),
                                                    ("SWAP004", 3)]
    assert "/dev/sdz9" in findings[0].message and "lost at the next reboot" in findings[0].message
    assert "not active" in findings[1].message and "noauto" in findings[2].message
    assert list(swap.check_swap001(host)) == []  # swap is active: not SWAP001


def test_swap001_live_needs_both_absent(tmp_path):
    host = live_host(tmp_path, "/dev/sda1 / ext4 defaults 0 1\n", [])
    [finding] = swap.check_swap001(host)
    assert "16.0 GiB RAM" in finding.message and "fallocate -l 4G" in finding.fix
    host = live_host(tmp_path, f"{tmp_path}/s none swap sw 0 0\n", [])
    assert list(swap.check_swap001(host)) == []  # in fstab but inactive: SWAP004's job


def test_swap003_live_active_file(tmp_path):
    loose = swapfile(tmp_path / "loose", 0o644)
    host = live_host(tmp_path, "", [ActiveSwap(str(loose), "file", GIB, 0, -2)])
    [finding] = swap.check_swap003(host)
    assert finding.rule == "SWAP003" and finding.path is None and "0644" in finding.message


def test_proc_swaps_and_sizing():
    text = ("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
            "/swap\\040file                             file\t\t2097148\t\t1024\t\t-2\n"
            "/dev/dm-1                               partition\t8388604\t\t0\t\t-3\n")
    areas = parse_proc_swaps(text)
    assert [(a.filename, a.type, a.size, a.used, a.priority) for a in areas] == [
        ("/swap file", "file", 2097148 * 1024, 1024 * 1024, -2),
        ("/dev/dm-1", "partition", 8388604 * 1024, 0, -3)]
    assert parse_proc_swaps("Filename Type Size Used Priority\n") == []
    assert [swap.suggest_swap(n * GIB) for n in (1, 4, 8, 16, 64)] == [
        GIB, 2 * GIB, 2 * GIB, 4 * GIB, 8 * GIB]
    assert swap.suggest_swap(None) == 2 * GIB
