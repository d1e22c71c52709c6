"""``oomaudit new-plugin NAME``: the package it writes, what it refuses, and (slow) that the
package, the very files docs/architecture.md shows, installs into a fresh venv beside
oomaudit, shows in ``oomaudit rules``, fires on a file it reads in ``check`` and ``scan
--root``, and passes its own tests.

Slow tests (marked ``slow``, never skipped) build one venv for the module.
"""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import assert_no_traceback, need_program
from hypothesis import given, settings
from hypothesis import strategies as st
from test_architecture_doc import page_skeleton
from venvs import Venv, clean_env, copy_worktree

import oomaudit
from oomaudit.cli import main
from oomaudit.commands.newplugin import render, write
from oomaudit.errors import UsageError

NAME = re.compile(r"[a-z](?:[a-z0-9_]*[a-z0-9])?")
PACKAGE = ("oomaudit_myapp/__init__.py", "oomaudit_myapp/constants.py", "oomaudit_myapp/reader.py",
           "oomaudit_myapp/rules.py", "oomaudit_myapp/rules.toml", "pyproject.toml",
           "tests/test_oomaudit_myapp.py")


def written(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_writes_a_plugin_package(oomaudit, tmp_path):
    proc = oomaudit("new-plugin", "myapp")
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "oomaudit-myapp"
    files = written(folder)
    assert tuple(files) == PACKAGE
    assert files == render("myapp")
    assert proc.stdout.splitlines() == [
        "wrote plugin 'myapp' (rule MYAPP001) to oomaudit-myapp:",
        *(f"  oomaudit-myapp/{name}" for name in PACKAGE),
        "next: pip install -e 'oomaudit-myapp[test]' && pytest oomaudit-myapp && oomaudit rules"]
    assert proc.stderr == ""
    pyproject = files["pyproject.toml"]
    assert '[project.entry-points.oomaudit]\nmyapp = "oomaudit_myapp"\n' in pyproject
    assert 'oomaudit_myapp = ["rules.toml"]' in pyproject
    assert files["oomaudit_myapp/rules.toml"].count("[MYAPP001]") == 1
    assert "def check_myapp001(host):" in files["oomaudit_myapp/rules.py"]


def test_the_package_uses_only_the_public_api_and_imports_one_way():
    """Every oomaudit name comes from ``oomaudit`` itself and is one it exports; the
    registration imports only oomaudit and its own constants, the constants only oomaudit,
    and no code module imports the registration."""
    imported: dict[str, set[str]] = {}
    for path, text in render("myapp").items():
        if not path.endswith(".py"):
            continue
        imported[path] = set()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                imported[path] |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                module = "." * node.level + (node.module or "")
                imported[path].add(module)
                if module == "oomaudit":
                    assert {a.name for a in node.names} <= set(oomaudit.__all__), path
    assert imported == {
        "oomaudit_myapp/__init__.py": {"oomaudit", ".constants"},
        "oomaudit_myapp/constants.py": {"oomaudit"},
        "oomaudit_myapp/reader.py": {"__future__", "typing", "oomaudit"},
        "oomaudit_myapp/rules.py": {"oomaudit", ".constants"},
        "tests/test_oomaudit_myapp.py": {"json", "pytest", "oomaudit"},
    }


def test_the_package_is_ruff_clean(tmp_path):
    """With this project's own lint selection, isort included."""
    ruff = need_program("ruff", "lints the scaffolded package")
    write(tmp_path / "plugin", render("my_app2"))
    proc = subprocess.run([ruff, "check", "--no-cache", "--isolated", "--line-length", "100",
                           "--select", "E,F,W,I,B,UP", "--target-version", "py310", "."],
                          cwd=tmp_path / "plugin", capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dir_names_the_folder(oomaudit, tmp_path):
    proc = oomaudit("new-plugin", "my_app", "--dir", "plugins/new one")
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "plugins" / "new one"
    assert written(folder) == render("my_app")
    assert "(rule MY_APP001)" in proc.stdout
    assert "pip install -e 'plugins/new one[test]' && pytest 'plugins/new one'" in proc.stdout
    assert 'name = "oomaudit-my-app"' in written(folder)["pyproject.toml"]


@pytest.mark.parametrize("kind", ["folder", "file", "dangling link"])
def test_an_existing_dir_is_refused_and_left_alone(oomaudit, tmp_path, kind):
    target = tmp_path / "taken"
    if kind == "folder":
        target.mkdir()
        (target / "mine.txt").write_text("keep")
    elif kind == "file":
        target.write_text("keep")
    else:
        target.symlink_to(tmp_path / "nowhere")
    proc = oomaudit("new-plugin", "myapp", "--dir", "taken")
    assert proc.returncode == 2
    assert proc.stderr == ("oomaudit: error: new-plugin: taken already exists; name a new "
                           "folder with --dir\n")
    assert proc.stdout == ""
    if kind == "folder":
        assert written(target) == {"mine.txt": "keep"}
    elif kind == "file":
        assert target.read_text() == "keep"
    else:
        assert target.is_symlink() and not (tmp_path / "nowhere").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


@pytest.mark.parametrize("name, why", [
    ("mysql", "an installed plugin already has this name"),
    ("fstab", "an installed plugin already has a reader (file format) of this name"),
    ("container", "an installed plugin already has the rule id CONTAINER001"),
])
def test_a_name_an_installed_plugin_has_is_refused(oomaudit, tmp_path, name, why):
    proc = oomaudit("new-plugin", name)
    assert proc.returncode == 2
    assert proc.stderr == f"oomaudit: error: new-plugin {name}: {why}; choose another NAME\n"
    assert list(tmp_path.iterdir()) == []


def test_a_name_that_is_no_identifier_is_one_line(oomaudit, tmp_path):
    proc = oomaudit("new-plugin", "my-app\x1b[31m")
    assert proc.returncode == 2
    assert proc.stderr == ("oomaudit: error: new-plugin: NAME 'my-app\\x1b[31m' is not a "
                           "lowercase Python identifier (a-z, then a-z, 0-9 or _, not ending "
                           "in _), e.g. myapp\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["MyApp", "my-app", "my_", "_app", "1app", "my app", "é",
                                  "mÿapp", ""])
def test_names_no_package_or_distribution_could_have_are_refused(tmp_path, capsys, name):
    """'my_' would make the distribution oomaudit-my-, which pip refuses."""
    assert main(["new-plugin", "--dir", str(tmp_path / "plugin"), "--", name]) == 2
    assert "is not a lowercase Python identifier" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=20).filter(lambda n: not NAME.fullmatch(n) and "\0" not in n))
def test_any_other_name_is_refused_without_writing(name):
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "plugin")
        code = main(["new-plugin", "--dir", folder, "--", name])
        assert code == 2
        assert os.listdir(tmp) == []


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    with pytest.raises(UsageError, match=r"^new-plugin: cannot write .*/plugin/a\.txt: File"):
        write(tmp_path / "plugin", {"a.txt": "x", "a.txt/b": "y"})
    assert list(tmp_path.iterdir()) == []


def test_an_uncreatable_dir_is_one_line(oomaudit, tmp_path):
    (tmp_path / "file").write_text("")
    proc = oomaudit("new-plugin", "myapp", "--dir", "file/plugin")
    assert proc.returncode == 2
    assert proc.stderr == ("oomaudit: error: new-plugin: cannot create file/plugin: Not a "
                           "directory\n")
    assert_no_traceback(proc)


# -- installed: the scaffold works as written ------------------------------------------------

slow = pytest.mark.slow


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Venv:
    """oomaudit installed from a copy of this repo (a wheel, not editable); the scaffold
    written by that install's own console script, then installed (a wheel too: a catalogue
    left out of package data shows only there)."""
    tmp = tmp_path_factory.mktemp("scaffold-venv")
    repo = copy_worktree(tmp / "repo")
    (tmp / "work").mkdir()
    env = Venv(tmp / "venv", tmp / "work")
    env.pip_install(str(repo))
    proc = env.oomaudit("new-plugin", "myapp", "--dir", tmp / "oomaudit-myapp")
    assert proc.returncode == 0, proc.stderr
    env.plugin_src = tmp / "oomaudit-myapp"
    # the installed oomaudit's templates, as docs/architecture.md shows them
    assert written(env.plugin_src) == render("myapp") == page_skeleton()
    env.pip_install(f"{env.plugin_src}[test]")
    return env


@slow
def test_scaffold_installs_and_shows_in_rules(venv):
    proc = venv.oomaudit("rules", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    [rule] = [r for r in json.loads(proc.stdout) if r["id"] == "MYAPP001"]
    assert (rule["plugin"], rule["severity"]) == ("myapp", "medium")
    assert rule["title"] == "myapp has no memory limit"
    explain = venv.oomaudit("explain", "MYAPP001")
    assert explain.returncode == 0 and "plugin 'myapp'" in explain.stdout


@slow
def test_scaffold_rule_fires_on_a_file_it_reads(venv, tmp_path):
    conf = tmp_path / "root" / "etc" / "myapp.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("port = 1234\nmemory_limit = 0\n")
    proc = venv.oomaudit("check", conf, "--format", "json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert [(f["rule"], f["line"], f["plugin"], f["severity"]) for f in report["findings"]] == [
        ("MYAPP001", 2, "myapp", "medium")]
    assert report["errors"] == []

    scan = venv.oomaudit("scan", "--root", tmp_path / "root", "--select", "MYAPP",
                         "--format", "json")
    assert scan.returncode == 1, scan.stderr
    [finding] = json.loads(scan.stdout)["findings"]
    assert finding["path"].endswith("etc/myapp.conf") and finding["line"] == 2

    conf.write_text("memory_limit = 512M\n")
    assert venv.oomaudit("check", conf, "--select", "MYAPP").returncode == 0


@slow
def test_scaffold_own_tests_pass(venv):
    proc = subprocess.run([str(venv.python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                          cwd=venv.plugin_src, env=clean_env(), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 passed" in proc.stdout
