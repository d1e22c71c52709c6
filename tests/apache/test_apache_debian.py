"""Debian's shipped /etc/apache2 (apt-get download apache2 + dpkg-deb -x, cached per
version), with the modules, confs and site a fresh install enables: apache2 and oomaudit
read the same files and MPM values, and the audit of a 4 GiB host finds nothing above
low and no CONF problem."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import apache_oracle
import pytest
from conftest import IN_CI, need_program
from oomaudit.plugins.apache.servers import servers

from oomaudit.host import ROOT, Host
from oomaudit.parsers.apache_mpm import COMMANDS

CACHE = Path(os.environ.get("OOMAUDIT_TEST_CACHE", Path(tempfile.gettempdir())
                            / "oomaudit-test-cache"))
# What apache2's postinst enables on a fresh install (a2enmod adds the "# Depends:").
MODULES = ("mpm_event", "authz_host", "auth_basic", "access_compat", "authn_file",
           "authz_user", "alias", "dir", "autoindex", "env", "mime", "negotiation",
           "setenvif", "filter", "deflate", "status", "reqtimeout")
CONFS = ("charset", "localized-error-pages", "other-vhosts-access-log", "security",
         "serve-cgi-bin")


def shipped() -> Path:
    """/etc/apache2 exactly as the apache2 package ships it."""
    for program in ("apt-get", "apt-cache", "dpkg-deb"):
        need_program(program, "fetching Debian's apache2 configuration")
    shown = subprocess.run(["apt-cache", "show", "--no-all-versions", "apache2"],
                           capture_output=True, text=True).stdout
    version = re.search(r"^Version: (\S+)", shown, re.M)
    tree = CACHE / f"debian-apache2-{version.group(1) if version else 'unknown'}"
    if (tree / "etc/apache2/apache2.conf").is_file():
        return tree
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=CACHE))
    got = subprocess.run(["apt-get", "download", "apache2"], cwd=work, capture_output=True,
                         text=True, timeout=300)
    debs = list(work.glob("apache2_*.deb"))
    if got.returncode or not debs:
        if IN_CI:
            pytest.fail(f"apt-get download apache2 failed: {got.stderr}")
        pytest.skip("apt-get download apache2 failed (offline?)")
    subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(work / "tree")], check=True)
    (work / "tree").rename(tree)  # atomic: a half-extracted tree is never cached
    shutil.rmtree(work)
    return tree


def enable(etc: Path, kind: str, name: str) -> None:
    """a2enmod/a2enconf/a2ensite: relative symlinks, module dependencies first."""
    available, enabled = etc / f"{kind}-available", etc / f"{kind}-enabled"
    suffixes = (".load", ".conf") if kind == "mods" else (".conf",)
    if kind == "mods":
        load = (available / f"{name}.load").read_text()
        for dep in re.findall(r"^# Depends: (.+)$", load, re.M):
            for other in dep.split():
                enable(etc, kind, other)
    for suffix in suffixes:
        if (available / f"{name}{suffix}").is_file() and \
                not (enabled / f"{name}{suffix}").is_symlink():
            os.symlink(f"../{kind}-available/{name}{suffix}", enabled / f"{name}{suffix}")


@pytest.fixture(scope="module")
def debian(tmp_path_factory) -> Path:
    """A root with Debian's /etc/apache2 after a fresh install's postinst."""
    root = tmp_path_factory.mktemp("debian-apache2")
    shutil.copytree(shipped() / "etc/apache2", root / "etc/apache2", symlinks=True)
    etc = root / "etc/apache2"
    for module in MODULES:
        enable(etc, "mods", module)
    for conf in CONFS:
        enable(etc, "conf", conf)
    enable(etc, "sites", "000-default")
    return root


def test_debian_tree_read_as_apache2_reads_it(debian, tmp_path):
    apache2 = need_program("apache2", "reference reader of Apache configurations")
    etc = debian / "etc/apache2"
    # envvars as apache2ctl sources it, with the run and log folders moved to tmp_path so
    # that nothing outside the test's folders is touched
    script = (f". {etc}/envvars && export APACHE_RUN_DIR={tmp_path} "
              f"APACHE_LOG_DIR={tmp_path} && exec {apache2} -d {etc} -f {etc}/apache2.conf "
              f"-C '{apache_oracle.INFO}' -t -D DUMP_INCLUDES -D DUMP_CONFIG")
    proc = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30,
                          env={"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/bin"),
                               "APACHE_CONFDIR": str(etc)})
    assert proc.returncode == 0, proc.stderr
    theirs = apache_oracle.Outcome(proc.returncode, proc.stdout, proc.stderr)
    theirs = apache_oracle.parse(theirs)

    host = Host("debian", ROOT, debian)
    [server] = list(servers(host))
    assert server.error is None and server.mpm.name == "event"
    assert [(line, Path(path).relative_to(etc)) for line, path in theirs.includes] == \
        [(line, Path(path).relative_to(etc)) for line, path in server.config.includes]
    kept = [(Path(d.source.path).relative_to(etc), d.line, d.name, d.args.strip())
            for d in server.config.directives if d.name.lower() in COMMANDS]
    dumped = [(Path(f).relative_to(etc), n, d, a.strip()) for f, n, d, a in theirs.directives
              if d.lower() in COMMANDS]
    assert kept == dumped and ("MaxRequestWorkers" in {d[2] for d in kept})
    assert theirs.warnings == [] == server.limits.clamps
    assert server.limits.max_workers == 150 and server.limits.threads_per_child == 25
    # envvars was read, never run: ${APACHE_RUN_USER} resolved from its export line
    assert not server.config.undefined, server.config.undefined
    assert any(d.name == "User" and d.args == "www-data" for d in server.config.directives)


def test_debian_tree_on_4g_has_nothing_above_low(debian):
    """Done when: Debian's shipped apache2 configs on a 4 GiB profile give no finding
    above low and are read without CONF findings."""
    proc = subprocess.run([sys.executable, "-m", "oomaudit", "scan", "--root", str(debian),
                           "--ram", "4G", "--format", "json", "--select", "HTTPD,CONF"],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    assert report["errors"] == []
    assert [f for f in report["findings"] if f["rule"].startswith("CONF")] == []
    assert [f for f in report["findings"] if f["severity"] not in ("info", "low")] == []
    [host] = report["hosts"]
    [apache] = [c for c in host["ledger"] if c["service"] == "apache"]
    assert "6 processes (MaxRequestWorkers 150 / ThreadsPerChild 25)" in apache["how"]
    assert apache["source"].endswith("mods-enabled/mpm_event.conf:13")


def test_debian_tree_without_postinst_loads_no_mpm(tmp_path):
    """The package alone enables nothing: httpd would stop with AH00534, and so do we."""
    shutil.copytree(shipped() / "etc/apache2", tmp_path / "etc/apache2", symlinks=True)
    host = Host("bare", ROOT, tmp_path)
    [server] = list(servers(host))
    assert server.error is not None and "No MPM loaded" in server.error.message
