"""USERKILL001-003 fired and not fired, in a config repository governed by a
.oomaudit.toml that names the critical services, and Debian's shipped earlyoom (its
/etc/default/earlyoom, from apt-get download) on a 4 GiB profile."""
from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from conftest import assert_no_traceback
from debian_packages import unpacked

from oomaudit.cli import main

PREFER = "EARLYOOM_ARGS=\"-r 3600 --prefer '(^|/)(sshd|postgres)$'\"\n"


def audit(tmp_path: Path, files: dict[str, str], *args: str) -> tuple[int, list[dict]]:
    """``oomaudit check`` on the files written under ``tmp_path``: (exit code, findings)."""
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["check", *(str(tmp_path / n) for n in files if not n.startswith(".")),
                     "--format", "json", *args])
    report = json.loads(out.getvalue())
    assert report["errors"] == []
    return code, report["findings"]


CRITICAL = '[tool.oomaudit]\ncritical-services = ["ssh", "postgresql@*"]\n'


def test_userkill001_prefer_names_both_critical_services(tmp_path):
    """Issue 17's done-when."""
    code, findings = audit(tmp_path, {"pyproject.toml": CRITICAL, "earlyoom": PREFER})
    assert code == 1
    [finding] = findings
    assert finding["rule"] == "USERKILL001" and finding["severity"] == "high"
    assert finding["line"] == 1
    for name in ("ssh (sshd)", "postgresql@* (postgres)"):
        assert name in finding["message"]
    assert "EARLYOOM_ARGS=\"-r 3600 --avoid '^(postgres|sshd)$'\"" in finding["fix"]
    assert any(e["source"].endswith("/earlyoom:1") for e in finding["evidence"])


def test_userkill001_not_when_prefer_misses_them_or_ignore_takes_them(tmp_path):
    code, findings = audit(tmp_path, {
        "pyproject.toml": CRITICAL,
        "earlyoom": "EARLYOOM_ARGS=\"--prefer '^(chrome|java)$' --avoid '^(sshd|postgres)$'\"\n"})
    assert (code, findings) == (0, [])
    code, findings = audit(tmp_path, {
        "pyproject.toml": CRITICAL, "earlyoom": PREFER.replace("-r 3600", "--ignore '^s|^p'")})
    assert (code, findings) == (0, [])


def test_userkill002_no_avoid_for_the_critical_services(tmp_path):
    code, findings = audit(tmp_path, {"pyproject.toml": CRITICAL,
                                      "earlyoom": 'EARLYOOM_ARGS="-m 5 --avoid ^sshd$"\n'})
    [finding] = findings
    assert finding["rule"] == "USERKILL002" and finding["severity"] == "low"
    assert "postgresql@* (postgres)" in finding["message"] and "ssh " not in finding["message"]
    assert finding["fix"].endswith("EARLYOOM_ARGS=\"-m 5 --avoid '^sshd$|^(postgres)$'\"")


def test_userkill002_fix_applied_passes(tmp_path):
    _, [finding] = audit(tmp_path, {"earlyoom": 'EARLYOOM_ARGS="-r 60"\n'})
    fixed = finding["fix"].splitlines()[-1]
    assert audit(tmp_path, {"earlyoom": fixed + "\n"}) == (0, [])


def test_an_earlyoom_that_does_not_start_is_only_conf001(tmp_path):
    code, findings = audit(tmp_path, {"earlyoom": PREFER.replace("-r 3600", "-m 150")})
    assert [(f["rule"], f["line"]) for f in findings] == [("CONF001", 1)]
    assert "value 150.000000 exceeds limit 99" in findings[0]["message"]


REDIS = "maxmemory 3800mb\nsave \"\"\n"  # in the ledger: 3.7 GiB, no fork


def test_userkill003_minimum_reached_by_the_worst_case(tmp_path):
    code, findings = audit(tmp_path, {"earlyoom": 'EARLYOOM_ARGS="-m 10"\n',
                                      "redis.conf": REDIS},
                           "--ram", "4G", "--select", "USERKILL003")
    [finding] = findings
    assert code == 1 and finding["severity"] == "medium"
    assert "kills at 409.6 MiB available" in finding["message"]
    assert "leaves only 296.0 MiB of 4.0 GiB" in finding["message"]
    assert 'EARLYOOM_ARGS="-m 7"' in finding["fix"]
    sources = {e["source"] for e in finding["evidence"]}
    assert {s.rsplit("/", 1)[-1] for s in sources} >= {"redis.conf:1", "earlyoom:1"}
    # the proposed minimum passes
    assert audit(tmp_path, {"earlyoom": 'EARLYOOM_ARGS="-m 7"\n', "redis.conf": REDIS},
                 "--ram", "4G", "--select", "USERKILL003") == (0, [])


def test_userkill003_not_while_swap_is_free_or_beyond_ram_and_swap(tmp_path):
    files = {"earlyoom": 'EARLYOOM_ARGS="-m 10"\n', "redis.conf": REDIS}
    # earlyoom also waits for free swap to fall under -s: 10% of 2 GiB is never reached
    assert audit(tmp_path, files, "--ram", "4G", "--swap", "2G",
                 "--select", "USERKILL003") == (0, [])
    # a worst case beyond RAM and swap is the kernel's kill too: HOST002's finding
    assert audit(tmp_path, files, "--ram", "2G", "--select", "USERKILL003") == (0, [])
    # with a -M in KiB under what is left
    files["earlyoom"] = 'EARLYOOM_ARGS="-M 102400"\n'
    assert audit(tmp_path, files, "--ram", "4G", "--select", "USERKILL003") == (0, [])




@pytest.fixture(scope="module")
def debian() -> Path:
    return unpacked("earlyoom", "etc/default/earlyoom")


def test_debian_shipped_earlyoom_on_4g_nothing_above_low(oomaudit, debian):
    proc = oomaudit("scan", "--root", debian, "--ram", "4G", "--format", "json")
    assert_no_traceback(proc)
    report = json.loads(proc.stdout)
    assert report["errors"] == []
    assert not [f for f in report["findings"]
                if f["severity"] not in ("info", "low") or f["rule"].startswith("CONF")]
    # sshd is not in --avoid: the one finding of a stock install
    [finding] = [f for f in report["findings"] if f["rule"].startswith("USERKILL")]
    assert finding["rule"] == "USERKILL002" and finding["path"].endswith("etc/default/earlyoom")


def _killers_tree(root: Path, enabled: list[str], masked: tuple[str, ...] = ()) -> Path:
    lib, etc = root / "lib/systemd/system", root / "etc/systemd/system"
    wants = etc / "multi-user.target.wants"
    for folder in (lib, wants):
        folder.mkdir(parents=True, exist_ok=True)
    for unit in ("earlyoom.service", "systemd-oomd.service", "nohang.service"):
        (lib / unit).write_text(f"[Unit]\nDescription={unit}\n[Service]\n"
                                f"ExecStart=/usr/bin/{unit.split('.')[0]}\n"
                                "[Install]\nWantedBy=multi-user.target\n")
    for unit in enabled:
        (wants / unit).symlink_to(f"/lib/systemd/system/{unit}")
    for unit in masked:
        (etc / unit).symlink_to("/dev/null")
    return root


def test_userkill004_two_killers_enabled(oomaudit, tmp_path):
    root = _killers_tree(tmp_path / "root", ["earlyoom.service", "systemd-oomd.service"])
    proc = oomaudit("scan", "--root", root, "--ram", "4G", "--format", "json",
                    "--select", "USERKILL004")
    assert_no_traceback(proc)
    [finding] = json.loads(proc.stdout)["findings"]
    assert finding["severity"] == "medium" and finding["path"] is None
    assert "2 userspace OOM killers are enabled at once (systemd-oomd, earlyoom)" \
        in finding["message"]
    assert finding["fix"].endswith("systemctl disable --now earlyoom.service")
    assert {e["source"] for e in finding["evidence"]} == {
        "root/lib/systemd/system/earlyoom.service", "root/lib/systemd/system/systemd-oomd.service"}


@pytest.mark.parametrize("enabled, masked", [
    (["earlyoom.service"], ()),
    (["earlyoom.service", "systemd-oomd.service"], ("systemd-oomd.service",)),
    ([], ())])
def test_userkill004_not_with_one_killer(oomaudit, tmp_path, enabled, masked):
    root = _killers_tree(tmp_path / "root", enabled, masked)
    proc = oomaudit("scan", "--root", root, "--ram", "4G", "--format", "json",
                    "--select", "USERKILL004")
    assert_no_traceback(proc)
    assert json.loads(proc.stdout)["findings"] == []


def test_userkill004_not_in_a_repository(tmp_path):
    """Unit files without their .wants/ links say nothing about what is enabled."""
    code, findings = audit(tmp_path, {"earlyoom.service": "[Service]\nExecStart=/x\n",
                                      "systemd-oomd.service": "[Service]\nExecStart=/y\n"},
                           "--select", "USERKILL004")
    assert (code, findings) == (0, [])


def _oomd_tree(root: Path, ssh_dropin: str = "", oomd_enabled: bool = True) -> Path:
    """systemd-oomd as Debian's package installs it (its -.slice drop-in), enabled, and an
    ssh.service."""
    _killers_tree(root, ["systemd-oomd.service"] if oomd_enabled else [])
    root_slice = root / "usr/lib/systemd/system/-.slice.d"
    root_slice.mkdir(parents=True)
    (root_slice / "10-oomd-root-slice-defaults.conf").write_text("[Slice]\nManagedOOMSwap=kill\n")
    lib = root / "lib/systemd/system"
    (lib / "ssh.service").write_text("[Service]\nExecStart=/usr/sbin/sshd -D\n"
                                     "OOMScoreAdjust=-900\n")
    if ssh_dropin:
        (root / "etc/systemd/system/ssh.service.d").mkdir(parents=True)
        (root / "etc/systemd/system/ssh.service.d/oomd.conf").write_text(ssh_dropin)
    return root


def _scan(oomaudit, root: Path, rule: str) -> list[dict]:
    proc = oomaudit("scan", "--root", root, "--ram", "4G", "--format", "json", "--select", rule)
    assert_no_traceback(proc)
    report = json.loads(proc.stdout)
    assert report["errors"] == [], report["errors"]
    return report["findings"]


def test_userkill005_oomd_may_kill_sshd_under_the_root_slice(oomaudit, tmp_path):
    [finding] = _scan(oomaudit, _oomd_tree(tmp_path / "root"), "USERKILL005")
    assert finding["severity"] == "medium"
    assert finding["message"].startswith(
        "systemd-oomd may kill critical service ssh.service: ManagedOOMSwap=kill on -.slice")
    assert finding["path"] == "root/lib/systemd/system/ssh.service"
    assert {"source": "root/usr/lib/systemd/system/-.slice.d/10-oomd-root-slice-defaults.conf:2",
            "what": "ManagedOOMSwap=kill on -.slice"} in finding["evidence"]
    assert "ManagedOOMPreference=avoid" in finding["fix"]


@pytest.mark.parametrize("dropin", ["[Service]\nManagedOOMPreference=avoid\n",
                                    "[Service]\nManagedOOMPreference=omit\n"])
def test_userkill005_not_with_a_preference(oomaudit, tmp_path, dropin):
    assert _scan(oomaudit, _oomd_tree(tmp_path / "root", dropin), "USERKILL005") == []


def test_userkill005_not_when_oomd_is_not_enabled_or_the_slice_is_reset(oomaudit, tmp_path):
    assert _scan(oomaudit, _oomd_tree(tmp_path / "a", oomd_enabled=False), "USERKILL005") == []
    root = _oomd_tree(tmp_path / "b")
    (root / "etc/systemd/system/-.slice.d").mkdir(parents=True)
    (root / "etc/systemd/system/-.slice.d/zz.conf").write_text("[Slice]\nManagedOOMSwap=\n")
    assert _scan(oomaudit, root, "USERKILL005") == []


def test_userkill005_a_slice_of_the_unit_managing_pressure(oomaudit, tmp_path):
    root = _oomd_tree(tmp_path / "root", "[Service]\nSlice=critical-db.slice\n")
    (root / "etc/systemd/system/critical.slice").write_text(
        "[Slice]\nManagedOOMMemoryPressure=kill\nManagedOOMMemoryPressureLimit=40%\n")
    [finding] = _scan(oomaudit, root, "USERKILL005")
    assert {"what": "ManagedOOMMemoryPressureLimit=40% on critical.slice (in place of "
                    "DefaultMemoryPressureLimit)",
            "source": "root/etc/systemd/system/critical.slice:3"} in finding["evidence"]
    assert ("ManagedOOMMemoryPressure=kill on critical.slice, ManagedOOMSwap=kill on -.slice"
            in finding["message"])


def test_slices_of_a_unit():
    from oomaudit.plugins.oomkillers.oomd import slices

    from oomaudit.parsers.systemd_units import Unit, UnitSet

    units = UnitSet()
    assert slices(units, Unit("x.service", None)) == ["system.slice", "-.slice"]
    assert slices(units, Unit("a-b-c.slice", None)) == ["a-b.slice", "a.slice", "-.slice"]
    assert slices(units, Unit("-.slice", None)) == []


def test_debian_systemd_oomd_enabled_may_kill_sshd(oomaudit, tmp_path):
    """Debian's systemd-oomd package as shipped (its -.slice drop-in), then enabled as its
    postinst does, beside an ssh.service: USERKILL005 on the package's own file; not
    enabled (the unpacked package alone), nothing."""
    import shutil

    shipped = unpacked("systemd-oomd", "lib/systemd/system/systemd-oomd.service")
    root = tmp_path / "root"
    shutil.copytree(shipped, root, symlinks=True)
    (root / "lib/systemd/system/ssh.service").write_text("[Service]\nExecStart=/usr/sbin/sshd\n")
    assert _scan(oomaudit, root, "USERKILL") == []
    wants = root / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True)
    (wants / "systemd-oomd.service").symlink_to("/lib/systemd/system/systemd-oomd.service")
    [finding] = _scan(oomaudit, root, "USERKILL")
    assert finding["rule"] == "USERKILL005"
    assert {"source": "root/usr/lib/systemd/system/-.slice.d/10-oomd-root-slice-defaults.conf:"
                      "2", "what": "ManagedOOMSwap=kill on -.slice"} in finding["evidence"]


def test_userkill005_says_when_oomd_acts(oomaudit, tmp_path):
    root = _oomd_tree(tmp_path / "root")
    (root / "etc/systemd/oomd.conf.d").mkdir(parents=True)
    (root / "etc/systemd/oomd.conf.d/50-swap.conf").write_text("[OOM]\nSwapUsedLimit=75%\n")
    [finding] = _scan(oomaudit, root, "USERKILL005")
    assert {"what": "SwapUsedLimit=75%",
            "source": "root/etc/systemd/oomd.conf.d/50-swap.conf:2"} in finding["evidence"]
