"""Numbers of any length or exponent in any reader's file: a value out of range (a CONF001
naming the setting where the program refuses it), never an exception that loses a plugin's
findings. Each case runs the real CLI on a tmp_path tree, with a hang guard."""
from __future__ import annotations

import subprocess
import sys

import pytest

BIG = "9" * 5000  # past Python's 4300-digit limit for int(str)
POD = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers:\n  - name: a\n"
       "    image: x\n    resources:\n      limits:\n        memory: {}\n")
FPM = "[www]\nlisten = /run/a.sock\npm = static\npm.max_children = {}\n"

CASES = {
    "pg": ({"postgresql.conf": f"shared_buffers = {BIG}\nwork_mem = '1e400kB'\n"},
           ['parameter "shared_buffers"', 'parameter "work_mem"']),
    "pg hex": ({"postgresql.conf": f"max_connections = 0x{'f' * 5000}\n"},
               ['parameter "max_connections"']),
    "redis": ({"redis.conf": f"maxmemory 1e400\nsave {BIG} 1\n"}, ["redis.conf:1"]),
    "sysctl": ({"sysctl.conf": f"vm.overcommit_ratio = 1e400\nvm.min_free_kbytes = {BIG}\n"},
               ["vm.overcommit_ratio"]),
    "systemd": ({"a.service": f"[Service]\nExecStart=/usr/sbin/mysqld\nMemoryMax={BIG}\n"
                              f"MemoryHigh=1e400\nOOMScoreAdjust={BIG}\n"},
                ["a.service:3", "a.service:4"]),
    "php-fpm": ({"php-fpm.conf": FPM.format(BIG)}, ["pm.max_children"]),
    "php-fpm float": ({"php-fpm.conf": FPM.format("1e400")}, ["pm.max_children"]),
    "php.ini": ({"php.ini": f"memory_limit = {BIG}M\n", "php-fpm.conf": FPM.format(5)}, []),
    "compose": ({"compose.yaml": f"services:\n  a:\n    image: x\n    mem_limit: {BIG}g\n"},
                ["mem_limit"]),
    "compose float": ({"compose.yaml": "services:\n  a:\n    image: x\n    mem_limit: 1e400\n"},
                      ["mem_limit"]),
    "kube": ({"pod.yaml": POD.format(f"{BIG}Gi")}, []),
    "kube exponent": ({"pod.yaml": POD.format(f"{BIG}e{BIG}")}, ["pod.yaml:11"]),
    "kube fraction": ({"pod.yaml": POD.format(f"0.{BIG}")}, []),
    "memcached": ({"memcached.conf": f"-m {BIG}\n-c {BIG}\n"}, []),
    "jvm.options": ({"jvm.options": f"-Xmx{BIG}g\n{BIG}-:-Xms1g\n"}, ["jvm.options:2"]),
    "mysql": ({"my.cnf": f"[mysqld]\nkey_buffer_size = {BIG}\nmax_connections={BIG}\n"}, []),
    "mongod": ({"mongod.conf": "storage:\n  wiredTiger:\n    engineConfig:\n"
                               "      cacheSizeGB: 1e400\n"}, ["cacheSizeGB"]),
    "mongod nan": ({"mongod.conf": "storage:\n  wiredTiger:\n    engineConfig:\n"
                                   "      cacheSizeGB: .nan\n"}, ["cacheSizeGB"]),
    "earlyoom": ({"earlyoom": f'EARLYOOM_ARGS="-m {BIG} -s 1e400"\n'}, ["EARLYOOM_ARGS"]),
    "nohang": ({"nohang.conf": f"@BADNESS_ADJ_RE_NAME {BIG} /// a\n"}, []),
}


def check(tmp_path, files: dict[str, str]) -> subprocess.CompletedProcess:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return subprocess.run([sys.executable, "-m", "oomaudit", "check", "--no-color", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)


@pytest.mark.parametrize("case", list(CASES))
def test_huge_numbers_are_values_out_of_range_never_exceptions(tmp_path, case):
    files, named = CASES[case]
    done = check(tmp_path, files)
    assert done.returncode in (0, 1), done.stderr
    assert "error" not in done.stderr.lower(), done.stderr  # no plugin, reader or rule failed
    conf = [line for line in done.stdout.splitlines() if "CONF001" in line]
    for what in named:
        assert any(what in line for line in conf), (what, done.stdout[:3000])
