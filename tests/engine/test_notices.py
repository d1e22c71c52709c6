"""Notices are for things a user can act on: a rule whose format was not read at all passes
quietly instead of saying it was skipped for a missing fact."""
from __future__ import annotations

import json


def _skipped(proc) -> set[str]:
    return {r["rule"] for r in json.loads(proc.stdout)["rules"] if r["status"] == "skipped"}


def test_unrelated_rules_do_not_report_skips(oomaudit, tmp_path):
    fstab = tmp_path / "fstab"
    fstab.write_text("/swapfile none swap sw 0 0\n")
    proc = oomaudit("check", fstab, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert not {"PG001", "PG002", "SYSTEMD004"} & _skipped(proc)
    assert "skipped" not in oomaudit("check", fstab).stdout


def test_rules_whose_files_were_read_still_say_what_they_miss(oomaudit, tmp_path):
    (tmp_path / "postgresql.conf").write_text("shared_buffers = 1GB\n")
    (tmp_path / "ssh.service").write_text("[Service]\nExecStart=/usr/sbin/sshd -D\n")
    skipped = _skipped(oomaudit("check", tmp_path, "--format", "json"))
    assert {"PG001", "PG002", "SYSTEMD004"} <= skipped  # no RAM declared; not a live host
