"""What a third-party plugin sees: every name it needs comes from ``oomaudit`` itself, resolved
on first use (``import oomaudit`` stays as cheap as it was), and the hooks are called the way
oomaudit/hookspecs.py documents them."""
from __future__ import annotations

import ast
import inspect
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pluggy
import pytest
from conftest import REPO
from engine_stub import assert_no_traceback

import oomaudit
from oomaudit import hookimpl, hookspecs
from oomaudit.config import Settings
from oomaudit.engine import Registry, prepare
from oomaudit.host import LIVE, ROOT, Host
from oomaudit.manager import Plugins

PLUGIN_PKG = REPO / "tests" / "plugin_api" / "fixtures" / "plugin_pkg"
STUB = REPO / "tests" / "stub_plugins" / "oomaudit_stub.py"
SPECS = {name: list(inspect.signature(spec).parameters)
         for name, spec in vars(hookspecs).items() if name.startswith("oomaudit_")}


def test_import_oomaudit_imports_nothing_more():
    """The names are resolved when first asked for: a command that loads no plugin pays for
    no submodule (and not for pluggy)."""
    probe = "import sys; before = set(sys.modules); import oomaudit; " \
            "print(sorted(set(sys.modules) - before))"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd="/", timeout=60)
    assert proc.stdout.strip() == "['oomaudit']", proc.stderr


@pytest.mark.parametrize("name", oomaudit.__all__)
def test_every_public_name_resolves_to_its_home(name):
    value = getattr(oomaudit, name)
    if name == "hookimpl":
        assert isinstance(value, pluggy.HookimplMarker) and value.project_name == "oomaudit"
    elif name != "__version__":
        home = sys.modules[value.__module__]
        assert getattr(home, name) is value and home.__name__.startswith("oomaudit.")
    assert name in dir(oomaudit) or name in vars(oomaudit)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Finding2'"):
        oomaudit.Finding2  # noqa: B018


def _python_blocks(markdown: Path) -> list[tuple[str, str]]:
    blocks = re.findall(r'^```python[^\n]*\n(.*?)^```$', markdown.read_text(encoding="utf-8"),
                        re.MULTILINE | re.DOTALL)
    return [(f"{markdown.name} block {n}", text) for n, text in enumerate(blocks, 1)]


def _examples() -> list[tuple[str, str]]:
    """What a plugin author copies from: the walkthrough, its plugin, the engine's stub."""
    files = [*sorted(PLUGIN_PKG.rglob("*.py")), STUB]
    assert len(files) > 3, PLUGIN_PKG
    return [*_python_blocks(REPO / "docs" / "plugins.md"),
            *((str(p.relative_to(REPO)), p.read_text(encoding="utf-8")) for p in files)]


def test_examples_import_only_the_public_api():
    """docs/plugins.md and the example plugins import from ``oomaudit`` alone, and only names
    it exports: a submodule is internal and moves (issue 13 moved several)."""
    wrong = []
    for where, text in _examples():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module == "oomaudit":
                wrong += [f"{where}: oomaudit.{a.name} is not exported" for a in node.names
                          if a.name not in oomaudit.__all__]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("oomaudit."):
                wrong.append(f"{where}: from {node.module} import ...")
            elif isinstance(node, ast.Import):
                wrong += [f"{where}: import {a.name}" for a in node.names
                          if a.name.startswith("oomaudit.")]
    assert wrong == []


# -- the hooks as the engine calls them ------------------------------------------------------

class Probe:
    """Implements every hook with the parameter names its spec gives (pluggy refuses any
    other name at registration) and records what the engine passes."""

    def __init__(self):
        self.calls: list[tuple[str, tuple]] = []

    @hookimpl
    def oomaudit_rules(self):
        self.calls.append(("oomaudit_rules", ()))
        return []

    @hookimpl
    def oomaudit_readers(self):
        self.calls.append(("oomaudit_readers", ()))
        return []

    @hookimpl
    def oomaudit_reporters(self):
        self.calls.append(("oomaudit_reporters", ()))
        return []

    @hookimpl
    def oomaudit_collect(self, host):
        self.calls.append(("oomaudit_collect", (host,)))

    @hookimpl
    def oomaudit_budget(self, host):
        self.calls.append(("oomaudit_budget", (host,)))


def test_the_engine_calls_each_hook_with_what_its_spec_names(tmp_path):
    probe = Probe()
    assert sorted(SPECS) == sorted(n for n in dir(probe) if n.startswith("oomaudit_"))
    manager = pluggy.PluginManager("oomaudit")
    manager.add_hookspecs(hookspecs)
    manager.register(probe, name="probe")
    plugins = Plugins(manager)
    Registry.build(plugins)
    live, tree = (Host("h", mode, tmp_path, Settings()) for mode in (LIVE, ROOT))
    prepare(live, plugins)
    prepare(tree, plugins)  # a tree is not measured: no collect
    assert plugins.errors == []
    assert [(hook, len(args)) for hook, args in probe.calls] == [
        (hook, len(SPECS[hook])) for hook in (
            "oomaudit_rules", "oomaudit_readers", "oomaudit_reporters",
            "oomaudit_collect", "oomaudit_budget", "oomaudit_budget")]
    assert [args for _, args in probe.calls[3:]] == [(live,), (live,), (tree,)]


REPORTER = '''
from oomaudit import Reporter, hookimpl

def render({params}):
    return f"{{type({report}).__name__}} {{len({report}.findings)}} {{{color}!r}}\\n"

@hookimpl
def oomaudit_reporters():
    return [Reporter("probe", render)]
'''


def test_a_reporter_gets_the_report_and_color_as_the_spec_says(oomaudit, tmp_path):
    """The spec documents ``render(report, color)``: the command line calls a plugin's
    reporter with the run's Report and whether colour is wanted, by position."""
    params = re.search(r"``render\((\w+), (\w+)\)``", inspect.getdoc(hookspecs.oomaudit_reporters))
    assert params, "oomaudit_reporters no longer documents render(report, color)"
    report, color = params.groups()
    site = tmp_path / "site"
    (site / "probe_reporter-1.0.dist-info").mkdir(parents=True)
    (site / "probe_reporter-1.0.dist-info" / "METADATA").write_text("Name: probe-reporter\n")
    (site / "probe_reporter-1.0.dist-info" / "entry_points.txt").write_text(
        "[oomaudit]\nprobe = probe_reporter\n")
    (site / "probe_reporter.py").write_text(textwrap.dedent(REPORTER.format(
        params=f"{report}, {color}", report=report, color=color)))
    (tmp_path / "fstab").write_text("/swapfile none swap sw 0 0\n")
    env = {"PYTHONPATH": str(site)}
    for option, shown in (("always", "True"), ("never", "False")):
        proc = oomaudit("check", "fstab", "--format", "probe", "--color", option, env=env)
        assert_no_traceback(proc)
        assert (proc.returncode, proc.stdout) == (0, f"Report 0 {shown}\n"), proc.stderr
    proc = oomaudit("check", "fstab", "--format", "json", env=env)
    assert json.loads(proc.stdout)["errors"] == []
