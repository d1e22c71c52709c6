"""The command line: every bad input is one clear line and exit code 2, or a CONF finding;
never a traceback. Exit codes, ``python -m``, and colour only on a terminal."""
from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import IN_CI, as_nobody
from engine_stub import assert_no_traceback, json_report, one_line_error, stub_env


@pytest.fixture
def run(oomaudit):
    def run(*args, **kwargs):
        env = {**stub_env(), **kwargs.pop("env", {})}
        proc = oomaudit(*args, env=env, **kwargs)
        assert_no_traceback(proc)
        return proc
    return run


def findings(proc) -> list[tuple[str, str | None, int | None]]:
    return [(f["rule"], f["path"], f["line"]) for f in json_report(proc)["findings"]]


# -- bad command lines: one line, exit 2 ---------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["check", "nope.stub"], "nope.stub: no such file or directory"),
    (["check", "--ram", "8X", "."], "argument --ram: invalid size '8X'"),
    (["check", "--ram=-1G", "."], "argument --ram: invalid size '-1G'"),
    (["check", "--ram", "9" * 60 + "P", "."], "larger than 16 EiB"),
    (["check", "--swap", "lots", "."], "argument --swap: invalid size 'lots'"),
    (["check", "--fail-on", "urgent", "."], "argument --fail-on: unknown severity 'urgent'"),
    (["check", "--format", "xml", "."], "--format xml: unknown format (available: "),
    (["check", "--config", ".", "."], "--config .: not a file"),
    (["check", "--config", "missing.toml", "."], "--config missing.toml: no such file"),
    (["check", "-o", "no/such/dir/out.json", "."], "--output no/such/dir/out.json: "),
    (["frobnicate"], "argument COMMAND: invalid choice: 'frobnicate'"),
    (["check"], "the following arguments are required: PATH"),
    (["check", "--bogus", "."], "unrecognized arguments: --bogus"),
    (["explain", "NOPE"], "unknown rule 'NOPE'"),
    (["scan", "--root", "missing"], "--root missing: not a directory"),
    (["budget", "--root", ".", "a.stub"], "give either --root DIR or PATHs, not both"),
    (["check", "--ram", "0", "."], "argument --ram: RAM must be above 0"),
    (["check", "--select", "STUB,SWAPP", "."], "--select: SWAPP matches no rule"),
])
def test_bad_input_is_one_line_and_exit_2(run, tmp_path, args, message):
    (tmp_path / "a.stub").write_text("warn x\n")
    error = one_line_error(run(*args))
    assert message in error, error


def test_select_in_the_config_that_matches_no_rule_names_its_line(run, tmp_path):
    """A misspelt select would audit nothing and pass: an error, as ruff has it."""
    (tmp_path / "a.stub").write_text("warn x\n")
    (tmp_path / ".oomaudit.toml").write_text('fail-on = "low"\nselect = ["STUB", "HOTS"]\n')
    error = one_line_error(run("check", "a.stub"))
    assert f"{tmp_path / '.oomaudit.toml'}:2: HOTS matches no rule" in error, error


def test_ignore_that_matches_no_rule_is_a_notice(run, tmp_path):
    (tmp_path / "a.stub").write_text("warn x\n")
    (tmp_path / ".oomaudit.toml").write_text('[per-path-ignores]\n"x/**" = ["STUB9", "SWAP"]\n')
    proc = run("check", "--ignore", "STUB9,HOST", "--format", "json", "a.stub")
    assert json_report(proc)["notices"] == ["ignore pattern 'STUB9' matches no rule"]
    assert proc.returncode == 1  # the stub's warning still counts


def test_output_into_missing_folder_writes_nothing(run, tmp_path):
    (tmp_path / "a.stub").write_text("warn x\n")
    one_line_error(run("check", "a.stub", "-o", "missing/out.txt"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.stub"]


def test_output_to_a_fifo_writes_into_it_and_leaves_it_a_fifo(run, tmp_path):
    """``-o /dev/null`` once replaced the device with a regular file (as root): a special
    file is written to, never renamed over."""
    import stat
    import threading

    (tmp_path / "a.stub").write_text("warn x\n")
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    proc = run("check", "a.stub", "-o", "out.fifo", "--exit-zero")
    reader.join(timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert "STUB001" in received[0]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_output_through_a_symlink_keeps_the_link(run, tmp_path):
    (tmp_path / "a.stub").write_text("warn x\n")
    (tmp_path / "report.txt").write_text("old\n")
    (tmp_path / "latest").symlink_to("report.txt")
    run("check", "a.stub", "-o", "latest", "--exit-zero")
    assert (tmp_path / "latest").is_symlink()
    assert "STUB001" in (tmp_path / "report.txt").read_text()


def test_no_command_prints_help_and_exits_2(run):
    proc = run()
    assert proc.returncode == 2 and "usage: oomaudit" in proc.stderr


# -- bad files: a CONF finding (or a notice), the audit goes on ------------------------------

def test_binary_file_is_conf001(run, tmp_path):
    (tmp_path / "bin.stub").write_bytes(b"warn x\n\0\x01\x02" * 100)
    (tmp_path / "ok.stub").write_text("warn y\n")
    proc = run("check", "bin.stub", "ok.stub", "--format", "json")
    assert findings(proc) == [("CONF001", "bin.stub", None), ("STUB001", "ok.stub", 1)]
    (conf,) = [f for f in json_report(proc)["findings"] if f["rule"] == "CONF001"]
    assert "binary" in conf["message"]


def test_binary_file_of_no_known_type_is_a_notice(run, tmp_path):
    (tmp_path / "blob").write_bytes(b"\x7fELF\0\0\0" * 100)
    proc = run("check", "blob", "--format", "json")
    assert proc.returncode == 0 and findings(proc) == []
    assert json_report(proc)["notices"] == ["blob: not a config format oomaudit reads; skipped"]


def test_huge_file_is_conf003(run, tmp_path):
    with open(tmp_path / "huge.stub", "wb") as fh:  # sparse: costs no disk
        fh.truncate(17 << 20)
    proc = run("check", "huge.stub", "--format", "json")
    assert findings(proc) == [("CONF003", "huge.stub", None)]
    (finding,) = json_report(proc)["findings"]
    assert "larger than 16.0 MiB" in finding["message"]
    assert proc.returncode == 0  # CONF003 is info: the audit is partial, not failed


def test_non_utf8_file_is_read(run, tmp_path):
    (tmp_path / "latin1.stub").write_bytes(b"warn caf\xe9 cr\xe8me\n")
    proc = run("check", "latin1.stub", "--format", "json")
    (finding,) = json_report(proc)["findings"]
    assert finding["rule"] == "STUB001"
    assert finding["message"] == "stub warning: caf\ufffd cr\ufffdme"
    assert run("check", "latin1.stub").returncode == 1


def test_non_utf8_file_name(run, tmp_path):
    """A name that is not UTF-8 is shown with U+FFFD; JSON stays valid UTF-8, JUnit parses."""
    name = os.fsdecode(b"caf\xe9.stub")
    (tmp_path / name).write_text("warn x\n")
    proc = run("check", name, "--format", "json")
    (finding,) = json_report(proc)["findings"]
    assert finding["path"] == "caf\ufffd.stub"
    proc.stdout.encode("utf-8")  # no lone surrogates
    junit = run("check", name, "--format", "junit")
    assert junit.returncode == 1 and 'file="caf\ufffd.stub"' in junit.stdout
    text = run("check", name)
    assert text.returncode == 1 and "caf\ufffd.stub:1: STUB001" in text.stdout


def test_empty_file(run, tmp_path):
    (tmp_path / "empty.stub").write_text("")
    (tmp_path / "empty").write_text("")
    proc = run("check", "empty.stub", "empty", "--format", "json")
    assert proc.returncode == 0 and findings(proc) == []


def test_empty_folder(run, tmp_path):
    (tmp_path / "nothing").mkdir()
    proc = run("check", "nothing", "--format", "json")
    assert proc.returncode == 0 and findings(proc) == []
    assert len(json_report(proc)["hosts"]) == 1


def test_dangling_symlink_is_conf003(run, tmp_path):
    (tmp_path / "gone.stub").symlink_to(tmp_path / "missing.stub")
    proc = run("check", "gone.stub", "--format", "json")
    assert findings(proc) == [("CONF003", "gone.stub", None)]


def test_symlink_loop_given_as_a_target_is_conf003(run, tmp_path):
    (tmp_path / "a.stub").symlink_to(tmp_path / "b.stub")
    (tmp_path / "b.stub").symlink_to(tmp_path / "a.stub")
    # per-path ignores make the engine resolve every finding's path, the loop's too
    (tmp_path / ".oomaudit.toml").write_text('[per-path-ignores]\n"x/**" = ["STUB"]\n')
    proc = run("check", "a.stub", "--format", "json")
    report = json_report(proc)
    assert [(f["rule"], f["path"]) for f in report["findings"]] == [("CONF003", "a.stub")]
    assert "symbolic links" in report["findings"][0]["message"]


def test_fifo_is_not_read(tmp_path):
    """open() of a FIFO blocks until someone writes: the audit must not hang on one."""
    os.mkfifo(tmp_path / "pipe.stub")
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "repo").mkdir()
    os.mkfifo(tmp_path / "repo" / "sniffed")
    proc = subprocess.run([sys.executable, "-m", "oomaudit", "check", "pipe.stub", "pipe", "repo",
                           "--format", "json"], cwd=tmp_path, env={**os.environ, **stub_env()},
                          capture_output=True, text=True, timeout=30)
    report = json_report(proc)
    (finding,) = report["findings"]
    assert (finding["rule"], finding["path"]) == ("CONF003", "pipe.stub")
    assert "not a regular file" in finding["message"]
    assert report["notices"] == ["pipe: not a config format oomaudit reads; skipped"]


# -- unreadable files: run as an unprivileged user (root reads everything) -----------------

def run_unprivileged(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **stub_env(), "NO_COLOR": "1", "HOME": str(folder)}
    probe = subprocess.run([*as_nobody(), sys.executable, "-c", "import oomaudit"], cwd=folder,
                           env=env, capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:  # e.g. a Python (or its libpython) under root's 0700 home
        (pytest.fail if IN_CI else pytest.skip)(
            f"the unprivileged user cannot run this Python: {probe.stderr.strip()}")
    proc = subprocess.run([*as_nobody(), sys.executable, "-m", "oomaudit", *args], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=120)
    assert_no_traceback(proc)
    return proc


def test_unreadable_file_is_conf003(world_dir):
    secret = world_dir / "secret.stub"
    secret.write_text("warn x\n")
    secret.chmod(0o000)
    (world_dir / "ok.stub").write_text("warn y\n")
    (world_dir / "ok.stub").chmod(0o644)
    proc = run_unprivileged(world_dir, "check", "secret.stub", "ok.stub", "--format", "json")
    report = json_report(proc)
    assert [(f["rule"], f["path"]) for f in report["findings"]] == [
        ("STUB001", "ok.stub"), ("CONF003", "secret.stub")]
    assert "permission denied" in report["findings"][1]["message"]
    assert proc.returncode == 1


def test_unreadable_file_found_by_content_is_conf003(world_dir):
    """Named on the command line, of no known name: it cannot be sniffed, and we say so."""
    secret = world_dir / "secret.conf"
    secret.write_text("#!stub\nwarn x\n")
    secret.chmod(0o000)
    report = json_report(run_unprivileged(world_dir, "check", "secret.conf", "--format", "json"))
    assert [(f["rule"], f["path"]) for f in report["findings"]] == [("CONF003", "secret.conf")]


def test_unreadable_folder_is_conf003_not_silence(world_dir):
    (world_dir / "repo" / "private").mkdir(parents=True)
    (world_dir / "repo").chmod(0o755)
    (world_dir / "repo" / "private" / "a.stub").write_text("warn x\n")
    (world_dir / "repo" / "private").chmod(0o700)
    (world_dir / "repo" / "b.stub").write_text("warn y\n")
    (world_dir / "repo" / "b.stub").chmod(0o644)
    proc = run_unprivileged(world_dir, "check", "repo", "--format", "json")
    report = json_report(proc)
    assert sorted((f["rule"], f["path"]) for f in report["findings"]) == [
        ("CONF003", "repo/private"), ("STUB001", "repo/b.stub")]


def test_scan_without_root_rights_names_what_it_could_not_read(world_dir):
    """A periodic scan run as an ordinary user: PostgreSQL's data directory is 0700, so its
    postgresql.auto.conf is a CONF003 ("run as root"), not a plugin crash."""
    etc = world_dir / "root" / "etc" / "postgresql" / "15" / "main"
    data = world_dir / "root" / "var" / "lib" / "postgresql" / "15" / "main"
    etc.mkdir(parents=True)
    data.mkdir(parents=True)
    (etc / "postgresql.conf").write_text(
        "data_directory = '/var/lib/postgresql/15/main'\nshared_buffers = 1GB\n")
    (data / "postgresql.auto.conf").write_text("work_mem = '64MB'\n")
    for folder, _dirs, files in os.walk(world_dir / "root"):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    data.chmod(0o700)
    proc = run_unprivileged(world_dir, "scan", "--root", "root", "--ram", "8G", "--format",
                            "json")
    report = json_report(proc)
    assert report["errors"] == []
    (unread,) = [f for f in report["findings"] if f["rule"] == "CONF003"]
    assert unread["path"].endswith("var/lib/postgresql/15/main/postgresql.auto.conf")
    assert "permission denied" in unread["message"] and "run as root" in unread["message"]


def test_tree_with_folders_only_root_may_enter_is_a_partial_audit_not_an_error(world_dir):
    """A mounted image audited as an ordinary user: what sits behind 0700 folders is named
    once (CONF003) and the rules that needed it say they were skipped; no plugin error."""
    root = world_dir / "image"
    for folder in ("etc/mysql", "etc/sysctl.d", "var/log"):
        (root / folder).mkdir(parents=True)
    (root / "etc/mysql/my.cnf").write_text("[mysqld]\ninnodb_buffer_pool_size = 6G\n")
    (root / "etc/sysctl.d/90-oom.conf").write_text("vm.overcommit_memory = 2\n")
    (root / "etc/fstab").write_text("/swapfile none swap sw 0 0\n")
    for folder, _dirs, files in os.walk(root):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    for folder in ("etc/mysql", "etc/sysctl.d"):
        (root / folder).chmod(0o700)
    proc = run_unprivileged(world_dir, "scan", "--root", "image", "--ram", "8G", "--format",
                            "json")
    report = json_report(proc)
    assert report["errors"] == [] and proc.returncode in (0, 1)
    unread = sorted(f["path"] for f in report["findings"] if f["rule"] == "CONF003")
    assert unread == ["image/etc/mysql/my.cnf", "image/etc/sysctl.d"], unread
    skipped = {r["rule"]: r["detail"] for r in report["rules"] if r["status"] == "skipped"}
    assert "could not read image/etc/mysql/my.cnf (permission denied" in skipped["MYSQL001"]
    # a folder the audit could not list skips the rules of the files it would hold
    assert "could not read image/etc/sysctl.d (permission denied" in skipped["SYSCTL003"]
    assert "SWAP001" not in skipped  # what could be read was still audited


# -- exit codes ----------------------------------------------------------------------------

@pytest.mark.parametrize("text, args, code", [
    ("consumer db 1G\n", [], 0),
    ("warn x\n", [], 1),
    ("warn x\n", ["--fail-on", "medium"], 1),
    ("warn x\n", ["--fail-on", "high"], 0),
    ("warn x\n", ["--exit-zero"], 0),
    ("warn x\n", ["--ignore", "STUB"], 0),
    ("crash\n", [], 2),
    ("crash\n", ["--exit-zero"], 2),  # an error is never hidden
])
def test_exit_codes(run, tmp_path, text, args, code):
    (tmp_path / "a.stub").write_text(text)
    proc = run("check", "a.stub", *args)
    assert proc.returncode == code
    assert proc.stdout.rstrip().endswith(f"(exit {code})")


def test_python_dash_m_and_console_script(run, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "oomaudit", "--version"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("oomaudit ")
    script = Path(sys.executable).with_name("oomaudit")
    if script.exists():
        proc2 = subprocess.run([str(script), "--version"], capture_output=True, text=True)
        assert proc2.stdout == proc.stdout


def test_explain_is_case_insensitive(run):
    proc = run("explain", "host002")
    assert proc.returncode == 0 and proc.stdout.startswith("HOST002: ")


# -- colour: only on a terminal, NO_COLOR and --no-color respected -------------------------

def run_on_tty(cwd: Path, args: list[str], env: dict[str, str]) -> str:
    """Run the CLI with a pseudo-terminal as stdout; return what it printed."""
    controller, terminal = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "oomaudit", *args], cwd=cwd, env=env,
                            stdout=terminal, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    os.close(terminal)
    chunks = []
    while True:
        ready, _, _ = select.select([controller], [], [], 30)
        if not ready:
            break
        try:
            data = os.read(controller, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(controller)
    proc.wait(timeout=30)
    assert b"Traceback" not in proc.stderr.read()
    return b"".join(chunks).decode()


@pytest.fixture
def tty(tmp_path):
    (tmp_path / "a.stub").write_text("warn x\n")
    base = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    base.update(stub_env())

    def tty(*args: str, **env: str) -> str:
        return run_on_tty(tmp_path, ["check", "a.stub", *args], {**base, **env})
    return tty


def test_colour_on_a_terminal(tty):
    out = tty()
    assert "\x1b[" in out and "STUB001" in out


def test_empty_no_color_does_not_count(tty):
    assert "\x1b[" in tty(NO_COLOR="")  # no-color.org: only a non-empty value disables


@pytest.mark.parametrize("args, env", [
    ([], {"NO_COLOR": "1"}), (["--no-color"], {}), (["-o", "report.txt"], {}),
], ids=["NO_COLOR", "--no-color", "--output"])
def test_no_colour_when_asked_or_not_to_a_terminal(tty, args, env):
    out = tty(*args, **env)
    assert "\x1b" not in out


def test_no_colour_in_a_pipe(tmp_path):
    (tmp_path / "a.stub").write_text("warn x\n")
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    proc = subprocess.run([sys.executable, "-m", "oomaudit", "check", "a.stub"], cwd=tmp_path,
                          env={**env, **stub_env()}, capture_output=True, text=True)
    assert proc.returncode == 1 and "STUB001" in proc.stdout and "\x1b" not in proc.stdout


def test_colour_never_in_json(tty):
    out = tty("--format", "json")
    assert "\x1b" not in out and '"schema_version"' in out


def test_a_folder_of_a_named_files_host_that_cannot_be_listed_is_its_conf003(world_dir):
    """A file named on the command line brings the rest of its ``each`` host; a folder of
    that host the audit may not list is that host's CONF003, as in ``check .``, not a host
    judged whole on half its files without a word."""
    repo = world_dir / "repo"
    for path, text in ((".oomaudit.toml", '[[hosts]]\neach = "hosts/*"\nram = "4GiB"\n'),
                       ("hosts/a/x.stub", "warn x\n"), ("hosts/a/private/y.stub", "warn y\n"),
                       ("hosts/b/z.stub", "warn z\n")):
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    for folder in (repo, repo / "hosts", repo / "hosts/a", repo / "hosts/b"):
        folder.chmod(0o755)
    for path in repo.rglob("*.*"):
        path.chmod(0o644)
    (repo / "hosts/a/private").chmod(0o700)
    named = json_report(run_unprivileged(repo, "check", "hosts/a/x.stub", "--format", "json"))
    whole = json_report(run_unprivileged(repo, "check", ".", "--format", "json"))
    found = [(f["host"], f["rule"], f["path"]) for f in named["findings"]]
    assert found == [("hosts/a", "CONF003", "hosts/a/private"),
                     ("hosts/a", "STUB001", "hosts/a/x.stub")]
    assert found == [(f["host"], f["rule"], f["path"]) for f in whole["findings"]
                     if f["host"] == "hosts/a"]
