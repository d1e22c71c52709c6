"""``max-file-size``: the per-file cap of the confined layer, set in the config (issue 12.1).

A file over the cap is not read: a CONF003 names the file and the cap, and the rules that
needed it are skipped, not passed. Through the real CLI on files written here.
"""
import json

from engine_stub import assert_no_traceback


def _repo(tmp_path, cap_line: str):
    (tmp_path / ".oomaudit.toml").write_text(cap_line)
    (tmp_path / "fstab").write_text("# a comment that makes the file large\n" * 200)
    return tmp_path


def test_a_file_over_the_configured_cap_is_a_conf003_naming_the_cap(oomaudit, tmp_path):
    repo = _repo(tmp_path, 'max-file-size = "4K"\n')
    proc = oomaudit("check", ".", "--format", "json", cwd=repo)
    assert_no_traceback(proc)
    report = json.loads(proc.stdout)
    conf003 = [f for f in report["findings"] if f["rule"] == "CONF003"]
    assert [f["path"] for f in conf003] == ["fstab"]
    assert "larger than 4.0 KiB" in conf003[0]["message"]


def test_under_the_default_cap_the_same_file_is_read(oomaudit, tmp_path):
    repo = _repo(tmp_path, "")
    proc = oomaudit("check", ".", "--format", "json", cwd=repo)
    report = json.loads(proc.stdout)
    assert not [f for f in report["findings"] if f["rule"] == "CONF003"]


def test_a_bad_cap_is_a_usage_error_naming_the_line(oomaudit, tmp_path):
    repo = _repo(tmp_path, 'fail-on = "low"\nmax-file-size = "lots"\n')
    proc = oomaudit("check", ".", cwd=repo)
    assert proc.returncode == 2
    assert ".oomaudit.toml:2" in proc.stderr and "'lots'" in proc.stderr
