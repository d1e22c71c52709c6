"""Differential tests: oomaudit reads Apache configurations as Debian's apache2 (2.4) does.

Hypothesis writes configuration trees (Include/IncludeOptional with globs and folders,
<IfModule>/<IfDefine> nesting with both module-name forms and negation, Define/UnDefine
and ${VAR}, backslash continuations, directive case, values httpd clamps or misreads,
and structural mistakes); apache2 -t reads each one (tests/apache_oracle.py) and oomaudit
must agree on the files read (DUMP_INCLUDES), the MPM directives kept with their file and
line (DUMP_CONFIG), the clamping warnings, and where a broken configuration fails.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import apache_oracle
import pytest
from conftest import need_program
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from oomaudit.plugins.apache.servers import Server, _server

from oomaudit.host import LIVE, Host
from oomaudit.parsers.apache_mpm import COMMANDS


@pytest.fixture(scope="module")
def apache2() -> str:
    return need_program("apache2", "reference reader of Apache configurations")


def ours(top: Path, root: Path, defines=(), env=None) -> Server:
    """The server oomaudit builds from ``top``, as on a live host, with ``env`` for the
    environment httpd would have."""
    host = Host("oracle", LIVE, Path("/"))
    return _server(host, top, str(root), None, tuple(defines), [], None,
                          environ=dict(env or {}))


def compare(apache2: str, root: Path, defines=(), env=None) -> apache_oracle.Outcome:
    top = root / "httpd.conf"
    theirs = apache_oracle.run(apache2, str(root), str(top), tuple(defines), env)
    server = ours(top, root, defines, env)
    detail = f"\n--- httpd rc={theirs.rc}\n{theirs.stdout}\n{theirs.stderr}"
    if theirs.rc != 0:
        assert server.error is not None, "httpd fails, oomaudit does not" + detail
        if "No MPM loaded" in theirs.stderr or "More than one MPM" in theirs.stderr:
            assert "MPM loaded" in server.error.message, server.error
        else:
            assert theirs.error_at == (str(server.error.source.path), server.error.line), \
                f"{server.error}" + detail
        return theirs
    assert server.error is None, f"oomaudit fails where httpd does not: {server.error}" + detail
    assert theirs.includes == server.config.includes, detail
    kept = [(d.path, d.line, d.name, d.args) for d in server.config.directives
            if d.name.lower() in COMMANDS]
    dumped = [d for d in theirs.directives if d[2].lower() in COMMANDS]
    assert [(p, n, d.lower()) for p, n, d, _ in dumped] == \
        [(p, n, d.lower()) for p, n, d, _ in kept], detail
    assert [a.strip() for *_, a in dumped] == [a.strip() for *_, a in kept], detail
    assert theirs.warnings == [c.message for c in server.limits.clamps], detail
    return theirs


# -- generated configurations ------------------------------------------------------------

EXAMPLES = int(os.environ.get("HTTPD_EXAMPLES", "100"))  # raise locally to search harder
MPM_LINES = {m: f"LoadModule mpm_{m}_module {apache_oracle.MODULES}/mod_mpm_{m}.so"
             for m in ("prefork", "worker", "event")}
NAMES = ("ServerLimit", "MaxRequestWorkers", "MaxClients", "ThreadsPerChild", "ThreadLimit",
         "MaxConnectionsPerChild", "MaxRequestsPerChild")
MODULE_NAMES = ("mpm_prefork_module", "prefork.c", "mpm_worker_module", "worker.c",
                "mpm_event_module", "event.c", "mod_so.c", "so_module", "mod_nope.c",
                "MPM_EVENT_MODULE", "mod_mpm_event.c", "mod_version.c", '"prefork.c"')
VARIABLES = ("A", "B", "V")

cased = st.sampled_from(NAMES).flatmap(
    lambda n: st.sampled_from((n, n.lower(), n.upper())))
value = st.one_of(st.integers(-3, 30000).map(str),
                  st.sampled_from(("${V}", "${NOPE}", "abc", "12k", "0", '"64"', "1 2", "")))
directive = st.builds(lambda n, v: [f"{n} {v}".rstrip()], cased, value)
define = st.one_of(
    st.builds(lambda n, v: [f"Define {n} {v}".rstrip()], st.sampled_from(VARIABLES),
              st.sampled_from(("", "7", "300", "a b", "${V}0"))),
    st.builds(lambda n: [f"UnDefine {n}"], st.sampled_from(VARIABLES)))
comment = st.sampled_from((["# a comment"], [""], ["   "], ["#MaxRequestWorkers 1"]))


def _section(tag: str):
    def build(negate: bool, name: str, body: list[list[str]], spacing: str,
              close: str) -> list[str]:
        lines = [f"<{tag}{spacing}{'!' if negate else ''}{name}>"]
        for block in body:
            lines += ["    " + line for line in block]
        return lines + [close.format(tag=tag, lower=tag.lower())]
    return build


CLOSINGS = st.sampled_from(("</{tag}>",) * 6 + ("</{lower}>", "</{tag} >", "\t</{tag}>"))


def _extend(children):
    body = st.lists(children, max_size=3)
    return st.one_of(
        st.builds(_section("IfModule"), st.booleans(), st.sampled_from(MODULE_NAMES), body,
                  st.sampled_from((" ", "  ", "\t")), CLOSINGS),
        st.builds(_section("IfDefine"), st.booleans(), st.sampled_from(VARIABLES + ('"A"',)),
                  body, st.just(" "), CLOSINGS))


block = st.recursive(st.one_of(directive, define, comment), _extend, max_leaves=10)
blocks = st.lists(block, max_size=5).map(lambda bs: [line for b in bs for line in b])


@st.composite
def trees(draw):
    """(top lines, {include file name: lines}, -D names, environment)."""
    mpm = draw(st.sampled_from(("prefork", "worker", "event", "event", "none", "two")))
    head = {"none": [], "two": [MPM_LINES["prefork"], MPM_LINES["event"]]}.get(
        mpm, [MPM_LINES.get(mpm, "")])
    top = head + draw(blocks)
    valid = ("ServerLimit", "MaxRequestWorkers", "MaxClients") + (
        ("ThreadsPerChild", "ThreadLimit") if mpm in ("worker", "event") else ())
    top += draw(st.lists(st.builds(lambda n, v: f"{n} {v}", st.sampled_from(valid),
                                   st.integers(-2, 3000)), max_size=3))  # clamps
    files = {name: draw(blocks) for name in draw(st.lists(
        st.sampled_from(("a.conf", "b.conf", ".hidden.conf", "c.txt")), max_size=3,
        unique=True))}
    includes = draw(st.lists(st.sampled_from((
        "Include conf.d/*.conf", "IncludeOptional conf.d/*.conf", "Include conf.d",
        "IncludeOptional conf.d/*.conf", "IncludeOptional conf.d/[ab].conf",
        "IncludeOptional nothere/*.conf", "Include conf.d/*.nomatch",
        "IncludeOptional conf.d/*.nomatch", "Include conf.d/a.conf",
        "IncludeOptional nothere.conf", "Include nothere.conf")), max_size=2))
    at = draw(st.integers(0, len(top)))
    top[at:at] = includes
    top = draw(_mangle(top))
    defines = draw(st.lists(st.sampled_from(VARIABLES), max_size=2, unique=True))
    env = draw(st.sampled_from(({}, {"V": "12"}, {"V": "x y"})))
    return top, files, defines, env


@st.composite
def _mangle(draw, lines: list[str]):
    """Continuations, stray or missing closing tags, CRLF, a last line without newline."""
    lines = list(lines)
    for _ in range(draw(st.integers(0, 2))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        if " " in lines[i].strip():
            head, _, tail = lines[i].strip().partition(" ")
            lines[i] = head + draw(st.sampled_from((" \\\n  ", "\\\n ", " \\\r\n"))) + tail
    trouble = draw(st.sampled_from((None,) * 6 + ("stray", "unclosed", "drop")))
    if trouble == "stray":
        lines.insert(draw(st.integers(0, len(lines))),
                     draw(st.sampled_from(("</IfModule>", "</IfDefine>", "</Directory>"))))
    elif trouble == "unclosed":
        lines.insert(draw(st.integers(0, len(lines))),
                     draw(st.sampled_from(("<IfModule mod_nope.c>", "<IfModule prefork.c>",
                                           "<IfDefine A>", "<Directory /x>"))))
    elif trouble == "drop":
        closing = [i for i, line in enumerate(lines) if line.strip().startswith("</")]
        if closing:
            del lines[draw(st.sampled_from(closing))]
    return lines


def _write(root: Path, top: list[str], files: dict[str, list[str]], newline: bool) -> None:
    (root / "conf.d").mkdir()
    text = "\n".join(top)
    (root / "httpd.conf").write_text(text + ("\n" if newline else ""))
    for name, lines in files.items():
        (root / "conf.d" / name).write_text("\n".join(lines) + "\n")


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees(), newline=st.booleans())
def test_generated_configs_read_as_httpd_reads_them(apache2, tree, newline):
    top, files, defines, env = tree
    root = Path(tempfile.mkdtemp(prefix="oomaudit-httpd-"))
    try:
        _write(root, top, files, newline)
        theirs = compare(apache2, root, defines, env)
        event("httpd fails" if theirs.rc else "httpd reads it")
        event(f"{len(theirs.includes)} files, {len(theirs.warnings)} clamp warnings")
    finally:
        shutil.rmtree(root)


# -- measured quirks, one by one ---------------------------------------------------------

CASES = {
    "clamp-event": [MPM_LINES["event"], "ServerLimit 16", "MaxRequestWorkers 500"],
    "clamp-event-multiple": [MPM_LINES["event"], "MaxRequestWorkers 130"],
    "clamp-thread-limit": [MPM_LINES["event"], "ThreadsPerChild 100"],
    "clamp-worker": [MPM_LINES["worker"], "MaxRequestWorkers 1000"],
    "clamp-worker-low": [MPM_LINES["worker"], "maxrequestworkers 10"],
    "clamp-prefork": [MPM_LINES["prefork"], "MaxRequestWorkers 400"],
    "alias-last-wins": [MPM_LINES["prefork"], "MaxRequestWorkers 200", "MaxClients 300"],
    "atoi": [MPM_LINES["event"], "MaxRequestWorkers 10k", "ServerLimit abc"],
    "compile-limits": [MPM_LINES["worker"], "ServerLimit 30000", "ThreadLimit 200000",
                       "ThreadsPerChild 150000", "MaxRequestWorkers 3"],
    "source-names": [MPM_LINES["event"], "<IfModule event.c>", "ServerLimit 3",
                     "</IfModule>", "<IfModule !mod_mpm_event.c>", "ThreadsPerChild 50",
                     "</IfModule>"],
    "wrong-mpm": [MPM_LINES["prefork"], "ThreadsPerChild 5"],
    "in-virtualhost": [MPM_LINES["prefork"], "<VirtualHost *:80>", "MaxRequestWorkers 3",
                       "</VirtualHost>"],
    "trailing-comment": [MPM_LINES["prefork"], "MaxRequestWorkers 20 # comment"],
    "soak-nesting": [MPM_LINES["prefork"], "<IfModule nope.c>", "<IfDefine X>",
                     "</IfModule>", "</IfDefine>"],
    "true-unclosed": [MPM_LINES["prefork"], "<IfModule prefork.c>", "MaxRequestWorkers 20"],
    "no-mpm": ["ServerLimit 3"],
    "define-quoted": [MPM_LINES["prefork"], 'Define D "a b"', "MaxRequestWorkers ${D}"],
    "ifdefine-quotes": [MPM_LINES["prefork"], "Define A", '<IfDefine "A">', "ServerLimit 6",
                        "</IfDefine>", "<IfDefine ! A>", "ServerLimit 9", "</IfDefine>"],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_measured_quirks(apache2, tmp_path, case):
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "httpd.conf").write_text("\n".join(CASES[case]) + "\n")
    compare(apache2, tmp_path)


def test_includes(apache2, tmp_path):
    """A folder is read whole and recursively (dot files too), a glob may stand in a
    folder component and skips dot entries, the DUMP_INCLUDES line is the last Include
    httpd executed."""
    for folder in ("d/sub", "g/a", "g/b", "g/.h", "d2"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "httpd.conf").write_text(
        f"{MPM_LINES['prefork']}\nInclude d\nInclude g/*/x*.conf\nIncludeOptional nope.conf\n"
        'Include "sp ace.conf"\n')
    (tmp_path / "d" / "z.conf").write_text("MaxRequestWorkers 1\n")
    (tmp_path / "d" / ".hidden").write_text("Include d2\n")
    (tmp_path / "d" / "sub" / "a.conf").write_text("ServerLimit 7\n")
    (tmp_path / "g" / "a" / "x1.conf").write_text("MaxRequestWorkers 2\n")
    (tmp_path / "g" / "b" / "x2.conf").write_text("#\n")
    (tmp_path / "g" / ".h" / "x3.conf").write_text("#\n")
    (tmp_path / "g" / "a" / ".x4.conf").write_text("#\n")
    (tmp_path / "sp ace.conf").write_text("MaxRequestWorkers 9\n")
    theirs = compare(apache2, tmp_path)
    assert len(theirs.includes) == 7 and theirs.warnings


def test_include_cycle_is_conf002(apache2, tmp_path):
    (tmp_path / "httpd.conf").write_text(f"{MPM_LINES['prefork']}\nInclude me.conf\n")
    (tmp_path / "me.conf").write_text("Include httpd.conf\n")
    theirs = apache_oracle.run(apache2, str(tmp_path), str(tmp_path / "httpd.conf"))
    assert theirs.rc != 0  # "Exceeded maximum include depth of 128", in a truncated message
    server = ours(tmp_path / "httpd.conf", tmp_path)
    assert server.error.rule == "CONF002" and server.error.line == 1
    assert server.error.source.path == tmp_path / "me.conf"
    assert "include cycle" in server.error.message
