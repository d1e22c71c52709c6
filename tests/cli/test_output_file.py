"""``--output`` as root from a timer, beside other users and other runs: never onto what
the audit read, never through a link planted at the temporary name, the report's mode and
owner kept, and concurrent runs writing one report all succeed with a whole report."""
from __future__ import annotations

import json
import os
import subprocess
import sys

FSTAB = "UUID=x / ext4 defaults 0 1\n"


def test_output_onto_an_audited_file_is_refused(oomaudit, tmp_path):
    (tmp_path / "fstab").write_text(FSTAB)
    os.symlink("fstab", tmp_path / "alias")
    for output in ("fstab", "alias", str(tmp_path / "fstab")):
        proc = oomaudit("check", "fstab", "-o", output)
        assert proc.returncode == 2
        assert "is a file this audit read" in proc.stderr
        assert (tmp_path / "fstab").read_text() == FSTAB
    proc = oomaudit("check", "fstab", "--format", "json", "--format", "text",
                    "-o", "report.json", "-o", "fstab")
    assert proc.returncode == 2 and not (tmp_path / "report.json").exists()


def test_existing_report_keeps_its_mode(oomaudit, tmp_path):
    (tmp_path / "fstab").write_text(FSTAB)
    report = tmp_path / "report.txt"
    report.write_text("old\n")
    report.chmod(0o640)
    assert oomaudit("check", "fstab", "-o", "report.txt").returncode == 1
    assert "SWAP001" in report.read_text()
    assert report.stat().st_mode & 0o777 == 0o640


def test_a_link_at_any_temporary_name_is_never_followed(oomaudit, tmp_path):
    """The temporary name is random and created with O_EXCL: links planted at the names an
    attacker could guess (the old fixed one among them) are left alone."""
    (tmp_path / "fstab").write_text(FSTAB)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    for guess in (".report.txt.oomaudit-tmp", ".report.txt.tmp", "report.txt.tmp"):
        os.symlink(victim, tmp_path / guess)
    assert oomaudit("check", "fstab", "-o", "report.txt").returncode == 1
    assert victim.read_text() == "precious\n"
    assert "SWAP001" in (tmp_path / "report.txt").read_text()
    left = sorted(p.name for p in tmp_path.iterdir() if "oomaudit-tmp" in p.name)
    assert left == [".report.txt.oomaudit-tmp"]  # only the planted link


def test_concurrent_runs_writing_one_report_all_succeed(tmp_path):
    (tmp_path / "fstab").write_text(FSTAB)
    env = {**os.environ, "OOMAUDIT_SYSTEM_CONFIG": str(tmp_path / "none.toml")}
    runs = [subprocess.Popen([sys.executable, "-m", "oomaudit", "check", "fstab", "--format",
                              "json", "-o", "report.json"], cwd=tmp_path, env=env,
                             stderr=subprocess.PIPE, text=True) for _ in range(8)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in runs]
    assert all(code == 1 for code, _ in results), results
    assert json.loads((tmp_path / "report.json").read_text())["summary"]["exit_code"] == 1
    assert not [p for p in tmp_path.iterdir() if "oomaudit-tmp" in p.name]
