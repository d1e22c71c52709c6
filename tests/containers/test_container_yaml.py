"""Any YAML in, never a traceback or runaway memory: a CONF001 at the right line, or a pass."""
from __future__ import annotations

import resource
import time

import pytest
from container_helpers import findings, hits
from hypothesis import example, given, settings
from hypothesis import strategies as st

from oomaudit.parsers.yamltree import MAX_EXPANDED, YamlError, load_all

BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n"
    for i in range(8))  # 9^9 = 387 million strings once expanded


def _error(text: str) -> YamlError:
    with pytest.raises(YamlError) as info:
        list(load_all(text))
    return info.value


def test_billion_laughs_is_refused_quickly_and_small():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.process_time()
    error = _error(BOMB)
    assert str(MAX_EXPANDED) in error.message and error.line is not None
    assert time.process_time() - started < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB


@pytest.mark.parametrize("text, line, words", [
    ("a: &a [*a]\n", 1, "recursive"),
    ("a: *nothing\n", 1, "not defined"),
    ("a: 1\nb:\n\t- x\n", 3, "token"),
    ("a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a' (first at line 1)"),
    ("a: [\n", 2, "expected"),
    ("a: \x01\n", 1, "control characters"),
    ("? [a]\n: b\n", 1, "as a key"),
    ("[" * 1000, 1, "nesting deeper"),
])
def test_yaml_problems_have_lines(text, line, words):
    error = _error(text)
    assert error.line == line and words in error.message


@pytest.mark.parametrize("text", ["\x00", "a: \x01\n", "a: [\n", "a: 1\nb: 2\na: 3\n",
                                  "x: &x {m: 1}\ny:\n  <<: *x\n  n: [2, !reset 3]\n"])
def test_without_libyaml_the_same_tree_or_error(text, monkeypatch):
    """PyYAML's pure-Python parser (no libyaml) reads as the C one, refusing as it does."""
    import yaml

    def read() -> object:
        try:
            return [(d.line, d.root, d.root.lines) for d in load_all(text)]
        except YamlError as exc:
            return exc.line

    with_c = read()
    monkeypatch.delattr(yaml, "CSafeLoader")
    assert read() == with_c


def test_aliases_share_and_merge_keys_apply():
    doc = next(load_all("x: &x {m: 1, n: 2}\ny:\n  <<: *x\n  n: 3\nz: *x\n")).root
    assert doc["y"] == {"m": 1, "n": 3} and doc["z"] is doc["x"]
    assert doc.lines["z"] == 5 and doc["y"].lines["m"] == 1


def test_application_tags_stay_beside_their_values_and_through_merges():
    doc = next(load_all("a: &a {x: !reset y, n: 1}\nb: {<<: *a}\nc: [1, !override 2]\n")).root
    assert doc["a"].tags == {"x": "!reset"} and doc["b"].tags == {"x": "!reset"}
    assert doc["c"].tags == {1: "!override"} and doc["c"] == [1, "2"]
    assert not doc.tags and doc["b"] == {"x": "y", "n": 1}


# Plain scalars are typed as PyYAML's safe loader types them: the builder asks the resolver
# only about a text whose first character one of its patterns starts with, once a file.
_PLAIN = ["1", "-1", "+1", "0x1F", "0o17", "017", "1_000", "1e3", "1.5", ".5", "6.8523015e+5",
          ".inf", "-.Inf", "yes", "No", "ON", "off", "y", "n", "true", "False", "null", "Null",
          "~", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "1:20", "<<x", "name",
          "nginx:1.25", "512Mi", "tcp", "Yesterday", "none", "0", ".", "'q'", '"1"', "!!str 1",
          "!!float 2"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_PLAIN), min_size=1, max_size=8), st.booleans())
@example(['"1"', "1", "!!str 1", "1", "yes", "'yes'"], True)  # the same text, typed or not
def test_scalars_are_typed_as_pyyaml_types_them(words, block):
    import yaml

    text = "".join(f"- {w}\n" for w in words) if block else "[" + ", ".join(words) + "]"
    expected = yaml.safe_load(text)
    [document] = load_all(text)
    assert document.root == expected
    assert [type(v) for v in document.root] == [type(v) for v in expected]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["\n", "\r\n", "\r", "\x85", "\u2028", "\u2029"]),
                          st.sampled_from(["", "\n", "\r", "\x85", "\u2028"])),
                min_size=1, max_size=6))
def test_lines_are_counted_at_newlines_only(breaks):
    """libyaml breaks lines at \\r, NEL and U+2028/9 as well; a key's line is the one
    reading.Source.lines gives, the count of \\n before it, whatever else the text holds."""
    text = "".join(f'k{i}: "a{inside}b"{after}' for i, (after, inside) in enumerate(breaks))
    root = next(load_all(text)).root
    assert root.lines == {f"k{i}": text[:text.index(f"k{i}:")].count("\n") + 1
                          for i in range(len(breaks))}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_a_tree_or_a_yaml_error(text):
    try:
        for document in load_all(text):
            assert document.line >= 1
    except YamlError as exc:
        assert exc.line is None or 1 <= exc.line <= text.count("\n") + 2


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["services:", "  db:", "    image: mysql", "    mem_limit: 1g",
                                 "    command: --innodb-buffer-pool-size=2G", "\t", "&a", "*a",
                                 "    <<: *a", "- x", "apiVersion: v1", "kind: Pod", "---",
                                 "    mem_limit: ${X:-", "  x: !reset", "{", "]"]),
                max_size=12))
def test_compose_and_kube_readers_never_raise(lines):
    _budget_and_rules("\n".join(lines))


def _budget_and_rules(text: str) -> None:
    """The containers plugin's reading, budget and rules over ``text`` as a compose file and
    as a manifest; any exception fails the test (the engine would call it a plugin error)."""
    from oomaudit.plugins import containers
    from oomaudit.plugins.containers import rules

    from oomaudit.host import FILES, Host
    from oomaudit.reading import Source

    for reader in (containers.COMPOSE_READER, containers.KUBE_READER):
        host = Host("t", FILES, None)
        source = Source(__import__("pathlib").Path("compose.yaml"), "compose.yaml", text,
                        reader=reader)
        host.docs[reader.name] = [reader.parse(source)]
        host.sources[source.path] = source
        containers.oomaudit_budget(host)
        for check in (rules.check_container001, rules.check_container002,
                      rules.check_container003):
            list(check(host))


# Keys the containers plugin reads, at any depth, holding any shape: YAML that parses but
# has a list where compose wants a mapping (or the reverse) must be a CONF001, not a crash.
_KEYS = ["image", "command", "entrypoint", "environment", "volumes", "mem_limit",
         "memswap_limit", "mem_reservation", "deploy", "resources", "limits", "reservations",
         "memory", "replicas", "extends", "service", "file", "env_file", "type", "source",
         "target", "containers", "args", "env", "name", "value", "spec", "template"]
_SCALARS = st.one_of(st.sampled_from(["mysql:8", "mariadb", "2g", "512Mi", "./my.cnf:/etc/my.cnf",
                                      "/srv/x:/etc/mysql/conf.d/x.cnf:ro", "bind", "db", "A=1",
                                      "--innodb-buffer-pool-size=2G", "many", ""]),
                     st.integers(-5, 10**10), st.booleans(), st.none())
_SHAPES = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(_KEYS), inner, max_size=3)),
    max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(_KEYS), _SHAPES, max_size=6), st.booleans())
@example({"environment": "A=1"}, False)
@example({"volumes": "./my.cnf:/etc/my.cnf"}, False)
@example({"volumes": [{"type": "bind", "source": ["x"], "target": "/etc/my.cnf"}]}, False)
@example({"resources": {"limits": ["512Mi"]}, "env": {"name": "x"}}, True)
def test_services_and_containers_of_any_shape_never_raise(fields, kube):
    import yaml

    thing = {"image": "mysql:8", **fields}
    tree = ({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "c", **thing}]}}
            if kube else {"services": {"db": thing}})
    _budget_and_rules(yaml.safe_dump(tree))


def test_cli_bad_yaml_files(oomaudit, tmp_path):
    (tmp_path / "compose.yaml").write_bytes(b"services:\n  db:\n\timage: x\n")
    (tmp_path / "docker-compose.bomb.yml").write_text("services:\n" + "".join(
        "  " + line + "\n" for line in BOMB.splitlines()))
    (tmp_path / "docker-compose.latin1.yml").write_bytes(
        b"services:\n  caf\xe9:\n    image: nginx\n    mem_limit: 1g\n")
    (tmp_path / "deploy.yaml").write_text("apiVersion: v1\nkind: Pod\nspec: [\n")
    found = findings(oomaudit, ".", cwd=tmp_path)
    assert hits(found, "CONF") == {("CONF001", "compose.yaml", 3),
                                   ("CONF001", "docker-compose.bomb.yml", 8),  # 9^7 > 1M
                                   ("CONF001", "deploy.yaml", 4)}
    assert not hits(found)  # the latin-1 file is read (U+FFFD in the name) and has a limit


def test_cli_huge_yaml_is_refused_not_slow(oomaudit, tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  a:\n    x:\n" + "      - a\n" * 600_000)
    found = findings(oomaudit, "compose.yaml", cwd=tmp_path)
    assert [f["rule"] for f in found] == ["CONF001"]
    assert "nodes" in found[0]["message"]
