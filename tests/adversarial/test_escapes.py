"""Nothing outside the audited tree is read, nothing is written, no program is started
(issue 12.1 and 12.8), whatever links, FIFOs and includes a hostile tree holds.

Each case builds a repository (``check``) or a tree (``scan --root``) in tmp_path that tries
to reach a sentinel file beside it, through one reader's way of naming other files: a link
named like a config, an include, an include folder that is a link, a glob, compose's
``.env``/``extends``/volumes, systemd drop-in folders, kernel logs. The real CLI runs under
a Python audit hook that records every ``open`` and every process start; the test asserts
that the sentinel was never opened (nor anything else outside the tree but Python's own
files), that its text is in no output, that nothing was opened for writing, that no process
was started, and that the run ended in time (a FIFO must not hang it). Where ``strace`` is
installed (CI installs it) one case per mode is traced as well, which also sees opens that
do not go through Python's ``open``.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SENTINEL = "SENTINEL-0c1f9e"

# installs an audit hook, then runs oomaudit as `python -m oomaudit` would
WATCH = r'''
import os, sys, runpy
log = open(os.environ["WATCH_LOG"], "w", buffering=1)
def hook(event, args):
    if event == "open":
        path, mode, flags = args
        if isinstance(path, (str, bytes)):
            path = os.fsdecode(path)
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
                bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
            nofollow = "N" if flags & os.O_NOFOLLOW else "-"
            log.write(("W" if writes else "R") + nofollow + " " + os.path.abspath(path) + "\n")
    elif event in ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                   "os.fork", "os.forkpty"):
        log.write("P " + event + "\n")
sys.addaudithook(hook)
sys.argv = ["oomaudit", *sys.argv[1:]]
runpy.run_module("oomaudit", run_name="__main__")
'''


def _python_files() -> list[str]:
    """Where the interpreter and the installed packages live: opens there are Python's."""
    import oomaudit
    places = {sys.prefix, sys.base_prefix, sys.exec_prefix,
              str(Path(oomaudit.__file__).parent.parent)}
    return sorted(os.path.realpath(p) for p in places)


def run_watched(tmp_path: Path, *args: str, cwd: Path) -> tuple[subprocess.CompletedProcess,
                                                                list[str]]:
    watch = tmp_path / "watch.py"
    watch.write_text(WATCH)
    log = tmp_path / "watch.log"
    env = {**os.environ, "WATCH_LOG": str(log), "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1",
           "OOMAUDIT_SYSTEM_CONFIG": str(tmp_path / "no-system-config.toml")}
    proc = subprocess.run([sys.executable, str(watch), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)
    return proc, log.read_text().splitlines()


def assert_confined(proc, events: list[str], tree: Path, tmp_path: Path) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode in (0, 1, 2), proc.stderr
    assert SENTINEL not in proc.stdout + proc.stderr
    outside = tmp_path / "outside"
    python = _python_files()
    allowed = (str(tree), str(tmp_path / "no-system-config.toml"), "/dev/null",
               "/etc/localtime", *python)
    for event in events:
        kind, _, what = event.partition(" ")
        assert kind != "P", f"a process was started: {what}"
        assert not kind.startswith("W"), f"opened for writing: {what}"
        if kind == "RN" and os.path.islink(what):
            continue  # O_NOFOLLOW on a link fails (ELOOP): nothing behind it is opened
        real = os.path.realpath(what)
        assert not real.startswith(str(outside)), f"read outside the tree: {what}"
        assert real.startswith(allowed) or what.startswith(allowed), \
            f"opened outside the tree and Python: {what}"


def _outside(tmp_path: Path) -> Path:
    """A folder beside the tree holding files every reader would take, each with the
    sentinel in a value it would echo."""
    out = tmp_path / "outside"
    out.mkdir()
    (out / "secret.cnf").write_text(f"[mysqld]\ninnodb_buffer_pool_size = {SENTINEL}\n")
    (out / "secret.conf").write_text(f"[{SENTINEL}]\npm = static\n"
                                     f"pm.max_children = x{SENTINEL}\n"
                                     f"shared_buffers = '{SENTINEL}'\n"
                                     f"worker_processes {SENTINEL};\n")
    (out / "x.conf").write_text((out / "secret.conf").read_text())
    (out / "x.cnf").write_text((out / "secret.cnf").read_text())
    (out / "base.yaml").write_text(f"services:\n  base:\n    image: {SENTINEL}\n"
                                   f"    mem_limit: {SENTINEL}\n")
    (out / ".env").write_text(f"LIMIT={SENTINEL}\n")
    (out / "kern.log").write_text(f"Out of memory: Killed process 1 ({SENTINEL})\n")
    (out / "x.service").write_text(f"[Service]\nMemoryMax={SENTINEL}\n")
    return out


def _put(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _link(root: Path, rel: str, target: str | Path) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


def _repo_cases():
    """(name, builder(repo, outside)) for `check .` in a repository."""
    def link_named_like_a_config(repo, out):
        _link(repo, "etc/mysql/my.cnf", out / "secret.cnf")
        _link(repo, "php-fpm.d/www.conf", "../../outside/secret.conf")

    def mysql_include_and_includedir(repo, out):
        _put(repo, "etc/mysql/my.cnf", "[mysqld]\n!include /etc/mysql/extra.cnf\n"
                                       "!includedir /etc/mysql/conf.d/\n!include ../../x.cnf\n")
        _link(repo, "etc/mysql/extra.cnf", "../../../outside/secret.cnf")
        _link(repo, "etc/mysql/conf.d", out)

    def php_fpm_include_glob(repo, out):
        _put(repo, "etc/php/8.2/fpm/php-fpm.conf",
             "[global]\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n")
        _link(repo, "etc/php/8.2/fpm/pool.d", out)

    def nginx_include(repo, out):
        _put(repo, "etc/nginx/nginx.conf", "events {}\nhttp {\ninclude /etc/nginx/conf.d/*.conf;"
                                           "\ninclude ../../outside/x.conf;\n}\n")
        _link(repo, "etc/nginx/conf.d", out)

    def apache_include(repo, out):
        _put(repo, "etc/apache2/apache2.conf", "IncludeOptional conf-enabled/*.conf\n"
                                               "Include /etc/apache2/extra/\n")
        _link(repo, "etc/apache2/conf-enabled", out)
        _link(repo, "etc/apache2/extra", "../../../outside")

    def postgresql_include(repo, out):
        _put(repo, "etc/postgresql/15/main/postgresql.conf",
             "include_dir 'conf.d'\ninclude '../../../../../outside/secret.conf'\n"
             "include_if_exists '/etc/postgresql/15/main/x.conf'\n")
        _link(repo, "etc/postgresql/15/main/conf.d", out)
        _link(repo, "etc/postgresql/15/main/x.conf", out / "x.conf")

    def compose_env_extends_volumes(repo, out):
        _put(repo, "app/compose.yaml",
             "services:\n  db:\n    image: mysql:8\n    mem_limit: ${LIMIT:-1g}\n"
             "    volumes: ['../../outside/x.cnf:/etc/mysql/conf.d/x.cnf']\n"
             "  web:\n    extends: {file: ../../outside/base.yaml, service: base}\n")
        _link(repo, "app/.env", out / ".env")

    def redis_include(repo, out):
        _put(repo, "etc/redis/redis.conf", "include /etc/redis/conf.d/*.conf\n"
                                           "include ../../outside/x.conf\n")
        _link(repo, "etc/redis/conf.d", out)

    def facts_files_of_host_tables(repo, out):
        """A fleet folder's facts.json and a table's facts file, both links out."""
        _put(out, "facts.json", f'{{"tool": {{"name": "oomaudit"}}, "host": "{SENTINEL}"}}\n')
        _put(repo, ".oomaudit.toml", '[[hosts]]\npaths = ["db/**"]\nfacts = "db.json"\n\n'
                                     '[[hosts]]\neach = "hosts/*"\n')
        _link(repo, "db.json", out / "facts.json")
        _put(repo, "db/etc/fstab", "/swapfile none swap sw 0 0\n")
        _link(repo, "hosts/web1/facts.json", "../../../outside/facts.json")
        _put(repo, "hosts/web1/etc/fstab", "/swapfile none swap sw 0 0\n")

    def repository_config(repo, out):
        _put(out, "cfg.toml", f'ignore = ["{SENTINEL}"]\n')
        _link(repo, ".oomaudit.toml", out / "cfg.toml")
        _put(repo, "fstab", "/swapfile none swap sw 0 0\n")

    return [f for f in locals().values() if callable(f)]


def _tree(tmp_path: Path, name: str, *cases) -> tuple[Path, Path]:
    """A tree ``name`` beside the sentinel's folder, built by ``cases``: (tree, outside).
    It holds a ``.git``, the repository's top that ``check`` confines to."""
    out = _outside(tmp_path)
    tree = tmp_path / name
    (tree / ".git").mkdir(parents=True)
    for case in cases:
        case(tree, out)
    return tree, out


@pytest.mark.parametrize("case", _repo_cases(), ids=lambda f: f.__name__)
def test_check_reads_nothing_outside_the_repository(tmp_path, case):
    repo, _ = _tree(tmp_path, "repo", case)
    proc, events = run_watched(tmp_path, "check", ".", "--ram", "4G", "--format", "json",
                               cwd=repo)
    assert_confined(proc, events, repo, tmp_path)
    if case.__name__ == "repository_config":  # refused: a usage error naming the link
        assert proc.returncode == 2 and "outside the repository" in proc.stderr
    else:
        json.loads(proc.stdout)


def _root_cases():
    """(name, builder(root, outside)) for `scan --root ROOT`."""
    def links_that_climb(root, out):
        _link(root, "etc/fstab", "../../../outside/secret.conf")
        _link(root, "etc/mysql/my.cnf", "../../../../outside/secret.cnf")
        _link(root, "etc/sysctl.d/x.conf", "../../../outside/x.conf")

    def fifos_and_devices(root, out):
        for rel in ("etc/fstab", "etc/mysql/my.cnf", "var/log/kern.log", "etc/sysctl.conf",
                    "etc/php/8.2/fpm/php-fpm.conf"):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            os.mkfifo(root / rel)
        _link(root, "var/log/syslog", "/proc/kmsg")
        _link(root, "etc/nginx/nginx.conf", "/dev/zero")

    def link_loops(root, out):
        """A loop where a glob or a folder listing meets it ends the scan as no error."""
        _link(root, "etc/mysql/conf.d/self.cnf", "self.cnf")
        _link(root, "etc/mysql/conf.d/loop", ".")
        _put(root, "etc/mysql/my.cnf", "[mysqld]\n!includedir /etc/mysql/conf.d/\n")
        _link(root, "etc/php/8.2/fpm/pool.d/a.conf", "b.conf")
        _link(root, "etc/php/8.2/fpm/pool.d/b.conf", "a.conf")
        _link(root, "etc/systemd/system/x.service.d", "../../systemd/system")
        _link(root, "etc/sysctl.d/99.conf", "/etc/sysctl.d/99.conf")
        _link(root, "etc/apache2/conf-enabled", "/etc/apache2")
        _put(root, "etc/apache2/apache2.conf", "IncludeOptional conf-enabled/*.conf\n")

    def folders_that_climb(root, out):
        _link(root, "etc/systemd/system/x.service.d", "../../../../outside")
        _put(root, "etc/systemd/system/x.service", "[Service]\nExecStart=/bin/true\n")
        _link(root, "etc/mysql/conf.d", "../../../outside")
        _put(root, "etc/mysql/my.cnf", "[mysqld]\n!includedir /etc/mysql/conf.d/\n")
        _link(root, "var/log", "../../outside")

    return [f for f in locals().values() if callable(f)]


@pytest.mark.parametrize("case", _root_cases(), ids=lambda f: f.__name__)
def test_scan_root_reads_nothing_outside_the_tree(tmp_path, case):
    root, _ = _tree(tmp_path, "root", case)
    proc, events = run_watched(tmp_path, "scan", "--root", str(root), "--ram", "4G",
                               "--format", "json", cwd=tmp_path)
    assert_confined(proc, events, root, tmp_path)
    json.loads(proc.stdout)


@pytest.mark.skipif(not shutil.which("strace") and os.environ.get("CI") != "true",
                    reason="strace not installed (CI installs it)")
@pytest.mark.parametrize("mode", ["check", "scan"])
def test_strace_sees_no_open_of_the_sentinel(tmp_path, mode):
    """The kernel's view: every open, openat and openat2 of the process and its children."""
    cases = {f.__name__: f for f in (_repo_cases() if mode == "check" else _root_cases())}
    names = (("link_named_like_a_config", "nginx_include", "php_fpm_include_glob")
             if mode == "check" else ("links_that_climb",))
    tree, out = _tree(tmp_path, "repo" if mode == "check" else "root",
                      *(cases[name] for name in names))
    args = ["check", "."] if mode == "check" else ["scan", "--root", str(tree)]
    trace = tmp_path / "strace.log"
    proc = subprocess.run(["strace", "-f", "-e", "trace=open,openat,openat2", "-o", str(trace),
                           sys.executable, "-m", "oomaudit", *args, "--ram", "4G"],
                          cwd=tree, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NO_COLOR": "1"})
    assert "Traceback" not in proc.stderr
    opened = [line for line in trace.read_text().splitlines() if str(out) in line]
    assert opened == []
    assert SENTINEL not in proc.stdout + proc.stderr
