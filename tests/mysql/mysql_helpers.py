"""Shared by the MySQL tests: run our reader the way the plugin does, and run the real
programs (my_print_defaults, mariadbd) on the same files."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from oomaudit.plugins.mysql.constants import READER

from oomaudit.host import ROOT, Host
from oomaudit.parsers import mycnf
from oomaudit.parsers.mysql_values import Flavour, settings

MARIADB_1011 = Flavour("MariaDB", (10, 11), "test")
DEBIAN_PACKAGES = ("mariadb-common", "mysql-common", "mariadb-server", "mariadb-client")


def ours(top: Path, cwd: Path, flavour: Flavour = MARIADB_1011, root: Path = Path("/")):
    """(host, ServerConfig) for ``top`` read as mysqld would, relative includes against
    ``cwd`` (inside ``root``)."""
    host = Host("test", ROOT, root)
    loader = mycnf.Loader(host, READER, flavour.groups(),
                          lambda path, _: host.resolve(path, str(cwd)), {})
    return host, loader.load([top])


def effective(config, flavour: Flavour = MARIADB_1011) -> dict[str, int | None]:
    table, _ = settings(config.options, flavour)
    return {name: s.value.number for name, s in table.items()}


def my_print_defaults(program: str, top: Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([program, f"--defaults-file={top}", "--mysqld"], cwd=cwd,
                          capture_output=True, timeout=30)


def mariadbd_values(program: str, top: Path, cwd: Path) -> tuple[int, dict[str, str], str]:
    """(rc, variable -> printed value with underscores, stderr) of
    ``mariadbd --defaults-file=TOP --verbose --help``."""
    proc = subprocess.run([program, f"--defaults-file={top}", "--verbose", "--help"], cwd=cwd,
                          capture_output=True, text=True, errors="replace", timeout=60)
    return proc.returncode, help_table(proc.stdout), proc.stderr


def help_table(text: str) -> dict[str, str]:
    values, inside = {}, False
    for line in text.splitlines():
        if line.startswith("Variables (--variable-name=value)"):
            inside = True
        elif inside and not line.startswith("---"):
            parts = line.split(None, 1)
            if len(parts) == 2:
                values[parts[0].replace("-", "_")] = parts[1].strip()
    return values


def help_option_names(text: str) -> set[str]:
    names = set(re.findall(r"^  (?:-\S, )?--([A-Za-z0-9_-]+)", text, re.M))
    names |= {n.replace("_", "-") for n in help_table(text) if "_" in n}
    return names


def debian_tree(cache: Path) -> Path:
    """Debian's shipped MariaDB configuration laid out like /, from the packages themselves
    (apt-get download + dpkg-deb -x), cached per package version; /etc/mysql/my.cnf is the
    update-alternatives link the postinst creates."""
    version = subprocess.run(["apt-cache", "show", "--no-all-versions", "mariadb-server"],
                             capture_output=True, text=True).stdout
    key = re.search(r"^Version: (\S+)", version, re.M)
    tree = cache / f"debian-mariadb-{key.group(1) if key else 'unknown'}".replace(":", "_")
    if (tree / "etc/mysql/my.cnf").is_symlink():
        return tree
    download = cache / "debs"
    download.mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", *DEBIAN_PACKAGES], cwd=download, check=True,
                   capture_output=True, timeout=300)
    for deb in sorted(download.glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
    (tree / "etc/alternatives").mkdir(parents=True, exist_ok=True)
    os.symlink("/etc/mysql/mariadb.cnf", tree / "etc/alternatives/my.cnf")
    os.symlink("/etc/alternatives/my.cnf", tree / "etc/mysql/my.cnf")
    return tree


def in_namespace(tree: Path, command: str) -> subprocess.CompletedProcess:
    """Run ``command`` with the tree's /etc/mysql and /etc/alternatives bind-mounted over
    the real ones, in a private mount namespace (nothing leaks to the host)."""
    script = ("mount --make-rprivate / && "
              f"mount --bind {tree}/etc/mysql /etc/mysql && "
              f"mount --bind {tree}/etc/alternatives /etc/alternatives && cd / && {command}")
    return subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True,
                          text=True, errors="replace", timeout=120)
