"""A unit masked by a symlink to /dev/null is masked, not an unreadable file: a live scan of
a Debian host (cryptdisks.service, hwclock.service, x11-common.service ... -> /dev/null)
once said "CONF003 could not read /dev/null" and skipped every rule reading units."""
from __future__ import annotations

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

