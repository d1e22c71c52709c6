"""A real php-fpm master with a static pool of two children, for the tests that measure one
(tests/phpfpm/test_fpm_live.py, tests/facts/test_facts.py): the fixture ``running_pool``,
registered for every test by tests/conftest.py."""
from __future__ import annotations

import os
import signal
import subprocess
import time

import psutil
import pytest
from conftest import need_program


@pytest.fixture
def running_pool(tmp_path):
    program = need_program("php-fpm8.2", "a live PHP-FPM pool for the per-child measurement")
    user = "user = nobody\n" if os.geteuid() == 0 else ""
    config = tmp_path / "php-fpm.conf"
    config.write_text(
        f"[global]\npid = {tmp_path}/fpm.pid\nerror_log = {tmp_path}/fpm.log\n"
        f"[oomtest]\n{user}listen = {tmp_path}/fpm.sock\npm = static\npm.max_children = 2\n"
        "php_admin_value[memory_limit] = 512M\npm.max_requests = 100\n")
    proc = subprocess.Popen([program, "-F", "-y", str(config), "-p", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            children = [c for c in psutil.Process(proc.pid).children()
                        if "pool oomtest" in " ".join(c.cmdline())]
            if len(children) == 2:
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"php-fpm did not start 2 workers: {(tmp_path / 'fpm.log').read_text()}")
        yield config, sorted(c.pid for c in children)
    finally:
        proc.send_signal(signal.SIGQUIT)  # graceful stop: the master ends its workers
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
