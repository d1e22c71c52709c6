"""Unit names as systemd 252 sorts them (src/basic/unit-name.c, ``unit_name_is_valid``):
plain, instance or template, or refused; proven against ``systemd-analyze verify``, which
starts no daemon. It loads a template as its instance ``i`` (``a@.service`` ->
``a@i.service``), dumps an instance with its ``Instance:`` line, and refuses a name it
cannot take ("Failed to prepare filename").
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

from conftest import need_program
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oomaudit.plugins.systemd.units import units_of

from oomaudit.host import ROOT, Host
from oomaudit.parsers.systemd_names import INSTANCE, PLAIN, TEMPLATE, name_form, template_of

# Names the old reading got wrong (a@..service a template; a second @ refused) or that sit
# on the edges of systemd's rules (a leading dot or @, an unknown type, a dash before @).
EDGES = ("a@..service", "a@.service", "a@b@c.service", "b@@.service", "@x.service",
         ".a.service", ".service", "p.service", "a-@.b.service", "c@d.e.f.service",
         "q.servic", "r\\x2d.service", "s_t.service", "caf\u00e9.service")
# No "i" among the characters: a template's instance in the dump is always one of ours. No
# ":" either, which systemd accepts in a name, but verify reads as FILE:NAME in an argument.
NAMES = st.builds(lambda stem, kind: f"{stem}.{kind}",
                  st.text("ab-._\\@\u00e9", min_size=0, max_size=12),
                  st.sampled_from(("service", "service", "servic")))


def systemd_sorts(names: list[str]) -> dict[str, tuple[str | None, str | None]]:
    """name -> (plain/instance/template or None, the instance systemd dumps) for a batch of
    unit files, by ``systemd-analyze verify``."""
    analyze = need_program("systemd-analyze", "the unit-name oracle")
    with tempfile.TemporaryDirectory(prefix="oomaudit-names-") as folder:
        paths = []
        for name in names:
            path = Path(folder, name)
            path.write_text("[Service]\nExecStart=/bin/true\n")
            paths.append(str(path))
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "SYSTEMD_LOG_LEVEL": "debug",
               "SYSTEMD_LOG_TARGET": "console", "HOME": "/nonexistent",
               "SYSTEMD_UNIT_PATH": f"{folder}:"}
        proc = subprocess.run([analyze, "verify", "--man=no", *paths], env=env,
                              capture_output=True, text=True, timeout=120)
    dumped: dict[str, str | None] = {}
    current = None
    for line in proc.stdout.splitlines():
        m = re.match(r"^\t-> Unit (.+):$", line)
        if m:
            current = m.group(1)
            dumped[current] = None
        elif current is not None and line.startswith("\t\tInstance: "):
            instance = line.split(": ", 1)[1]  # "n/a" for a plain name: "/" is in none
            dumped[current] = None if instance == "n/a" else instance
    sorted_ = {}
    for name, path in zip(names, paths, strict=True):
        stem, _, kind = name.rpartition(".")
        as_template = f"{stem}i.{kind}"
        if f"Failed to prepare filename {path}" in proc.stderr:
            sorted_[name] = (None, None)
        elif stem.endswith("@") and dumped.get(as_template) == "i":
            sorted_[name] = (TEMPLATE, None)
        elif name in dumped:
            sorted_[name] = (INSTANCE if dumped[name] is not None else PLAIN, dumped[name])
        else:
            raise AssertionError(f"{name!r}: neither refused nor loaded\n{proc.stderr[-3000:]}")
    return sorted_


def ours(name: str) -> tuple[str | None, str | None]:
    form = name_form(name)
    if form != INSTANCE:
        return form, None
    template = template_of(name)
    prefix, kind = template.split("@.")
    assert name.startswith(prefix + "@") and name.endswith("." + kind)
    return form, name[len(prefix) + 1:-len(kind) - 1]  # what the template is filled with


def test_edges_are_sorted_as_systemd_sorts_them():
    theirs = systemd_sorts(list(EDGES))
    assert {n: ours(n) for n in EDGES} == theirs
    assert theirs["a@..service"] == (INSTANCE, ".")
    assert theirs["a@b@c.service"] == (INSTANCE, "b@c")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(NAMES, min_size=1, max_size=40, unique=True))
def test_any_name_is_sorted_as_systemd_sorts_it(names):
    theirs = systemd_sorts(names)
    assert {n: ours(n) for n in names} == theirs


def test_an_instance_named_like_a_template_is_judged_as_running(oomaudit, tmp_path):
    """``a@..service`` is an instance systemd runs: SYSTEMD005 judges it, as it passes over
    the template ``a@.service``, which runs nothing until instantiated."""
    folder = tmp_path / "etc/systemd/system"
    folder.mkdir(parents=True)
    for name in ("mysql@..service", "mysql@.service"):
        (folder / name).write_text("[Service]\nExecStart=/usr/sbin/mysqld\n")
    units = units_of(Host("t", ROOT, tmp_path)).units
    assert not units["mysql@..service"].is_template and units["mysql@.service"].is_template
    proc = oomaudit("scan", "--root", str(tmp_path), "--ram", "8G", "--select", "SYSTEMD005",
                    "--format", "json")
    assert proc.returncode == 1, proc.stderr
    assert [f["fingerprint"] and f["message"].split()[1]
            for f in json.loads(proc.stdout)["findings"]] == ["mysql@..service"]
