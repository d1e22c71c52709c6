"""A unit masked by a symlink to /dev/null is masked, not an unreadable file: a live scan of
a Debian host (cryptdisks.service, hwclock.service, x11-common.service ... -> /dev/null)
once said "CONF003 could not read /dev/null" and skipped every rule reading units, and so
did a check of a repository holding such a link (etckeeper commits them). A link to another
unit's name is an alias of it (Debian's mysql.service -> mariadb.service), one unit."""
from __future__ import annotations

import json
import os

from oomaudit.plugins.systemd import constants

from oomaudit.config import Settings
from oomaudit.discovery import system_host
from oomaudit.reading import Reader


def _units_folder(tmp_path):
    folder = tmp_path / "lib/systemd/system"
    folder.mkdir(parents=True)
    (folder / "db.service").write_text("[Service]\nExecStart=/usr/sbin/db\n")
    os.symlink("/dev/null", folder / "hwclock.service")  # as Debian's util-linux ships it
    os.symlink("hwclock.service", folder / "hwclock-alias.service")  # masked through a link
    return folder


def test_live_discovery_reads_no_unit_through_a_link_to_dev_null(tmp_path):
    """Live, '/' is the root: the glob over a unit folder lists the masked names, and
    /dev/null (a character device) must not be read as their file."""
    folder = _units_folder(tmp_path)
    reader = Reader(constants.PLUGIN, parse=constants.READER.parse,
                    system_paths=(f"{folder}/*.service",))
    host = system_host(None, {constants.PLUGIN: reader}, Settings(), {})
    assert [real for _, real in host.files] == [folder / "db.service"]
    for found_by, real in host.files:
        host.read(real, found_by)
    assert host.diagnostics == [] and host.unread == {}



def _repository(tmp_path):
    """Debian's mariadb.service masked in /etc over the package's unit, with a drop-in that
    no longer matters; redis-server.service, not masked, beside it."""
    units, etc = tmp_path / "lib/systemd/system", tmp_path / "etc/systemd/system"
    units.mkdir(parents=True)
    (etc / "mariadb.service.d").mkdir(parents=True)
    (units / "mariadb.service").write_text("[Service]\nExecStart=/usr/sbin/mariadbd\n")
    (units / "redis-server.service").write_text(
        "[Service]\nExecStart=/usr/bin/redis-server /etc/redis/redis.conf\n")
    os.symlink("/dev/null", etc / "mariadb.service")
    (etc / "mariadb.service.d/oom.conf").write_text("[Service]\nOOMScoreAdjust=-600\n")


def _audit(oomaudit, cwd, *targets):
    proc = oomaudit("check", *targets, "--format", "json", "--select", "SYSTEMD,CONF",
                    cwd=cwd)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def test_a_repository_masks_a_unit_as_systemd_does(oomaudit, tmp_path):
    """The masked mariadb.service loads nothing (no SYSTEMD005 for it), the link is no
    unreadable file (no CONF003, no rule skipped for it); redis-server is judged."""
    _repository(tmp_path)
    report = _audit(oomaudit, tmp_path, ".")
    assert [(f["rule"], f["path"]) for f in report["findings"]] == [
        ("SYSTEMD005", "lib/systemd/system/redis-server.service")]
    assert [r["rule"] for r in report["rules"] if r["status"] == "skipped"] == ["SYSTEMD004"]


def test_a_mask_given_by_name_is_said_to_be_one(oomaudit, tmp_path):
    """pre-commit passes the changed files: the mask itself is nothing to read, and the
    package's unit it masks loads nothing either."""
    _repository(tmp_path)
    report = _audit(oomaudit, tmp_path, "etc/systemd/system/mariadb.service",
                    "lib/systemd/system/mariadb.service")
    assert report["findings"] == []
    assert "etc/systemd/system/mariadb.service: masked (a link to /dev/null): nothing to " \
           "read" in report["notices"]


def test_a_repository_alias_is_its_unit_once(oomaudit, tmp_path):
    """mariadb-server ships mysql.service and mysqld.service as links to mariadb.service:
    one unit under three names (three SYSTEMD005 before), as systemd loads it."""
    units = tmp_path / "lib/systemd/system"
    units.mkdir(parents=True)
    (units / "mariadb.service").write_text("[Service]\nExecStart=/usr/sbin/mariadbd\n")
    os.symlink("mariadb.service", units / "mysql.service")
    os.symlink("mariadb.service", units / "mysqld.service")
    report = _audit(oomaudit, tmp_path, ".")
    assert [(f["rule"], f["path"]) for f in report["findings"]] == [
        ("SYSTEMD005", "lib/systemd/system/mariadb.service")]
