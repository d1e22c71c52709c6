"""--max-old-space-size as V8 reads it, proven against node itself (the heap limit
v8.getHeapStatistics() reports, for generated NODE_OPTIONS and command lines), the units
that start node, NODE001 fired and not fired and the ledger's node entry."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import assert_no_traceback, need_program
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oomaudit.plugins.node.heap import Word, node_options, old_space

MiB, GiB = 1 << 20, 1 << 30
LIMIT = "console.log(require('v8').getHeapStatistics().heap_size_limit)"


def heap_limit(node: str, options: str, argv: list[str]) -> int | str | None:
    """node's heap limit with NODE_OPTIONS=options and argv before -e; None: node refuses
    the flag, "out of memory": the heap is too small for node to start."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODE_")}
    proc = subprocess.run([node, *argv, "-e", LIMIT], capture_output=True, text=True,
                          env={**env, "NODE_OPTIONS": options}, timeout=60)
    if proc.returncode == 0:
        return int(proc.stdout)
    return "out of memory" if re.search(r"Fatal javascript OOM|heap out of memory", proc.stderr) \
        else None


def ours(options: str, argv: list[str]) -> int | None | str:
    words = [Word(w, "env") for w in options.split()] + [Word(w, "argv") for w in argv]
    space, error = old_space(words)
    return None if error else (space.limit if space else "default")


_VALUE = st.one_of(st.integers(min_value=0, max_value=1 << 16).map(str),
                   st.from_regex(r"\A[ +-]?[0-9]{1,5}[a-zA-Z.]?\Z"),
                   st.sampled_from(["0", "1e3", "", "99999999999999999999", "0x20", "+30"]))
_FLAG = st.tuples(st.sampled_from(["--max-old-space-size={}", "--max_old_space_size={}",
                                   "--max-old_space-size={}"]), _VALUE).map(
    lambda fv: fv[0].format(fv[1]))


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(options=st.lists(_FLAG, max_size=2), argv=st.lists(_FLAG, max_size=2))
def test_heap_limit_agrees_with_node(options, argv):
    node = need_program("node", "the oracle of --max-old-space-size")
    options = [o for o in options if " " not in o]  # NODE_OPTIONS splits at blanks
    expected = ours(" ".join(options), argv)
    got = heap_limit(node, " ".join(options), argv)
    if expected == "default":
        assert isinstance(got, int)  # V8's own default, which oomaudit does not compute
    elif got == "out of memory":  # a heap of a few MiB: node cannot even start
        assert isinstance(expected, int) and expected < 64 * MiB, (options, argv)
    else:
        assert got == expected, (options, argv)


def test_the_separate_value_form_stops_node():
    assert old_space([Word("--max-old-space-size", "x"), Word("512", "x")])[1]
    assert old_space([Word("--max-old-space-size=512", "x")])[0].limit == 512 * MiB + 48 * MiB


def test_node_options_before_the_script():
    assert node_options(["/usr/bin/node", "--max-old-space-size=1", "-r", "x", "--inspect",
                         "app.js", "--max-old-space-size=2"]) == [
        "--max-old-space-size=1", "-r", "--inspect"]
    assert node_options(["/usr/bin/env", "NODE_ENV=production", "nodejs", "-e", "1",
                         "--max-old-space-size=2"]) == ["-e"]
    assert node_options(["/usr/bin/python3", "node"]) is None


def scan(oomaudit, root: Path, ram: str) -> dict:
    proc = oomaudit("scan", "--root", root, "--ram", ram, "--format", "json")
    assert_no_traceback(proc)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def unit(root: Path, service: str, env_file: str = "") -> Path:
    path = root / "etc/systemd/system/api.service"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[Unit]\nDescription=api\n[Service]\n" + service +
                    "\n[Install]\nWantedBy=multi-user.target\n")
    if env_file:
        (root / "etc/default").mkdir(parents=True, exist_ok=True)
        (root / "etc/default/api").write_text(env_file)
    return root


def test_node001_and_the_ledger(oomaudit, tmp_path):
    root = unit(tmp_path / "r", "EnvironmentFile=-/etc/default/api\n"
                                "ExecStart=/usr/bin/node /srv/api/server.js",
                env_file="# api\nNODE_OPTIONS=\"--max-old-space-size=8192 --trace-gc\"\n")
    data = scan(oomaudit, root, "4G")
    [finding] = [f for f in data["findings"] if f["rule"] == "NODE001"]
    assert finding["severity"] == "high" and finding["line"] == 2
    assert finding["path"].endswith("etc/default/api")
    assert "api.service: Node's heap limit 8.0 GiB" in finding["message"]
    fit = (int(4 * GiB * 0.8) - 48 * MiB) // MiB
    assert finding["fix"].splitlines()[1] == f"--max-old-space-size={fit}"
    [entry] = [c for c in data["hosts"][0]["ledger"] if c["service"] == "node"]
    assert entry["bytes"] == 8192 * MiB + 48 * MiB and entry["source"].endswith(
        "etc/default/api:2")
    assert not [f for f in scan(oomaudit, root, "16G")["findings"] if f["rule"] == "NODE001"]
    # the command line wins over NODE_OPTIONS
    unit(root, "EnvironmentFile=-/etc/default/api\n"
               "ExecStart=/usr/bin/node --max-old-space-size=1024 /srv/api/server.js")
    data = scan(oomaudit, root, "4G")
    assert not [f for f in data["findings"] if f["rule"] == "NODE001"]
    [entry] = [c for c in data["hosts"][0]["ledger"] if c["service"] == "node"]
    assert entry["bytes"] == 1024 * MiB + 48 * MiB
    proc = oomaudit("budget", "--root", root, "--ram", "4G")
    assert re.search(r"^  node +1\.0 GiB .*api\.service: --max-old-space-size=1024: V8 old "
                     r"space 1024 MiB \+ young generation 48 MiB", proc.stdout, re.M), proc.stdout


def test_a_unit_without_the_flag_or_node_is_not_counted(oomaudit, tmp_path):
    root = unit(tmp_path / "r", "ExecStart=/usr/bin/node server.js")
    data = scan(oomaudit, root, "4G")
    assert not [c for c in data["hosts"][0]["ledger"] if c["service"] == "node"]
    assert not [f for f in data["findings"] if f["rule"] == "NODE001"]


@pytest.mark.parametrize("value", ["512MB", "1e3", "-5"])
def test_a_flag_node_refuses_counts_nothing(oomaudit, tmp_path, value):
    root = unit(tmp_path / "r", f"ExecStart=/usr/bin/node --max-old-space-size={value} a.js")
    assert not [c for c in scan(oomaudit, root, "4G")["hosts"][0]["ledger"]
                if c["service"] == "node"]


def test_compose_services_and_pods_against_their_limit(oomaudit, tmp_path):
    """CONTAINER003 reads --max-old-space-size from NODE_OPTIONS (any image) and a command
    line that runs node (plugins/containers/needs.py), with this plugin's reading."""
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n  api:\n    image: node:20\n    command: node --max-old-space-size=4096 "
        "server.js\n    mem_limit: 2g\n  web:\n    image: myapp\n    environment:\n"
        "      NODE_OPTIONS: --max-old-space-size=1024\n    mem_limit: 1g\n  ok:\n"
        "    image: node:20\n    environment:\n      - NODE_OPTIONS=--max-old-space-size=512\n"
        "    command: node --max-old-space-size=1g server.js\n    mem_limit: 1g\n")
    proc = oomaudit("check", compose, "--ram", "16G", "--format", "json")
    assert_no_traceback(proc)
    found = [(f["line"], f["fix"].splitlines()[-1]) for f in json.loads(proc.stdout)["findings"]
             if f["rule"] == "CONTAINER003"]
    assert found == [(4, "or fit the service to the limit: --max-old-space-size=1488"),
                     (9, "or fit the service to the limit: --max-old-space-size=720")]
    pod = tmp_path / "pod.yaml"
    pod.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: api\nspec:\n  containers:\n"
                   "  - name: api\n    image: node:20\n    env:\n    - name: NODE_OPTIONS\n"
                   "      value: --max-old-space-size=3072\n    resources:\n      limits:\n"
                   "        memory: 2Gi\n")
    proc = oomaudit("check", pod, "--format", "json")
    assert [f["line"] for f in json.loads(proc.stdout)["findings"]
            if f["rule"] == "CONTAINER003"] == [11]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=30) | _FLAG | st.sampled_from(["node", "-e", "-r", "--"]),
                max_size=8))
def test_any_words_give_an_answer_never_a_traceback(words):
    space, error = old_space([Word(w, "x") for w in words])
    assert space is None or (space.mib > 0 and not error)
    options = node_options(words)
    assert options is None or all(o in words for o in options)
