"""A real httpd on this machine (prefork, 127.0.0.1 on a free port, everything it writes in
tmp_path), stopped after the test: the live scan finds it by its -d/-f, and the memory per
process comes from its children's RSS."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import need_program

MODULES = "/usr/lib/apache2/modules"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> set[int]:
    import psutil
    return {c.pid for c in psutil.Process(pid).children()}


@pytest.fixture
def running_httpd(tmp_path):
    apache2 = need_program("apache2", "a live httpd for the per-process measurement")
    user = "www-data" if os.geteuid() == 0 else f"#{os.geteuid()}"
    (tmp_path / "htdocs").mkdir()
    config = tmp_path / "httpd.conf"
    config.write_text(
        f"LoadModule mpm_prefork_module {MODULES}/mod_mpm_prefork.so\n"
        f"Listen 127.0.0.1:{_free_port()}\nServerName localhost\n"
        f"PidFile {tmp_path}/httpd.pid\nErrorLog {tmp_path}/error.log\n"
        f"DefaultRuntimeDir {tmp_path}\nDocumentRoot {tmp_path}/htdocs\n"
        f"User {user}\nGroup #{os.getegid()}\n"
        "<IfModule mpm_prefork_module>\n    StartServers 3\n    MinSpareServers 3\n"
        "    ServerLimit 400\n    MaxRequestWorkers 400\n</IfModule>\n")
    started = subprocess.run([apache2, "-d", str(tmp_path), "-f", str(config), "-k", "start"],
                             capture_output=True, text=True, timeout=30,
                             env={"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/bin")})
    assert started.returncode == 0, started.stderr
    pidfile = tmp_path / "httpd.pid"
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if pidfile.is_file() and pidfile.read_text().strip() and \
                    len(_children(int(pidfile.read_text()))) >= 3:
                break
            time.sleep(0.1)
        parent = int(pidfile.read_text())
        yield parent, _children(parent)
    finally:
        if pidfile.is_file() and pidfile.read_text().strip():
            parent = int(pidfile.read_text())
            os.kill(parent, signal.SIGTERM)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and Path(f"/proc/{parent}").exists():
                time.sleep(0.1)


def test_live_children_give_the_per_process_size(running_httpd):
    parent, children = running_httpd
    assert len(children) >= 3
    proc = subprocess.run([sys.executable, "-m", "oomaudit", "scan", "--ram", "2G",
                           "--format", "json", "--select", "HTTPD"],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    [host] = report["hosts"]
    ours = [c for c in host["ledger"] if c["service"] == "apache"
            and "live children" in c["how"]]
    assert len(ours) == 1, host["ledger"]
    how = ours[0]["how"]
    assert "400 children (MaxRequestWorkers 400)" in how
    measured = int(how.split("(pid ")[1].split(";")[0])
    assert measured in children  # the largest child, never the parent
    import psutil
    largest = max(psutil.Process(p).memory_info().rss for p in children)
    assert ours[0]["bytes"] == pytest.approx(400 * largest, rel=0.5)
