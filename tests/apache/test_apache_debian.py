"""Debian's shipped /etc/apache2 (apt-get download apache2 + dpkg-deb -x, cached per
version), with the modules, confs and site a fresh install enables, read from the package's
own postinst: apache2 and oomaudit read the same files and MPM values, and the audit of a
4 GiB host finds nothing above low and no CONF problem, alone and beside php8.2-fpm,
MariaDB and PostgreSQL 15 (issue 14's done-when)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import apache_oracle
import pytest
from conftest import IN_CI, assert_no_traceback, need_program
from debian_packages import maintainer_script, unpacked
from oomaudit.plugins.apache.servers import servers

from oomaudit.host import ROOT, Host
from oomaudit.parsers.apache_mpm import COMMANDS

PACKAGE_FILE = "etc/apache2/apache2.conf"


def shipped() -> Path:
    """/etc/apache2 exactly as the apache2 package ships it."""
    return unpacked("apache2", PACKAGE_FILE)


def postinst_enables() -> list[tuple[str, str]]:
    """What apache2's postinst enables on a fresh install, in its order, read from the
    package's own script (``dpkg-deb -e``): (``mods``/``conf``/``sites``, name) for each
    ``a2enmod``/``a2enconf``/``a2ensite`` it runs on a name or over a ``for`` loop's list."""
    script = maintainer_script("apache2", PACKAGE_FILE).replace("\\\n", " ")
    kinds = {"mod": "mods", "conf": "conf", "site": "sites"}
    found = []
    for m in re.finditer(r"for (\w+) in ([^;]*);\s*do\s+a2en(mod|conf|site)(?: -\w)* \$\1\b"
                         r"|^\s*a2en(mod|conf|site)(?: -\w)* ([\w.-]+)\s*$", script, re.M):
        if m.group(1):
            found += [(kinds[m.group(3)], name) for name in m.group(2).split()]
        else:
            found.append((kinds[m.group(4)], m.group(5)))
    return found


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


def test_postinst_enables_event_then_the_default_modules_confs_and_site():
    enabled = postinst_enables()
    assert enabled[0] == ("mods", "mpm_event") and enabled[-1] == ("sites", "000-default")
    assert {"status", "reqtimeout", "deflate"} <= {n for k, n in enabled if k == "mods"}
    assert ("conf", "security") in enabled


@pytest.fixture(scope="module")
def debian(tmp_path_factory) -> Path:
    """A root with Debian's /etc/apache2 after a fresh install's postinst."""
    root = tmp_path_factory.mktemp("debian-apache2")
    shutil.copytree(shipped() / "etc/apache2", root / "etc/apache2", symlinks=True)
    for kind, name in postinst_enables():
        enable(root / "etc/apache2", kind, name)
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


# --- issue 14's done-when: a Debian LAMP host as its packages install it ------------------

# The other packages of the host, each with a file that says its unpacked tree is whole; the
# PostgreSQL cluster's config is the one pg_createcluster wrote when postgresql-15 was
# installed here (CI installs it): no package ships it.
STACK = {"php8.2-fpm": "etc/php/8.2/fpm/php-fpm.conf",
         "php8.2-common": "usr/lib/php/8.2/php.ini-production",
         "mariadb-server": "etc/mysql/mariadb.conf.d/50-server.cnf",
         "mariadb-common": "etc/mysql/mariadb.cnf", "mysql-common": "etc/mysql/my.cnf.fallback",
         "postgresql-common": "lib/systemd/system/postgresql@.service"}
CLUSTER = Path("/etc/postgresql/15/main")
UNITS = ("apache2.service", "php8.2-fpm.service", "mariadb.service", "postgresql.service")


@pytest.fixture(scope="module")
def lamp(debian, tmp_path_factory) -> Path:
    """apache2 as its postinst leaves it (the debian fixture), with php8.2-fpm, MariaDB and
    PostgreSQL 15 unpacked beside it and set up as their maintainer scripts do: php.ini
    from php.ini-production (ucf), my.cnf through the my.cnf alternative, the units
    enabled (deb-systemd-helper), the cluster's config from pg_createcluster."""
    if not (CLUSTER / "postgresql.conf").is_file():
        if IN_CI:
            pytest.fail(f"{CLUSTER} missing: installing postgresql-15 runs pg_createcluster")
        pytest.skip("postgresql-15 is not installed here (no pg_createcluster config)")
    root = tmp_path_factory.mktemp("debian-lamp")
    for package, marker in [("apache2", PACKAGE_FILE), *STACK.items()]:
        shutil.copytree(unpacked(package, marker), root, symlinks=True, dirs_exist_ok=True)
    shutil.rmtree(root / "etc/apache2")  # the package's, for the one its postinst enabled
    shutil.copytree(debian / "etc/apache2", root / "etc/apache2", symlinks=True)
    shutil.copy(root / STACK["php8.2-common"], root / "etc/php/8.2/fpm/php.ini")
    (root / "etc/alternatives").mkdir(exist_ok=True)
    os.symlink("/etc/mysql/mariadb.cnf", root / "etc/alternatives/my.cnf")
    os.symlink("/etc/alternatives/my.cnf", root / "etc/mysql/my.cnf")
    wants = root / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True)
    for unit in UNITS:
        assert (root / "lib/systemd/system" / unit).is_file(), unit
        os.symlink(f"/lib/systemd/system/{unit}", wants / unit)
    shutil.copytree(CLUSTER, root / "etc/postgresql/15/main",
                    ignore=shutil.ignore_patterns("pg_hba.conf", "pg_ident.conf"))
    return root


def test_debian_lamp_host_on_a_4g_profile_has_nothing_above_low(lamp, oomaudit):
    """Done when (issue 14): the trees the tests build, apache2 with the modules its
    postinst enables, php8.2-fpm, MariaDB and PostgreSQL 15, give nothing above low on a
    4 GiB [[hosts]] profile, each service once in the ledger: under scan --root, and as a
    repository holding the same /etc (where mods-available's mpm_prefork and mpm_worker
    were apaches of their own, 8.1 GiB of them: HOST002 high)."""
    profile = lamp.parent / "hosts.toml"
    profile.write_text(f'[[hosts]]\nname = "lamp"\npaths = ["{lamp.name}", "{lamp.name}/**"]\n'
                       'ram = "4GiB"\n')
    scan = oomaudit("scan", "--root", lamp, "--config", profile, "--format", "json")
    check = oomaudit("check", lamp / "etc", lamp / "lib/systemd/system", "--config", profile,
                     "--format", "json", cwd=lamp.parent)
    for proc in (scan, check):
        assert_no_traceback(proc)
        report = json.loads(proc.stdout)
        assert report["errors"] == []
        assert [(f["rule"], f["severity"], f["message"]) for f in report["findings"]
                if f["severity"] not in ("info", "low")] == []
        [host] = report["hosts"]
        assert host["facts"]["ram"]["value"] == 4 << 30
        [apache] = [c["source"] for c in host["ledger"] if c["service"] == "apache"]
        assert apache.endswith(f"{lamp.name}/etc/apache2/mods-enabled/mpm_event.conf:13")
    assert not [f for f in json.loads(scan.stdout)["findings"] if f["rule"].startswith("CONF")]
    assert sorted(c["service"] for c in json.loads(scan.stdout)["hosts"][0]["ledger"]) == [
        "apache", "mysql", "php-fpm", "postgresql 15/main"]
