"""A hostile value is quoted by its start and its length, never whole: a 5,000-digit number
or a 4,000-character word reaches a finding's message and evidence as
``'99999...' (5,000 characters)`` in every reader, through the one bound every Finding
applies (oomaudit/excerpts.py)."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oomaudit import Evidence, Finding
from oomaudit.excerpts import LONGEST, SHOWN, bounded, excerpt

BIG = "9" * 5000
WORD = "a" * 4000
FILES = {
    "sysctl.conf": f"vm.overcommit_memory = {BIG}\n",
    "my.cnf": f"[mysqld]\ninnodb_buffer_pool_size = {BIG}\n",
    "postgresql.conf": f"shared_buffers = {BIG}\nwork_mem = '{WORD} b'\n",
    "redis.conf": f"maxmemory {BIG}\n",
    "a.service": f"[Service]\nExecStart=/usr/sbin/mysqld\nMemoryMax={BIG}\nMemoryHigh={WORD}\n",
    "compose.yaml": f"services:\n  a:\n    image: x\n    mem_limit: {BIG}g\n",
    "mongod.conf": f"storage:\n  wiredTiger:\n    engineConfig:\n      cacheSizeGB: {WORD}\n",
    "earlyoom": f'EARLYOOM_ARGS="-m {BIG}"\n',
}
LONG_RUN = re.compile(rf"[9a]{{{SHOWN + 1},}}")


@pytest.mark.parametrize("name", list(FILES))
def test_a_long_value_is_quoted_by_its_start_and_length(tmp_path, name):
    (tmp_path / name).write_text(FILES[name])
    done = subprocess.run([sys.executable, "-m", "oomaudit", "check", "--ram", "8G", "--format",
                           "json", str(tmp_path)], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert done.returncode in (0, 1), done.stderr
    findings = json.loads(done.stdout)["findings"]
    assert findings
    for f in findings:
        for text in (f["message"], *(e["what"] for e in f["evidence"])):
            assert not LONG_RUN.search(text), (name, text[:300])
            assert len(text) < 1000, (name, text[:300])
    if name == "sysctl.conf":
        assert findings[0]["message"].startswith(
            f"the kernel rejects '{BIG[:SHOWN]}...' (5,000 characters) for vm.overcommit_memory")


def test_a_finding_bounds_its_message_and_evidence_and_keeps_its_fix():
    found = Finding("CONF001", f"the kernel rejects {BIG!r} for vm.x", "a.conf", 1,
                    [Evidence(f"vm.x = {BIG}", "a.conf:1")], fix=f"vm.x = {BIG}")
    assert found.message == f"the kernel rejects '{BIG[:SHOWN]}...' (5,000 characters) for vm.x"
    assert found.evidence == [Evidence(f"vm.x = {BIG[:SHOWN]}... (5,000 characters)", "a.conf:1")]
    assert found.fix == f"vm.x = {BIG}"  # pasted by an operator: whole


def test_prose_and_ordinary_values_are_left_as_they_are():
    message = ("pool www: pm.max_children 400 x 544.0 MiB per child (memory_limit + base) = "
               "212.5 GiB, more than the 2.0 GiB of RAM left for PHP-FPM; the server's "
               "'/etc/php/8.2/fpm/pool.d/www.conf' is read, as php-fpm's own reading does")
    assert bounded(message * 3) == message * 3


@given(st.text(alphabet=st.sampled_from("ab9 '\",.\\\n"), max_size=1200))
def test_bounded_leaves_no_long_word_and_names_each_length(text):
    out = bounded(text)
    if len(text) <= LONGEST:
        assert out == text
    for word in out.split():
        assert len(word) < LONGEST + SHOWN, word
    assert bounded(out) == bounded(out)  # no exception, whatever the text
    for n in re.findall(r"\(([\d,]+) characters\)", out):
        assert int(n.replace(",", "")) >= LONGEST


def test_excerpt_says_how_long_the_value_was():
    assert excerpt("short") == "short"
    assert excerpt("x" * 70) == "x" * SHOWN + "... (70 characters)"
