"""Recognising files: sniff hints are necessary conditions of their sniffers, names win
over content, templates are left alone, and a repository's other files cost no sniffer."""
from __future__ import annotations

import re

import pytest
from conftest import REPO, need_shared
from hypothesis import given, settings
from hypothesis import strategies as st

from oomaudit.engine import Registry
from oomaudit.manager import load_plugins
from oomaudit.reading import SNIFF_BYTES, Reader
from oomaudit.recognise import EARLY, TEMPLATE_SUFFIXES, Recogniser


@pytest.fixture(scope="module")
def readers():
    return Registry.build(load_plugins(disable_third_party=True)).readers


def _heads():
    """First 4 KiB of every real config and test fixture: what sniffers meet in practice."""
    roots = sorted((REPO / "tests").glob("**/fixtures"))  # each test folder keeps its own
    shared = need_shared("realworld")
    roots.append(shared)
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                yield path, path.read_bytes()[:SNIFF_BYTES].decode("utf-8", "replace")


def test_every_builtin_sniffer_has_a_hint(readers):
    missing = [r.name for r in readers.values() if r.sniff and not r.sniff_hint]
    assert missing == []


def test_hints_are_necessary_conditions_on_real_files(readers):
    """A file its sniffer accepts must never be ruled out by its hint."""
    wrong = []
    checked = 0
    for path, head in _heads():
        for reader in readers.values():
            if reader.sniff and reader.sniff(head):
                checked += 1
                if not re.search(reader.sniff_hint, head, re.M):
                    wrong.append(f"{reader.name}: {path}")
    assert checked > 50  # the corpus does exercise the sniffers
    assert wrong == []


_LINE = st.sampled_from([
    "[mysqld]", "[Service]", "[Unit]", "[www]", "[global]", "services:", "apiVersion: v1",
    "kind: Pod", "vm.swappiness = 10", "kernel.panic=1", "pm.max_children = 5",
    "listen = /run/php.sock", "worker_processes 4;", "http {", "server {", "events {",
    "innodb_buffer_pool_size = 1G", "shared_buffers = 128MB", "max_connections = 100",
    "UUID=abc / ext4 defaults 0 1", "/swapfile none swap sw 0 0", "tmpfs /tmp tmpfs rw 0 0",
    "<IfModule mpm_prefork_module>", "MaxRequestWorkers 150", "# <file system> <dir>",
    "Out of memory: Killed process 1 (x)", "# comment", "; comment", "", "key: value",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_LINE, st.text(max_size=40)), max_size=25))
def test_hints_are_necessary_conditions_on_generated_heads(readers, lines):
    head = "\n".join(lines) + "\n"
    for reader in readers.values():
        if reader.sniff and reader.sniff(head):
            assert re.search(reader.sniff_hint, head, re.M), (reader.name, head)


def test_name_wins_and_templates_are_not_recognised_by_name(readers):
    recognise = Recogniser(readers)
    assert recognise.by_name("repo/hosts/db1/etc/fstab").name == "fstab"
    assert recognise.by_name("etc/mysql/conf.d/tuning.cnf").name == "mysql"
    assert recognise.by_name("templates/fstab.j2") is None
    assert recognise.by_name("roles/db/templates/my.cnf.erb") is None
    assert recognise.by_name("README.md") is None


def _first_claim(readers: list[Reader], relpath: str) -> Reader | None:
    """By the book: the first reader (registration order) with a pattern that matches the
    file's name, or its path for a pattern with "/" (templates excepted)."""
    import fnmatch

    if relpath.endswith(TEMPLATE_SUFFIXES):
        return None
    name = relpath.rsplit("/", 1)[-1]
    for wanted, text in ((lambda p: "/" not in p, name), (lambda p: "/" in p, relpath)):
        for reader in readers:
            if any(fnmatch.fnmatchcase(text, p) for p in reader.file_patterns if wanted(p)):
                return reader
    return None


_PIECES = st.sampled_from(["fstab", "my", ".cnf", ".conf", "kern.log", ".1", "httpd", "_",
                           "-", "sysctl", ".d", "/", "mysql/", "compose", ".yaml", "x", "7"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=6).map("".join))
def test_by_name_agrees_with_fnmatch_in_registration_order(readers, relpath):
    """A plainly named file skips the regex: that shortcut must give what the patterns say."""
    assert Recogniser(readers).by_name(relpath) is _first_claim(list(readers.values()), relpath)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(_PIECES, min_size=1, max_size=6).map("".join), min_size=EARLY + 1,
                max_size=EARLY + 12))
def test_by_name_agrees_before_and_after_the_joined_regex(readers, relpaths):
    """The first names are matched pattern by pattern, the rest by the joined regex: one
    answer either way."""
    recognise = Recogniser(readers)
    for relpath in relpaths:
        assert recognise.by_name(relpath) is _first_claim(list(readers.values()), relpath)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.one_of(_LINE, st.text(max_size=40)), max_size=12).map(
    lambda lines: "\n".join(lines) + "\n"), min_size=EARLY + 1, max_size=EARLY + 8))
def test_by_content_agrees_before_and_after_the_joined_hints(readers, heads):
    shared = Recogniser(readers)  # past EARLY heads it searches the joined hints
    for head in heads:
        alone = Recogniser(readers).by_content(head.encode())  # hint by hint
        assert shared.by_content(head.encode()) is alone


def test_one_file_compiles_no_joined_regex(readers):
    """A pre-commit run on one manifest: compiling every reader's patterns and hints into
    one regex each cost more than the rest of recognising it."""
    recognise = Recogniser(readers)
    assert recognise.by_name("k8s/deployment.yaml") is None
    assert recognise.by_content(b"apiVersion: apps/v1\nkind: Deployment\n").name == "kubernetes"
    assert recognise._names is None and recognise._paths is None
    assert recognise._any_hint is None


def test_an_earlier_readers_wildcard_beats_a_later_readers_literal_name():
    first = Reader("first", parse=str, file_patterns=("*.conf", "kern.log.[0-9]"))
    second = Reader("second", parse=str, file_patterns=("app.conf", "kern.log.1", "plain"))
    recognise = Recogniser({"first": first, "second": second})
    assert recognise.by_name("etc/app.conf") is first
    assert recognise.by_name("kern.log.1") is first
    assert recognise.by_name("plain") is second
    assert Recogniser({"second": second, "first": first}).by_name("app.conf") is second


def test_unhinted_heads_reach_no_sniffer(readers):
    """The shared hint search is what keeps a repository of notes cheap: a head that no
    hint matches is answered without asking any reader."""
    asked = []
    spies = {name: _spy(reader, asked) for name, reader in readers.items()}
    recognise = Recogniser(spies)
    assert recognise.by_content(b"# notes for host 7\nsome: yaml\nlist:\n  - 7\n") is None
    assert asked == []
    assert recognise.by_content(b"/swapfile none swap sw 0 0\n").name == "fstab"
    assert "fstab" in asked


def _spy(reader, asked):
    if not reader.sniff:
        return reader
    real = reader.sniff

    def sniff(head: str) -> bool:
        asked.append(reader.name)
        return real(head)
    return Reader(reader.name, reader.parse, reader.system_paths, reader.file_patterns, sniff,
                  reader.sniff_hint, reader.comment_prefixes, reader.plugin)


def test_walk_order_and_what_it_skips(tmp_path, oomaudit):
    """Sorted, depth-first, skipping VCS folders and symlinked folders, by name or by
    content: each file read shows as the CONF001 of its one bad line."""
    fstab = "".join(f"UUID={n} /mnt/{n} ext4 defaults 0 2\n" for n in range(4)) + "bad\n"
    repo = tmp_path / "repo"
    for name in ("b/fstab", "a/disks", ".git/fstab", "a/z/x.fstab", "notes.txt"):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(fstab if name != "notes.txt" else "nothing\n")
    (repo / "link").symlink_to(repo / "b")
    proc = oomaudit("check", "--format", "json", "--exit-zero", "repo")
    import json
    paths = [f["path"] for f in json.loads(proc.stdout)["findings"] if f["rule"] == "CONF001"]
    assert paths == ["repo/a/disks", "repo/a/z/x.fstab", "repo/b/fstab"], proc.stderr


def _reader(name, sniff, hint=""):
    return Reader(name, parse=lambda source: None, sniff=sniff, sniff_hint=hint,
                  plugin=f"{name}-plugin")


def test_a_sniffer_that_raises_is_named_once_and_the_others_still_sniff():
    calls = []

    def broken(head):
        calls.append(head)
        raise KeyError("oops")
    errors: list[str] = []
    recognise = Recogniser({"bad": _reader("bad", broken), "good": _reader(
        "good", lambda head: head.startswith("good"))}, errors)
    assert recognise.by_content(b"good stuff\n").name == "good"
    assert recognise.by_content(b"good again\n").name == "good"
    assert len(calls) == 1
    assert errors == ["reader 'bad' (plugin 'bad-plugin'): its sniffer raised KeyError: 'oops'; "
                      "its files are recognised by name only"]


def test_a_hint_that_is_no_regex_is_named_and_the_others_still_sniff():
    errors: list[str] = []
    recognise = Recogniser({"bad": _reader("bad", lambda head: True, hint="(unclosed"),
                            "good": _reader("good", lambda head: True, hint="^good")}, errors)
    assert recognise.by_content(b"good\n").name == "good"
    assert recognise.by_content(b"other\n") is None
    assert len(errors) == 1 and "its sniff_hint is no regex" in errors[0]


def test_a_walk_of_dot_matches_path_patterns_without_a_leading_star(tmp_path, monkeypatch):
    """`oomaudit check .` names files "conf.d/a.conf", not "./conf.d/a.conf": a pattern
    written from the repository's top still matches."""
    from oomaudit.config import Settings
    from oomaudit.discovery import file_hosts

    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "a.conf").write_text("x\n")
    monkeypatch.chdir(tmp_path)
    reader = _reader("x", None)
    reader.file_patterns = ("conf.d/*.conf",)
    (host,) = file_hosts(["."], {"x": reader}, Settings(), {}, [])
    assert [(r.name, str(p)) for r, p in host.files] == [("x", "conf.d/a.conf")]
