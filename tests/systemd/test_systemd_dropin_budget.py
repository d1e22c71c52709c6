"""A unit's drop-ins are under the include budget of one configuration (oomaudit/includes.py:
1,024 files and 64 MiB), as a main file's includes are: the first past it is a CONF002 that
names the cap, and neither it nor a later one is read, on a host tree (``scan --root``) and
in a repository (``check``). Real files, real CLI."""
from __future__ import annotations

import json

from oomaudit.plugins.systemd.units import units_of

from oomaudit.host import ROOT, Host
from oomaudit.includes import MAX_BYTES, MAX_FILES

UNIT = "[Service]\nExecStart=/usr/sbin/mysqld\n"


def conf002(proc) -> list[dict]:
    assert proc.returncode in (0, 1), proc.stderr
    return [f for f in json.loads(proc.stdout)["findings"] if f["rule"] == "CONF002"]


def many_dropins(folder, count: int) -> None:
    dropins = folder / "mysql.service.d"
    dropins.mkdir(parents=True)
    (folder / "mysql.service").write_text(UNIT)
    for n in range(count):
        (dropins / f"{n:05}.conf").write_text("[Service]\nOOMScoreAdjust=-900\n")
    # past the budget: its lower score is not applied
    (dropins / f"{count:05}.conf").write_text("[Service]\nOOMScoreAdjust=-1000\n")


def test_files_past_the_budget_on_a_host_tree(oomaudit, tmp_path):
    many_dropins(tmp_path / "etc/systemd/system", MAX_FILES + 50)
    proc = oomaudit("scan", "--root", str(tmp_path), "--ram", "8G", "--select", "CONF002",
                    "--format", "json")
    [found] = conf002(proc)
    assert found["path"].endswith(f"mysql.service.d/{MAX_FILES:05}.conf")
    assert found["message"] == (f"drop-ins of mysql.service: more than {MAX_FILES} files read "
                                "through includes (oomaudit's cap): this one and later ones "
                                "not read")
    unit = units_of(Host("t", ROOT, tmp_path)).units["mysql.service"]
    assert len(unit.dropins) == MAX_FILES
    assert unit.setting("OOMScoreAdjust").value == -900  # the last drop-in was not applied


def test_files_past_the_budget_in_a_repository(oomaudit, tmp_path):
    many_dropins(tmp_path / "etc/systemd/system", MAX_FILES + 5)
    proc = oomaudit("check", ".", "--ram", "8G", "--select", "CONF002", "--format", "json",
                    cwd=tmp_path)
    [found] = conf002(proc)
    assert found["path"] == f"etc/systemd/system/mysql.service.d/{MAX_FILES:05}.conf"


def test_bytes_past_the_budget(oomaudit, tmp_path):
    """Five drop-ins of 15 MiB each (under the 16 MiB a file may have): the fifth passes
    the 64 MiB of one configuration."""
    folder = tmp_path / "etc/systemd/system"
    (folder / "top.service.d").mkdir(parents=True)
    (folder / "top.service").write_text(UNIT)
    size = 15 << 20
    for n in range(5):
        (folder / f"top.service.d/{n}.conf").write_text("#" + "x" * size + "\n[Service]\n")
    assert 5 * size > MAX_BYTES > 4 * size
    proc = oomaudit("scan", "--root", str(tmp_path), "--ram", "8G", "--select", "CONF002",
                    "--format", "json")
    [found] = conf002(proc)
    assert found["path"].endswith("top.service.d/4.conf")
    assert f"more than {MAX_BYTES >> 20} MiB read through includes" in found["message"]


def test_a_unit_within_the_budget_reads_every_dropin(oomaudit, tmp_path):
    many_dropins(tmp_path / "etc/systemd/system", 20)
    proc = oomaudit("scan", "--root", str(tmp_path), "--ram", "8G", "--select", "CONF002",
                    "--format", "json")
    assert conf002(proc) == []


def test_a_built_in_slices_dropins_are_under_the_budget_too(tmp_path):
    """systemd-oomd's view of ``-.slice``, which no unit file defines: its drop-ins alone."""
    from oomaudit.plugins.oomkillers.oomd import builtin_slice

    dropins = tmp_path / "usr/lib/systemd/system/-.slice.d"
    dropins.mkdir(parents=True)
    for n in range(MAX_FILES + 3):
        (dropins / f"{n:05}.conf").write_text("[Slice]\nManagedOOMSwap=kill\n")
    host = Host("t", ROOT, tmp_path)
    assert len(builtin_slice(host, "-.slice").dropins) == MAX_FILES
    [problem] = [p for s in host.sources.values() for p in s.problems]
    assert (problem.rule, problem.path.rsplit("/", 1)[1]) == ("CONF002", f"{MAX_FILES:05}.conf")
