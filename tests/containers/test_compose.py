"""Compose: byte values, interpolation, .env, merging, extends and CONTAINER001/003 end to end."""
from __future__ import annotations

import json

import pytest
from container_helpers import FIXTURES, findings, hits

from oomaudit.parsers import compose
from oomaudit.parsers.compose_interpolation import TemplateError, interpolate, read_dotenv
from oomaudit.parsers.compose_tree import locate, merge

DB = """services:
  db:
    image: mysql:8
    command: --innodb-buffer-pool-size=2G
    mem_limit: 1g
"""


@pytest.mark.parametrize("text, expected", [
    ("1g", 1 << 30), ("1gb", 1 << 30), ("1GiB", 1 << 30), ("512m", 512 << 20),
    ("2048k", 2 << 20), ("1024kb", 1 << 20), ("2b", 2), ("300", 300), ("1.5g", 3 << 29),
    ("2 g", 2 << 30), ("0", 0),
])
def test_compose_byte_values_are_binary(text, expected):
    assert compose.ram_in_bytes(text) == expected


@pytest.mark.parametrize("text", ["", "g", "1x", "1gbb", "1kib2", "-1g", "1,5g", "1 g b"])
def test_invalid_byte_values(text):
    with pytest.raises(ValueError):
        compose.ram_in_bytes(text)


@pytest.mark.parametrize("template, expected, unset", [
    ("${A}", "a", []), ("$A-x", "a-x", []), ("${U:-d}", "d", ["U"]), ("${E:-d}", "d", []),
    ("${E-d}", "", []), ("${U-d}", "d", ["U"]), ("${A:+alt}", "alt", []), ("${U+alt}", "", ["U"]),
    ("$$A", "$A", []), ("${U:-${A}}", "a", ["U"]), ("${U}", "", ["U"]),
    ("^latest$", "^latest$", []), ("mysql:8 {x} }", "mysql:8 {x} }", []), ("", "", []),
    ("${U:-${V:-deep}}", "deep", ["U", "V"]),
])
def test_interpolation(template, expected, unset):
    done = interpolate(template, {"A": "a", "E": ""})
    assert done.text == expected
    assert sorted(set(done.unset)) == unset


def test_required_variable_is_remembered():
    done = interpolate("${NEED:?set it}", {})
    assert "NEED" in done.missing and "set it" in done.missing


def test_invalid_braced_template():
    with pytest.raises(TemplateError):
        interpolate("${1}", {})


def test_dotenv_forms():
    env = read_dotenv("# c\nA=1\nexport B='x $A'\nC=\"q ${A}\\n\"\nD=v # note\nbad line\n")
    assert env == {"A": "1", "B": "x $A", "C": "q 1\n", "D": "v"}


def test_done_when_buffer_pool_above_mem_limit(oomaudit, tmp_path):
    (tmp_path / "docker-compose.yml").write_text(DB)
    found = findings(oomaudit, "docker-compose.yml", cwd=tmp_path)
    assert hits(found) == {("CONTAINER003", "docker-compose.yml", 4)}
    finding = found[0]
    sources = [e["source"] for e in finding["evidence"]]
    assert "docker-compose.yml:4" in sources and "docker-compose.yml:5" in sources
    assert "2.0 GiB" in finding["message"] and "1.0 GiB" in finding["message"]
    assert "mem_limit: 2944m" in finding["fix"] and "--innodb-buffer-pool-size=716M" in \
        finding["fix"]


def test_done_when_no_mem_limit(oomaudit, tmp_path):
    (tmp_path / "docker-compose.yml").write_text(DB.replace("    mem_limit: 1g\n", ""))
    found = findings(oomaudit, "docker-compose.yml", cwd=tmp_path)
    assert hits(found) == {("CONTAINER001", "docker-compose.yml", 2)}
    assert any("2.0 GiB" in e["what"] for e in found[0]["evidence"])  # the service's own need


@pytest.mark.parametrize("limit", ["mem_limit: 0", "mem_limit: '0'", "mem_limit: 0g"])
def test_limit_of_zero_is_none(oomaudit, tmp_path, limit):
    (tmp_path / "compose.yaml").write_text(f"services:\n  web:\n    image: nginx\n    {limit}\n")
    assert hits(findings(oomaudit, "compose.yaml", cwd=tmp_path)) == \
        {("CONTAINER001", "compose.yaml", 2)}


def test_deploy_limit_wins_and_reservation_above_limit(oomaudit, tmp_path):
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    image: nginx\n    mem_limit: 4g\n    deploy:\n"
        "      resources:\n        limits: {memory: 256m}\n        reservations: {memory: 1g}\n")
    found = findings(oomaudit, "compose.yaml", cwd=tmp_path)
    assert hits(found) == {("CONTAINER003", "compose.yaml", 8)}
    assert "256.0 MiB" in found[0]["message"]


def test_invalid_size_is_conf001(oomaudit, tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: x\n    mem_limit: lots\n")
    found = findings(oomaudit, "compose.yaml", cwd=tmp_path)
    assert hits(found, "C") == {("CONF001", "compose.yaml", 4)}


@pytest.mark.parametrize("volumes, line", [(" ./my.cnf:/etc/mysql/conf.d/my.cnf", 4),
                                           ("\n      data: /var/lib/mysql", 2)])
def test_volumes_that_are_no_list_are_conf001_not_a_crash(oomaudit, tmp_path, volumes, line):
    """docker compose refuses a scalar or a mapping under volumes; one finding, no plugin
    error, and the service's other rules still run."""
    (tmp_path / "compose.yaml").write_text(
        f"services:\n  db:\n    image: mysql:8\n    volumes:{volumes}\n")
    found = findings(oomaudit, "compose.yaml", cwd=tmp_path)
    assert hits(found, "CONF") == {("CONF001", "compose.yaml", line)}
    assert "volumes must be a list" in next(f["message"] for f in found if f["rule"] == "CONF001")
    assert ("CONTAINER001", "compose.yaml", 2) in hits(found)


def test_a_mounted_file_that_is_a_symlink_loop_is_no_plugin_error(oomaudit, tmp_path):
    (tmp_path / "x.cnf").symlink_to(tmp_path / "y.cnf")
    (tmp_path / "y.cnf").symlink_to(tmp_path / "x.cnf")
    (tmp_path / "compose.yaml").write_text("services:\n  db:\n    image: mysql:8\n    "
                                           'volumes: ["./x.cnf:/etc/mysql/conf.d/x.cnf"]\n')
    found = findings(oomaudit, ".", cwd=tmp_path)  # asserts no error and no traceback
    assert hits(found) == {("CONTAINER001", "compose.yaml", 2)}


def test_project_fixture_merges_override_env_extends_and_mounts(oomaudit):
    project = FIXTURES / "compose" / "project"
    found = findings(oomaudit, ".", cwd=project)
    assert hits(found) == {
        ("CONTAINER003", "tuning.cnf", 2),  # 1536M pool (mounted file) > 1g (override)
        ("CONTAINER003", "docker-compose.yml", 18),  # -Xmx2g from .env > 1536m (extends)
        ("CONTAINER001", "docker-compose.yml", 19),  # ${CACHE_MEM} unset: no limit
    }  # worker: suppressed by its comment; common.yml: only extended, no project of its own
    cache = next(f for f in found if f["rule"] == "CONTAINER001")
    assert any("CACHE_MEM" in e["what"] and ".env" in e["what"] for e in cache["evidence"])
    db = next(f for f in found if "tuning.cnf" in f["path"])
    assert any(e["source"] == "docker-compose.override.yml:3" for e in db["evidence"])
    assert "innodb_buffer_pool_size = 716M" in db["fix"]


def test_ledger_counts_replicas(oomaudit):
    proc = oomaudit("check", "--ram", "64G", "--format", "json", ".",
                    cwd=FIXTURES / "compose" / "project")
    ledger = {c["service"]: c for c in json.loads(proc.stdout)["hosts"][0]["ledger"]}
    assert ledger["compose:api"]["bytes"] == 2 * 1536 << 20
    assert "2 replicas" in ledger["compose:api"]["how"]
    assert ledger["compose:db"]["bytes"] == 1 << 30
    assert "compose:jvm" not in ledger


def test_extends_missing_and_looping(oomaudit, tmp_path):
    (tmp_path / "compose.yaml").write_text(
        "services:\n  a:\n    extends: b\n  b:\n    extends: a\n"
        "  c:\n    extends: {file: nowhere.yml, service: x}\n")
    found = findings(oomaudit, "compose.yaml", cwd=tmp_path)
    rules = {(f["rule"], f["line"]) for f in found if f["rule"].startswith("CONF")}
    assert ("CONF002", 7) in rules and any(r == "CONF002" and line in (3, 5)
                                           for r, line in rules)


def test_reset_and_override_tags(tmp_path):
    base = locate(_yaml("environment: {A: '1'}\ncommand: [a]\nports: ['1:1']\n"),
                  "f", 1, {})
    over = locate(_yaml("environment: {A: !reset null}\nports: !override ['2:2']\n"
                        "command: [b]\n"), "g", 1, {})
    merged = merge(base, over)
    assert "A" not in merged["environment"]
    assert [leaf.value for leaf in merged["ports"]] == ["2:2"]
    assert [leaf.value for leaf in merged["command"]] == ["b"]


def test_volumes_merge_by_target():
    base = locate(_yaml("volumes: ['a:/data', 'b:/logs']\n"), "f", 1, {})
    over = locate(_yaml("volumes: ['c:/data']\n"), "g", 1, {})
    merged = merge(base, over)
    assert [leaf.value for leaf in merged["volumes"]] == ["c:/data", "b:/logs"]


def _yaml(text):
    from oomaudit.parsers.yamltree import load_all
    return next(load_all(text)).root


def test_not_compose_yaml_is_not_claimed(oomaudit, tmp_path):
    (tmp_path / ".pre-commit-config.yaml").write_text("repos:\n  - repo: local\n")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text(
        "on: push\njobs:\n  t:\n    services:\n      db: {image: mysql}\n")
    (tmp_path / "site.yml").write_text("- hosts: all\n  tasks: []\n")
    proc = oomaudit("check", "--ram", "8G", ".", cwd=tmp_path)
    assert "CONTAINER" not in proc.stdout and "CONF" not in proc.stdout


def test_realworld_compose_and_ansible_template(oomaudit):
    from conftest import need_shared
    for folder in ("compose", "ansible"):
        findings(oomaudit, need_shared("realworld", folder))


def test_mounted_option_file_is_counted_once(oomaudit, tmp_path):
    """A my.cnf bind-mounted into a compose service belongs to that container: the ledger
    holds the container at its limit, not a second, host-level MySQL server."""
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  db:\n    image: mysql:8\n    mem_limit: 4g\n"
        "    volumes:\n      - ./my.cnf:/etc/mysql/conf.d/my.cnf:ro\n")
    (tmp_path / "my.cnf").write_text("[mysqld]\ninnodb_buffer_pool_size = 2G\n")
    rows = json.loads(oomaudit("budget", tmp_path, "--ram", "8G", "--format", "json").stdout)
    assert [c["service"] for c in rows["hosts"][0]["consumers"]] == ["compose:db"]
    (tmp_path / "docker-compose.yml").write_text("services:\n  db:\n    image: mysql:8\n")
    rows = json.loads(oomaudit("budget", tmp_path, "--ram", "8G", "--format", "json").stdout)
    assert "mysql" in [c["service"] for c in rows["hosts"][0]["consumers"]]


def test_registration_knows_the_compose_default_names():
    """The plugin's constants write the default names out so that registering imports no
    parser; its system paths must be the parser's BASE_NAMES in each folder compose
    projects live."""
    from oomaudit.plugins.containers import constants

    assert constants.BASE_NAMES == compose.BASE_NAMES
    names = {path.rsplit("/", 1)[1] for path in constants.COMPOSE_READER.system_paths}
    assert names == set(compose.BASE_NAMES)
