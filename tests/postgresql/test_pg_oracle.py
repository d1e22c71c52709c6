"""Differential tests: our postgresql.conf reader against ``postgres -C NAME -D DIR``.

The server (Debian's postgresql-15) prints one parameter's value in its base unit (8 kB
pages, kB) or fails with the reason on stderr; it must not run as root, so it runs as the
``postgres`` user over a world-readable temporary directory. Every generated config is
compared parameter by parameter, and where the server refuses the files we must have
reported the same lines (syntax errors) or the same message (invalid values).
"""
from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import need_program
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oomaudit.host import LIVE, Host
from oomaudit.parsers import pgcluster, pgguc

ASKED = ("shared_buffers", "work_mem", "max_connections", "hash_mem_multiplier",
         "maintenance_work_mem", "autovacuum_work_mem", "wal_buffers")


class Oracle:
    def __init__(self):
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
        self.exe = found[-1] if found else need_program("postgres", "postgresql.conf oracle")
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            runuser = need_program("runuser", "run postgres as the postgres user")
            self.prefix = [runuser, "-u", "postgres", "--"]
        self.base = Path(tempfile.mkdtemp(prefix="oomaudit-pg-"))
        self.base.chmod(0o755)
        self.count = 0

    def directory(self, files: dict[str, str]) -> Path:
        """A fresh data directory holding ``files`` (relative names), readable by postgres."""
        self.count += 1
        root = self.base / f"d{self.count}"
        root.mkdir()
        # the oracle is PostgreSQL 15; PG_VERSION tells our reader so (version-specific
        # checks such as unknown parameter names apply only when the version is known)
        (root / "PG_VERSION").write_text("15\n")
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8", "surrogateescape"))
        open_up(root)
        return root

    def ask(self, directory: Path, names=ASKED, config_file: Path | None = None):
        """{name: printed value} or (None, stderr) when the server refuses the files.
        One process per name (the server honours only one -C), run side by side."""
        where = [f"--config-file={config_file}"] if config_file else ["-D", str(directory)]
        procs = {n: subprocess.Popen([*self.prefix, self.exe, *where, "-C", n],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for n in names}
        values, errors = {}, ""
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=30)
            if proc.returncode != 0:
                errors = err.decode("utf-8", "replace")
            values[name] = out.decode().strip()
        return (None, errors) if errors else (values, "")

    def close(self):
        shutil.rmtree(self.base, ignore_errors=True)


def open_up(root: Path) -> None:
    """World-readable, so that the postgres user can read what root wrote."""
    for folder, _, names in os.walk(root):
        os.chmod(folder, 0o755)
        for name in names:
            os.chmod(os.path.join(folder, name), 0o644)


@pytest.fixture(scope="module")
def oracle():
    o = Oracle()
    yield o
    o.close()


def ours(config_path: Path) -> tuple[pgcluster.PgConfig, Host]:
    host = Host("t", LIVE, Path("/"))
    source = host.read(config_path)
    return pgcluster.load(host, source), host


def problems(host: Host) -> list:
    return [f for s in host.sources.values() for f in s.problems] + host.diagnostics


def assert_agree(oracle: Oracle, directory: Path, names=ASKED, config_file=None) -> None:
    config, host = ours(config_file or directory / "postgresql.conf")
    values, stderr = oracle.ask(directory, names, config_file)
    files = {p.name: p.read_bytes()[:300] for p in directory.rglob("*") if p.is_file()}
    if values is None:
        assert config.fatal, f"server refused, we did not:\n{stderr}\n{files}"
        syntax = {int(n) for n in re.findall(r"syntax error in file .* line (\d+)", stderr)}
        found = [f for f in problems(host) if f.rule == "CONF001"]
        if syntax:
            # the server counts a line cut off by EOF one short
            ours_lines = {f.line for f in found if "syntax error" in f.message}
            assert syntax <= ours_lines | {n - 1 for n in ours_lines}, (stderr, found, files)
        for message in re.findall(r"LOG:  ((?:invalid value for|\S+ (?:\S+ )?is outside) .*)",
                                  stderr):
            assert any(f.message.startswith(message) for f in found), (message, found, files)
        return
    assert not config.fatal, f"we refuse what the server accepts: {problems(host)} {files}"
    for name in names:
        param = pgguc.PARAMS[name]
        got = config.value(name)
        expected = values[name]
        if param.kind == "real":
            assert f"{got:g}" == expected, (name, got, expected, files)
        else:
            assert str(int(got)) == expected, (name, got, expected, files)


# -- the quirks, one by one --------------------------------------------------------------

QUIRKS = [
    "shared_buffers = 256MB\nwork_mem = '8MB'\nmax_connections 150\n",
    "shared_buffers = 1.5GB\n",  # a real then an ID: syntax error near "GB"
    "shared_buffers = '1.5GB'\n",
    "shared_buffers = 128 MB\n",
    "shared_buffers = '128 MB'\n",
    "work_mem = 1e3\n",  # lexes as "1e" then "3"
    "work_mem = '1e3'\n",
    "shared_buffers = 0x100\n",
    "shared_buffers = 010\n",  # octal: 8 pages, below the minimum
    "work_mem = 010000\n",
    "shared_buffers = 100.7\n",
    "shared_buffers = 1000kB\n",
    "shared_buffers = 100kB\n",  # 12.5 pages rounds to even: 12, out of range
    "shared_buffers = 64mb\n",
    "work_mem = '64MB '\nSHARED_BUFFERS = ' 64MB'\n",
    "work_mem = 10XB\nwork_mem = 8MB\n",  # the bad one is overridden: no error
    "work_mem = 10XB\nWORK_MEM = 8MB\n",  # spelled differently: still applied, still fatal
    "sort_mem = 8MB\n",  # 7.x name for work_mem
    "work_mem = ",  # cut off at EOF: the server blames line 0
    "work_mem = 1\nfoo",
    "work_mem = '8MB\\0junk'\n",
    "work_mem = '8\\115B'\n",  # octal escape: 8MB
    "work_mem = 'it''s'\n",
    "wal_buffers = 2\nautovacuum_work_mem = 5\n",
    "a.b.c = 1\n",
    "myext.setting = 1\nwork_mem = .\n",
    "max_connections = 262000\nmax_worker_processes = 200\n",
    "hash_mem_multiplier = 1.5\n",
    "hash_mem_multiplier = '0x1p3'\n",
    "hash_mem_multiplier = 1e3\n",
    "hash_mem_multiplier = '1e3'\n",
    "shared_buffers = 64MB # a comment\n# shared_buffers = 1GB\n",
    "work_mem = 4MB\r\nmax_connections = 20\r\n",
    "= 5\n",
    "work_mem 'x' 'y'\n",
    "work_mem = 8MB 16MB\n",
    "shared_buffers = -1\n",
    "autovacuum_work_mem = -1\nmaintenance_work_mem = 1GB\n",
    "work_mem = 99999999999999999999\n",
    "work_mem = '1.5kB'\n",
    "work_mem = '2047.5kB'\nshared_buffers = '1.0001GB'\n",
]


@pytest.mark.parametrize("text", QUIRKS)
def test_quirk(oracle, text):
    lowered = text.lower().replace("sort_mem", "work_mem")
    names = tuple(n for n in ASKED if n in lowered) or ("shared_buffers",)
    assert_agree(oracle, oracle.directory({"postgresql.conf": text}), names)


def test_includes(oracle):
    directory = oracle.directory({
        "postgresql.conf": "shared_buffers = 256MB\nwork_mem = 16MB\n"
                           "include_dir 'conf.d'\ninclude_if_exists 'missing.conf'\n"
                           "INCLUDE = 'sub/extra.conf'\n",
        "conf.d/a.conf": "work_mem=24MB\nmax_connections=300\n",
        "conf.d/b.conf": "work_mem = 32MB\n",
        "conf.d/c.txt": "work_mem = 99MB\n",
        "conf.d/.hidden.conf": "work_mem = 98MB\n",
        "conf.d/.conf": "work_mem = 97MB\n",
        "conf.d/sub.conf/x.conf": "work_mem = 96MB\n",
        "sub/extra.conf": "include 'more.conf'\n",  # relative to sub/
        "sub/more.conf": "maintenance_work_mem = 128MB\n",
        "postgresql.auto.conf": "shared_buffers = '512MB'\n",
    })
    assert_agree(oracle, directory)
    config, _ = ours(directory / "postgresql.conf")
    assert config.setters["shared_buffers"].where.endswith("postgresql.auto.conf:1")


@pytest.mark.parametrize("files", [
    {"postgresql.conf": "include 'missing.conf'\n"},
    {"postgresql.conf": "include_dir 'nowhere'\n"},
    {"postgresql.conf": "include 'postgresql.conf'\n"},
    {"postgresql.conf": "include 'a.conf'\n", "a.conf": "include 'b.conf'\n",
     "b.conf": "include 'a.conf'\n"},  # indirect loop: nesting depth
    {"postgresql.conf": "include ''\n"},
    {"postgresql.conf": "include_dir 'd'\n", "d/a.conf": "work_mem = 1.5MB\n",
     "d/b.conf": "work_mem = 2MB\n"},
])
def test_include_errors(oracle, files):
    directory = oracle.directory(files)
    assert_agree(oracle, directory)
    config, host = ours(directory / "postgresql.conf")
    assert any(f.rule in ("CONF001", "CONF002") for f in problems(host))


# -- generated configs -------------------------------------------------------------------

_NAMES = st.sampled_from(["shared_buffers", "work_mem", "max_connections", "SHARED_BUFFERS",
                          "Work_Mem", "hash_mem_multiplier", "maintenance_work_mem",
                          "autovacuum_work_mem", "wal_buffers", "sort_mem", "my.custom"])
_NUMBERS = st.one_of(st.integers(-2, 300000).map(str),
                     st.sampled_from(["0x40", "010", "1.5", "100.5", "12.49", "1e3", "-1",
                                      ".", "0", "2147483648", "08"]))
_UNITS = st.sampled_from(["", "", "B", "kB", "MB", "GB", "TB", "kb", "mb", " MB", "M", "XB"])


@st.composite
def _value(draw):
    text = draw(_NUMBERS) + draw(_UNITS)
    style = draw(st.sampled_from(["bare", "quoted", "quoted", "padded"]))
    if style == "bare":
        return text
    if style == "padded":
        text = f" {text} "
    return "'" + text.replace("'", "''") + "'"


@st.composite
def _line(draw, includes: tuple[str, ...]):
    kind = draw(st.sampled_from(["set"] * 6 + ["comment", "blank", "include", "junk"]))
    if kind == "comment":
        return "# " + draw(st.text(st.characters(blacklist_characters="\n\r\0",
                                                 blacklist_categories=("Cs",)), max_size=10))
    if kind == "blank":
        return draw(st.sampled_from(["", "  ", "\t"]))
    if kind == "include":
        directive = draw(st.sampled_from(["include", "include_if_exists", "include_dir"]))
        target = draw(st.sampled_from(includes))
        return f"{directive} '{target}'"
    if kind == "junk":
        return draw(st.text(st.characters(blacklist_characters="\n\0",
                                          blacklist_categories=("Cs",)), max_size=12))
    eq = draw(st.sampled_from([" = ", "=", " ", "\t=\t"]))
    tail = draw(st.sampled_from(["", "", "  # note", "\r"]))
    return f"{draw(_NAMES)}{eq}{draw(_value())}{tail}"


@st.composite
def configs(draw):
    targets = ("conf.d", "inc.conf", "missing.conf", "conf.d/a.conf")
    files = {}
    for name in ("postgresql.conf", "inc.conf", "conf.d/a.conf", "conf.d/b.conf",
                 "postgresql.auto.conf"):
        if name == "postgresql.conf" or draw(st.booleans()):
            lines = draw(st.lists(_line(targets if name == "postgresql.conf" else
                                        ("missing.conf",)), max_size=6))
            files[name] = "\n".join(lines) + draw(st.sampled_from(["\n", ""]))
    return files


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(configs())
def test_generated_configs_agree(oracle, files):
    assert_agree(oracle, oracle.directory(files),
                 names=("shared_buffers", "work_mem", "max_connections"))


# -- Debian's generated cluster config ---------------------------------------------------

def test_debian_cluster_config(oracle):
    """The config pg_createcluster wrote when postgresql-15 was installed (CI installs it
    too), with its conf.d; read through --config-file as Debian's server is started."""
    etc = Path("/etc/postgresql/15/main")
    if not (etc / "postgresql.conf").is_file():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("/etc/postgresql/15/main missing: installing postgresql-15 runs "
                        "pg_createcluster 15 main")
        pytest.skip("no Debian cluster config here")
    directory = oracle.directory({})
    shutil.copytree(etc, directory / "etc", ignore=shutil.ignore_patterns("pg_*.conf"))
    open_up(directory)
    config_file = directory / "etc" / "postgresql.conf"
    assert_agree(oracle, directory, names=ASKED + ("max_worker_processes",
                                                   "autovacuum_max_workers"),
                 config_file=config_file)
    config, host = ours(config_file)
    assert not problems(host)
