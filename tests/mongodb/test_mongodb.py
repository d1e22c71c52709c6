"""mongod.conf read as mongod reads it (nested or dotted keys, the cache's range) and
MONGO001-002 fired and not fired, with the ledger's mongodb entry. No Debian package ships
mongod, so there is no oracle to run: the default (the larger of 50% of (RAM - 1 GB) and
256 MB) and the range 0.25-10000 are MongoDB's documentation's; fixtures/mongod.conf is
the file the mongodb-org packages install (debian/mongod.conf in MongoDB's repository)."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from conftest import assert_no_traceback
from hypothesis import given, settings
from hypothesis import strategies as st

from oomaudit.parsers import mongodconf
from oomaudit.reading import Source

FIXTURES = Path(__file__).parent / "fixtures"
GiB, MiB = 1 << 30, 1 << 20


def parse(text: str) -> mongodconf.Config:
    return mongodconf.parse(Source(Path("mongod.conf"), "mongod.conf", text))


def report(oomaudit, *args) -> dict:
    proc = oomaudit(*map(str, args), "--format", "json")
    assert_no_traceback(proc)
    assert proc.returncode in (0, 1), proc.stderr
    data = json.loads(proc.stdout)
    assert data["errors"] == []
    return data


def rules(data: dict, prefix: str = "MONGO") -> list[tuple[str, int | None]]:
    return [(f["rule"], f["line"]) for f in data["findings"] if f["rule"].startswith(prefix)]


def test_nested_and_dotted_keys():
    nested = parse("storage:\n  wiredTiger:\n    engineConfig:\n      cacheSizeGB: 1.5\n")
    assert (nested.cache_gb, nested.line, nested.failed) == (1.5, 4, False)
    assert parse("storage.wiredTiger.engineConfig.cacheSizeGB: 3\n").cache(0) == 3 * GiB
    assert parse("storage:\n  wiredTiger.engineConfig.cacheSizeGB: '2'\n").cache_gb == 2.0


def test_default_cache_is_half_of_ram_less_1g_at_least_256m():
    config = parse((FIXTURES / "mongod.conf").read_text())
    assert config.cache_gb is None and not config.failed
    assert config.cache(4 * GiB) == int(1.5 * GiB)
    assert config.cache(1 * GiB) == 256 * MiB and config.cache(1536 * MiB) == 256 * MiB


def test_what_mongod_refuses_is_conf001():
    for text in ("storage.wiredTiger.engineConfig.cacheSizeGB: 0.1\n",
                 "storage.wiredTiger.engineConfig.cacheSizeGB: 10001\n",
                 "storage.wiredTiger.engineConfig.cacheSizeGB: yes\n",
                 "storage.wiredTiger.engineConfig.cacheSizeGB: .nan\n",
                 "storage:\n  dbPath: /a\nstorage.dbPath: /b\n", "a: [1\n", "- 1\n",
                 "a: 1\n---\nb: 2\n"):
        config = parse(text)
        assert config.failed and [p.rule for p in config.source.problems] == ["CONF001"], text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("storage.wiredTiger engineConfig cacheSizeGB:"
                                             " -\n0123456789.e'\"[]{}&*!#")), max_size=150)
       | st.text(max_size=80))
def test_any_input_gives_a_config_or_conf001(text):
    config = parse(text)
    assert all(p.rule == "CONF001" for p in config.source.problems)
    assert config.failed == bool(config.source.problems)
    if not config.failed:
        assert 256 * MiB <= config.cache(2 * GiB) <= 10000 * GiB


def test_mongo001_cache_set_for_another_host(oomaudit, tmp_path):
    conf = tmp_path / "mongod.conf"
    conf.write_text("storage:\n  wiredTiger:\n    engineConfig:\n      cacheSizeGB: 24\n")
    data = report(oomaudit, "check", conf, "--ram", "4G")
    assert rules(data) == [("MONGO001", 4)]
    [finding] = [f for f in data["findings"] if f["rule"] == "MONGO001"]
    assert finding["severity"] == "high" and "24.0 GiB is above this host's RAM 4.0 GiB" in \
        finding["message"]
    assert finding["evidence"][0]["source"] == "mongod.conf:4"
    assert "cacheSizeGB: 3.2   # 80% of the 4.0 GiB left" in finding["fix"]
    assert rules(report(oomaudit, "check", conf, "--ram", "32G")) == []


def test_mongo002_default_cache_beside_mysql(oomaudit, tmp_path):
    host = tmp_path / "h"
    host.mkdir()
    shutil.copy(FIXTURES / "mongod.conf", host / "mongod.conf")
    (host / "my.cnf").write_text("[mysqld]\ninnodb_buffer_pool_size = 2G\n")
    data = report(oomaudit, "check", host, "--ram", "4G")
    assert rules(data) == [("MONGO002", None)]
    [finding] = [f for f in data["findings"] if f["rule"] == "MONGO002"]
    assert finding["evidence"][0]["what"].startswith("cacheSizeGB not set: mongod's default")
    assert any(e["what"].startswith("- mysql: ") for e in finding["evidence"])
    assert rules(report(oomaudit, "check", host, "--ram", "8G")) == []
    (host / "mongod.conf").write_text("storage.wiredTiger.engineConfig.cacheSizeGB: 0.5\n")
    assert rules(report(oomaudit, "check", host, "--ram", "4G")) == []


def test_stock_mongod_conf_on_4g_gives_nothing_above_low_and_a_ledger_entry(oomaudit,
                                                                           tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    shutil.copy(FIXTURES / "mongod.conf", root / "etc/mongod.conf")
    data = report(oomaudit, "scan", "--root", root, "--ram", "4G")
    assert not [f for f in data["findings"]
                if f["severity"] not in ("info", "low") or f["rule"].startswith("CONF")]
    [entry] = [c for c in data["hosts"][0]["ledger"] if c["service"] == "mongodb"]
    assert entry["bytes"] == int(1.5 * GiB) and entry["source"].endswith("etc/mongod.conf")
    proc = oomaudit("budget", "--root", root, "--ram", "4G")
    assert re.search(r"^  mongodb +1\.5 GiB +37\.5% +cacheSizeGB not set", proc.stdout,
                     re.M), proc.stdout


def test_refused_file_is_conf001_and_not_in_the_ledger(oomaudit, tmp_path):
    conf = tmp_path / "mongod.conf"
    conf.write_text("storage.wiredTiger.engineConfig.cacheSizeGB: 0\n")
    data = report(oomaudit, "check", conf, "--ram", "4G")
    assert rules(data, "") == [("CONF001", 1)] and data["hosts"][0]["ledger"] == []


def test_a_compose_service_with_a_cache_above_its_limit(oomaudit, tmp_path):
    """CONTAINER003 reads --wiredTigerCacheSizeGB (plugins/containers/needs.py); without it
    mongod sizes its default from the container's limit, so nothing is checked."""
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  db:\n    image: mongo:7\n    command: [\"--wiredTigerCache"
                       "SizeGB\", \"3\"]\n    mem_limit: 2g\n  ok:\n    image: mongo:7\n"
                       "    command: mongod --wiredTigerCacheSizeGB=0.5\n    mem_limit: 2g\n"
                       "  default:\n    image: mongo\n    mem_limit: 512m\n")
    data = report(oomaudit, "check", compose, "--ram", "16G")
    [finding] = [f for f in data["findings"] if f["rule"] == "CONTAINER003"]
    assert finding["line"] == 4 and "MongoDB 3.0 GiB" in finding["message"]
    assert finding["fix"].endswith("--wiredTigerCacheSizeGB 1.00")
