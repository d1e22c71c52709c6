"""What a pre-commit run on one file imports: only the engine, the registration modules,
and the plugin whose file it is. Timing lives in bench/bench.py; this pins the cause."""
from __future__ import annotations

import subprocess
import sys

from startup_probe import imported, plugin_code


def test_one_fstab_imports_the_swap_plugin_alone(tmp_path):
    """A clean fstab: not even a rule catalogue is parsed (texts are read for findings)."""
    (tmp_path / "fstab").write_text("UUID=1 / ext4 defaults 0 1\n/swapfile none swap sw 0 0\n")
    modules = imported(tmp_path, "check", "--format", "json", "--exit-zero", "fstab")
    # a plugin's code: its package's modules but the registration and its constants
    code = plugin_code(modules)
    parsers = {m for m in modules if m.startswith("oomaudit.parsers.")}
    assert code == {f"oomaudit.plugins.swap.{m}" for m in ("document", "places", "rules")}
    assert parsers == {"oomaudit.parsers.fstab"}
    heavy = {"importlib.metadata", "importlib.resources", "psutil", "junit_xml", "email",
             "decimal", "tomllib", "oomaudit.logsources", "oomaudit.processes", "yaml",
             "shutil", "bz2", "lzma", "dataclasses"}
    assert modules & heavy == set()


def test_no_module_generates_classes():
    """oomaudit/record.py: no dataclasses anywhere, since @dataclass compiles its methods
    when the class is created, on every run that imports the module."""
    code = ("import importlib, pkgutil, sys, oomaudit\n"
            "names = [m.name for m in pkgutil.walk_packages(oomaudit.__path__, 'oomaudit.')\n"
            "         if not m.name.endswith('__main__')]\n"
            "for name in names: importlib.import_module(name)\n"
            "print(len(names), 'dataclasses' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd="/")
    count, generated = proc.stdout.split()
    assert int(count) > 45 and generated == "False", proc.stderr


def test_a_repository_of_notes_imports_no_parser(tmp_path):
    """Files no reader's name or sniff hint matches cost no parser import."""
    for n in range(20):
        (tmp_path / f"notes{n}.yml").write_text(f"# notes for host {n}\nsome: yaml\n")
    modules = imported(tmp_path, "check", "--format", "json", "--exit-zero", ".")
    assert not {m for m in modules if m.startswith("oomaudit.parsers.")}
    # nor any plugin's code: a package's modules but its registration and constants
    assert not plugin_code(modules)


def test_one_nginx_conf_imports_the_nginx_parser_alone(tmp_path):
    """A format's parser does not drag in another's (nginx once borrowed php-fpm's)."""
    (tmp_path / "nginx.conf").write_text("worker_processes 2;\nevents {}\nhttp {}\n")
    modules = imported(tmp_path, "check", "--format", "json", "--exit-zero", "nginx.conf")
    parsers = {m for m in modules if m.startswith("oomaudit.parsers.")}
    assert parsers == {"oomaudit.parsers.nginx"}


def test_one_my_cnf_imports_the_mysql_plugin_and_no_number_library(tmp_path):
    """decimal once came with the fix text of a fractional size, on every my.cnf run."""
    (tmp_path / "my.cnf").write_text("[mysqld]\ninnodb_buffer_pool_size = 1G\n")
    modules = imported(tmp_path, "check", "--format", "json", "--exit-zero", "my.cnf")
    # a plugin's code: its package's modules but the registration and its constants;
    # HOST002's (host.rules) judges the ledger the server was added to
    code = plugin_code(modules) - {"oomaudit.plugins.host.rules"}
    assert code == {f"oomaudit.plugins.mysql.{m}"
                    for m in ("optionfiles", "flavour", "servers", "budget", "rules")}
    assert modules & {"decimal", "fractions", "yaml", "dataclasses"} == set()


def test_one_redis_conf_imports_the_redis_plugin_alone(tmp_path):
    """The sysctl code REDIS004 reads comes only with a sysctl file, the process snapshot
    only on a live host."""
    (tmp_path / "redis.conf").write_text("maxmemory 1gb\nsave 900 1\n")
    modules = imported(tmp_path, "check", "--format", "json", "--exit-zero", "redis.conf")
    code = plugin_code(modules)
    assert code <= {f"oomaudit.plugins.redis.{m}" for m in ("instances", "budget", "kernel",
                                                              "rules")} | {
        "oomaudit.plugins.host.rules"}
    assert {m for m in modules if m.startswith("oomaudit.parsers.")} == {
        "oomaudit.parsers.redisconf", "oomaudit.parsers.redis_values"}
    assert modules & {"psutil", "oomaudit.processes", "yaml", "dataclasses"} == set()


def test_help_still_wraps_at_the_terminal_width(oomaudit):
    """The width argparse would ask shutil for comes from $COLUMNS (or the terminal)."""
    for columns in (60, 120):
        proc = oomaudit("check", "--help", env={"COLUMNS": str(columns)})
        lines = proc.stdout.splitlines()
        assert proc.returncode == 0 and lines
        assert max(map(len, lines)) <= columns - 2
        assert max(map(len, lines)) > columns - 30  # filled, not wrapped at 80


def test_a_compose_file_and_a_manifest_import_their_own_side_alone(tmp_path):
    """A compose file's check imports no Kubernetes code and a manifest's no compose code;
    neither imports a database's parsers for an image that runs none (needs.py), nor
    PostgreSQL's for a postgres image whose config file is not there to read (pgmounted.py),
    and a whole quantity (256Mi) is read without fractions and decimal (quantity.py)."""
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    image: nginx:1.27\n    mem_limit: 256m\n"
        "  db:\n    image: postgres:16\n    mem_limit: 1g\n"
        "    command: postgres -c config_file=/etc/postgresql/postgresql.conf\n"
        "    volumes:\n      - ./postgresql.conf:/etc/postgresql/postgresql.conf\n")
    (tmp_path / "pod.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"
                                       "spec:\n  containers:\n  - name: web\n    image: nginx\n"
                                       "    resources:\n      limits:\n        memory: 256Mi\n")
    compose = imported(tmp_path, "check", "--format", "json", "--exit-zero", "compose.yaml")
    manifest = imported(tmp_path, "check", "--format", "json", "--exit-zero", "pod.yaml")
    assert "oomaudit.parsers.compose" in compose and "oomaudit.parsers.kube" in manifest
    assert compose & {"oomaudit.parsers.kube", "fractions", "decimal"} == set()
    assert manifest & {"fractions", "decimal"} == set()
    assert manifest & {"oomaudit.parsers.compose", "oomaudit.plugins.containers.projects"} == set()
    for modules in (compose, manifest):
        assert {m for m in modules if m.startswith(("oomaudit.parsers.my", "oomaudit.parsers.pg",
                                                    "oomaudit.parsers.redis",
                                                    "oomaudit.parsers.memcached"))} == set()
        assert "oomaudit.plugins.node.heap" not in modules
    # (a compose file's has the JVM's: Elasticsearch looks for nodes among its services)
    assert "oomaudit.plugins.jvm.heap" not in manifest
