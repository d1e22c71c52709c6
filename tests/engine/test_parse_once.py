"""A fleet's repository is audited host by host, each file parsed once: a loader following
includes takes the document parse_files made of a file discovery gave it, and a host's
documents, caches and file texts go once its rules ran (issue 18, item 3)."""
from __future__ import annotations

from pathlib import Path

from oomaudit.plugins.apache import servers as apache_servers
from oomaudit.plugins.mysql import servers as mysql_servers

from oomaudit.config import Settings
from oomaudit.discovery import file_hosts
from oomaudit.engine import Registry, audit, prepare
from oomaudit.host import Fact
from oomaudit.manager import load_plugins


def _hosts(paths: list[Path]):
    registry = Registry.build(load_plugins(disable_third_party=True))
    settings = Settings()
    hosts = file_hosts([str(p) for p in paths], registry.readers, settings,
                       {"ram": Fact(8 << 30, "declared: --ram")}, [])
    return registry, settings, hosts


def _mycnf(folder: Path) -> list[Path]:
    (folder / "conf.d").mkdir()
    main = folder / "my.cnf"
    main.write_text("[mysqld]\ninnodb_buffer_pool_size = 7G\n!includedir conf.d\n")
    extra = folder / "conf.d" / "server.cnf"
    extra.write_text("[mysqld]\nmax_connections = 100\n")
    return [main, extra]


def test_the_mysql_loader_takes_the_documents_parse_files_made(tmp_path):
    paths = _mycnf(tmp_path)
    registry, _, (host,) = _hosts(paths)
    prepare(host, registry.plugins)
    given = host.documents("mysql")
    assert len(given) == 2
    servers = mysql_servers.servers(host)
    assert {s.effective["max_connections"].value.number for s in servers} == {151, 100}
    parsed = list(host.cache["mycnf"]["files"].values())
    assert all(any(p is doc for p in parsed) for doc in given)


def test_the_apache_loader_takes_the_documents_parse_files_made(tmp_path):
    top = tmp_path / "apache2.conf"
    top.write_text("ServerRoot /etc/apache2\nInclude mods.conf\n")
    mods = tmp_path / "mods.conf"
    mods.write_text("<IfModule mpm_prefork_module>\n  MaxRequestWorkers 10\n</IfModule>\n")
    registry, _, (host,) = _hosts([top, mods])
    prepare(host, registry.plugins)
    given = host.documents("apache")
    assert len(given) == 2
    apache_servers.servers(host)
    parsed = list(host.cache["apache.files"].values())
    assert all(any(p is doc for p in parsed) for doc in given)


def test_a_host_keeps_no_documents_or_texts_once_its_rules_ran(tmp_path):
    registry, settings, hosts = _hosts(_mycnf(tmp_path))
    report = audit(registry, hosts, settings, "check", "t")
    (buffer_pool,) = [f for _, f in report.findings if f.rule == "MYSQL001"]
    assert buffer_pool.line == 2 and "7.0 GiB" in buffer_pool.message  # judged first
    (host,) = hosts
    assert host.docs == {} and host.cache == {} and host.sources == {}
    assert {Path(r.path).name for r in report.read} == {"my.cnf", "server.cnf"}  # kept: names
