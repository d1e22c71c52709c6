"""A third-party plugin, installed from its own package, next to a NON-editable install of
this repository in a fresh venv (no system site-packages): its rule is listed, its finding
reported, its crash contained, and switching third-party plugins off leaves the built-ins.

The plugin is tests/plugin_api/fixtures/plugin_pkg, the same files docs/plugins.md walks through
(test_docs_show_the_fixture_plugin keeps the two identical).

Slow (marked ``slow``, never skipped): building the venvs takes tens of seconds, one
venv per module for the plugin tests and one for the editable install.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from fnmatch import fnmatch
from pathlib import Path

import pytest
from conftest import REPO
from venvs import BUILD_LITTER, Venv, clean_env, copy_worktree

FIXTURE = REPO / "tests" / "plugin_api" / "fixtures" / "plugin_pkg"
DOC = REPO / "docs" / "plugins.md"

slow = pytest.mark.slow


# -- the walkthrough shows the fixture, file for file ---------------------------------------

_BLOCK = re.compile(r'^```\w* title="([^"]+)"\n(.*?)^```$', re.MULTILINE | re.DOTALL)


def fixture_files() -> dict[str, str]:
    """The plugin package's own files (not caches or build output left by tools)."""
    return {p.relative_to(FIXTURE).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(FIXTURE.rglob("*"))
            if p.is_file() and not any(fnmatch(part, pattern)
                                       for part in p.relative_to(FIXTURE).parts
                                       for pattern in BUILD_LITTER)}


def test_docs_show_the_fixture_plugin():
    """Every fixture file appears in docs/plugins.md, whole: the blocks titled with its path,
    in order, joined by two blank lines (the doc splits plugin.py between its hooks)."""
    shown: dict[str, list[str]] = {}
    for title, body in _BLOCK.findall(DOC.read_text(encoding="utf-8")):
        shown.setdefault(title, []).append(body.rstrip("\n"))
    files = fixture_files()
    assert sorted(shown) == sorted(files)
    for path, text in files.items():
        assert "\n\n\n".join(shown[path]) + "\n" == text, f"docs/plugins.md differs from {path}"


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Venv:
    """oomaudit installed from a copy of this repo (a wheel, NOT editable) plus the plugin."""
    tmp = tmp_path_factory.mktemp("plugin-venv")
    repo = copy_worktree(tmp / "repo")
    plugin = shutil.copytree(FIXTURE, tmp / "plugin_pkg",
                             ignore=shutil.ignore_patterns(*BUILD_LITTER))
    (tmp / "work").mkdir()
    env = Venv(tmp / "venv", tmp / "work")
    env.pip_install(str(repo), f"{plugin}[test]")
    env.plugin_src = plugin
    return env


@pytest.fixture
def tree(tmp_path) -> Path:
    """A tree laid out like /, with a KeyDB that has no memory limit."""
    conf = tmp_path / "root" / "etc" / "keydb" / "keydb.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("bind 127.0.0.1\nmaxmemory 0\n")
    return tmp_path / "root"


def rules_of(proc: subprocess.CompletedProcess) -> dict[str, str]:
    return {r["id"]: r["plugin"] for r in json.loads(proc.stdout)}


BUILTIN = {"CONF001": "conf", "CONF002": "conf", "CONF003": "conf", "HOST002": "host"}


# -- a wheel install of oomaudit ---------------------------------------------------------

@slow
def test_wheel_install_keeps_builtins_inside_the_package(venv):
    site = Path(venv.py("import sysconfig; print(sysconfig.get_paths()['purelib'])"))
    assert (site / "oomaudit" / "plugins" / "conf" / "__init__.py").is_file()
    assert (site / "oomaudit" / "rules" / "conf.toml").is_file()
    assert not (site / "plugins").exists() and not (site / "rules").exists()
    record = venv.py("import importlib.metadata as m; "
                     "print('\\n'.join(str(f) for f in m.files('oomaudit')))").splitlines()
    assert not [f for f in record if f.split("/")[0] in ("plugins", "rules")]
    assert venv.py("import oomaudit; print(oomaudit.__file__)").startswith(str(site))
    assert venv.py("import importlib.util as u; print(u.find_spec('plugins'))") == "None"
    proc = venv.oomaudit("rules", "--no-plugins", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert BUILTIN.items() <= rules_of(proc).items()


@slow
def test_a_wheel_holds_the_rule_texts_built_and_a_finding_reads_no_toml(venv):
    """setup.py writes rules/*.toml into the install as tomllib reads them
    (oomaudit/rules/compiled.py): a run that reports a finding takes its severity from
    there, without importing tomllib (nearly a tenth of a pre-commit run on one file; a third-party
    catalogue, read with tomllib as its plugin loads, is switched off here)."""
    import tomllib

    built = venv.py("import json; from oomaudit.rules.compiled import CATALOGUES; "
                    "print(json.dumps(CATALOGUES))")
    assert json.loads(built) == {path.name: tomllib.loads(path.read_text(encoding="utf-8"))
                                 for path in sorted((REPO / "rules").glob("*.toml"))}
    (venv.work / "fstab").write_text("UUID=1 / ext4 defaults 0 1\n")
    probe = venv.py("import io, sys; from oomaudit.cli import main; sys.stdout = io.StringIO(); "
                    "main(['check', '--exit-zero', '--no-plugins', 'fstab']); "
                    "text = sys.stdout.getvalue(); "
                    "sys.stdout = sys.__stdout__; print('tomllib' in sys.modules, text)")
    assert probe.startswith("False fstab: SWAP001 medium no swap"), probe


# -- the third-party plugin --------------------------------------------------------------

@slow
def test_plugin_rules_are_listed_with_their_plugin(venv):
    proc = venv.oomaudit("rules", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rules = rules_of(proc)
    assert rules["KEYDB001"] == "keydb" and rules["KEYDB900"] == "keydb-broken"
    assert BUILTIN.items() <= rules.items()
    text = venv.oomaudit("rules").stdout
    assert re.search(r"^KEYDB001 +medium +keydb +KeyDB has no memory limit", text, re.M), text
    explain = venv.oomaudit("explain", "keydb001")
    assert explain.returncode == 0 and "plugin 'keydb'" in explain.stdout
    assert "maxmemory-policy" in explain.stdout


@slow
def test_plugin_finding_in_scan_root_and_check(venv, tree):
    proc = venv.oomaudit("scan", "--root", tree, "--ram", "8G", "--ignore", "KEYDB900",
                         "--format", "json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    [finding] = [f for f in report["findings"] if f["rule"] == "KEYDB001"]
    assert finding["path"].endswith("etc/keydb/keydb.conf") and finding["line"] == 2
    assert finding["plugin"] == "keydb" and finding["severity"] == "medium"
    assert finding["fix"].startswith("maxmemory 4096mb")
    assert report["errors"] == []

    conf = tree / "etc" / "keydb" / "keydb.conf"
    proc = venv.oomaudit("check", conf, "--ignore", "KEYDB900")
    assert proc.returncode == 1, proc.stderr
    assert re.search(r"keydb\.conf:2: KEYDB001 medium KeyDB has no memory limit", proc.stdout)

    tsv = venv.oomaudit("check", conf, "--select", "KEYDB001", "--format", "tsv")
    assert tsv.returncode == 1, tsv.stderr
    assert tsv.stdout.splitlines()[1].split("\t")[:2] == ["KEYDB001", "medium"]


@slow
def test_plugin_fills_the_memory_ledger(venv, tree):
    (tree / "etc" / "keydb" / "keydb.conf").write_text("maxmemory 6gb\n")
    budget = venv.oomaudit("budget", "--root", tree, "--ram", "4G", "--format", "json")
    assert budget.returncode == 1, budget.stderr  # 6 GiB on 4 GiB: HOST002 fails
    [host] = json.loads(budget.stdout)["hosts"]
    assert [(c["service"], c["bytes"], c["plugin"]) for c in host["consumers"]] == [
        ("keydb", 6 << 30, "keydb")]
    proc = venv.oomaudit("scan", "--root", tree, "--ram", "4G", "--select", "HOST002,KEYDB001",
                         "--format", "json")
    [finding] = json.loads(proc.stdout)["findings"]
    assert finding["rule"] == "HOST002" and "keydb: 6.0 GiB" in finding["evidence"][1]["what"]


@slow
def test_plugin_collector_runs_on_a_live_scan(venv):
    proc = venv.oomaudit("scan", "--select", "KEYDB001", "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    [host] = json.loads(proc.stdout)["hosts"]
    assert host["mode"] == "live"
    assert host["facts"]["keydb.rss"]["source"].startswith("live: psutil")


@slow
def test_crashing_rule_is_named_and_the_rest_still_runs(venv, tree):
    proc = venv.oomaudit("scan", "--root", tree, "--ram", "8G", "--format", "json")
    assert proc.returncode == 2
    crash = [line for line in proc.stderr.splitlines() if "KEYDB900" in line]
    assert len(crash) == 1 and "plugin 'keydb-broken'" in crash[0], proc.stderr
    assert "RuntimeError: deliberate bug" in crash[0]
    report = json.loads(proc.stdout)
    assert any("KEYDB900" in e and "keydb-broken" in e for e in report["errors"])
    status = {r["rule"]: (r["plugin"], r["status"]) for r in report["rules"]}
    assert status["KEYDB900"] == ("keydb-broken", "error")
    assert status["CONF001"] == ("conf", "passed") and status["HOST002"][0] == "host"
    assert "KEYDB001" in {f["rule"] for f in report["findings"]}
    assert report["summary"]["exit_code"] == 2

    text = venv.oomaudit("scan", "--root", tree, "--ram", "8G")
    assert text.returncode == 2 and "KEYDB001" in text.stdout
    assert "rule KEYDB900 (plugin 'keydb-broken') crashed" in text.stderr


@slow
@pytest.mark.parametrize("how", ["env", "flag"])
def test_third_party_plugins_can_be_switched_off(venv, tree, how):
    env = {"OOMAUDIT_DISABLE_PLUGINS": "1"} if how == "env" else {}
    flag = ["--no-plugins"] if how == "flag" else []
    rules = venv.oomaudit("rules", "--format", "json", *flag, env=env)
    assert rules.returncode == 0, rules.stderr
    ids = rules_of(rules)
    assert not [i for i in ids if i.startswith("KEYDB")]
    assert BUILTIN.items() <= ids.items()
    proc = venv.oomaudit("scan", "--root", tree, "--ram", "8G", "--format", "json", *flag,
                         env=env)
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    assert report["errors"] == []
    assert not [r for r in report["rules"] if r["rule"].startswith("KEYDB")]
    assert {"CONF001", "HOST002"} <= {r["rule"] for r in report["rules"]}


@slow
def test_plugin_that_fails_to_import_is_one_clear_line(venv, tmp_path):
    """A distribution whose entry point imports a dependency that is not installed."""
    site = tmp_path / "site"
    info = site / "oomaudit_numa-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: oomaudit-numa\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[oomaudit]\nnuma = oomaudit_numa\n")
    (site / "oomaudit_numa.py").write_text("import numa_bindings_not_installed\n")
    env = {"PYTHONPATH": str(site)}

    proc = venv.oomaudit("rules", "--format", "json", env=env)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "oomaudit: error: plugin 'numa' (oomaudit_numa) failed to load: ModuleNotFoundError: "
        "No module named 'numa_bindings_not_installed'"]
    assert {"KEYDB001", "CONF001", "HOST002"} <= set(rules_of(proc))

    off = venv.oomaudit("rules", "--no-plugins", env=env)  # not even imported
    assert off.returncode == 0 and off.stderr == ""


@slow
def test_the_plugins_own_tests_pass(venv):
    """The 'Testing it' section of docs/plugins.md, run as a plugin author would."""
    proc = subprocess.run([str(venv.python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                          cwd=venv.plugin_src, env=clean_env(), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "4 passed" in proc.stdout


# -- an editable install -----------------------------------------------------------------

@slow
def test_editable_install_from_a_fresh_copy(tmp_path):
    repo = copy_worktree(tmp_path / "repo")
    (tmp_path / "work").mkdir()
    env = Venv(tmp_path / "venv", tmp_path / "work")
    env.pip_install("-e", str(repo))
    assert env.py("import oomaudit; print(oomaudit.__file__)") == str(
        repo / "oomaudit" / "__init__.py")
    assert env.py("import oomaudit.plugins.conf as m; print(m.__file__)") == str(
        repo / "plugins" / "conf" / "__init__.py")
    assert env.py("import importlib.util as u; print(u.find_spec('plugins'))") == "None"
    proc = env.oomaudit("rules", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert BUILTIN.items() <= rules_of(proc).items()
    assert env.oomaudit("explain", "HOST002").returncode == 0
