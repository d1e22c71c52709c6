"""A node's heap against the JVM's: jvm.options and jvm.options.d files generated with
version-range lines, read as the launcher reads them for the installed JVM's major, and
the options in force handed to ``java -XX:+PrintFlagsFinal -version`` (Debian's
openjdk-17-jre-headless) with the RAM fixed by -XX:MaxRAM. The launcher itself is not
packaged by Debian: the syntax is held to its documented behaviour in
test_jvmoptions_parser.py; here the JVM judges what the lines in force add up to. Ours is
before the collector's alignment: the JVM's may be above it by at most a G1 region."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from conftest import need_program
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oomaudit.plugins.elasticsearch.constants import OPENSEARCH
from oomaudit.plugins.elasticsearch.heap import heap
from oomaudit.plugins.jvm.heap import Word

from oomaudit.parsers import jvmoptions
from oomaudit.reading import Source

MIB, GIB = 1 << 20, 1 << 30
RAM = 8 * GIB


@pytest.fixture(scope="module")
def java() -> tuple[str, int]:
    """The java program and its major version."""
    program = need_program("java", "the JVM is the oracle for the heap of jvm.options")
    out = subprocess.run([program, "-XshowSettings:properties", "-version"],
                         capture_output=True, text=True, timeout=60).stderr
    return program, int(re.search(r"java\.specification\.version = (\d+)", out).group(1))


def jvm_max_heap(program: str, flags: list[str]) -> int | None:
    proc = subprocess.run([program, *flags, f"-XX:MaxRAM={RAM}", "-XX:+PrintFlagsFinal",
                           "-version"], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        return None
    [line] = [x for x in proc.stdout.splitlines() if " MaxHeapSize " in x]
    return int(line.split("=")[1].split()[0])


def in_force(files: dict[str, str], major: int) -> list[Word]:
    """jvm.options, then jvm.options.d/*.options by name, each line for ``major``."""
    words = []
    for name in sorted(files, key=lambda n: (n != "jvm.options", n)):
        doc = jvmoptions.parse(Source(Path(name), name, files[name]))
        words += [Word(o.text, f"{name}:{o.line}") for o in doc.options if o.applies(major)]
    return words


SIZE = st.builds(lambda n, unit: f"{n}{unit}", st.integers(64, 6144), st.just("m")) | \
    st.builds(lambda n: f"{n}g", st.integers(1, 6))
OPTION = st.one_of(st.builds(lambda s: f"-Xmx{s}", SIZE), st.builds(lambda s: f"-Xms{s}", SIZE),
                   st.builds(lambda p: f"-XX:MaxRAMPercentage={p}", st.integers(5, 90)),
                   st.sampled_from(["-XX:+UseG1GC", "-Xss1m", "-XX:+AlwaysPreTouch"]))
PREFIX = st.sampled_from(["", "8:", "11-:", "17-:", "9-16:", "17:", "18-:", "21-:"])
LINE = st.one_of(st.builds(lambda p, o: p + o, PREFIX, OPTION),
                 st.sampled_from(["# -Xmx31g", "", "## heap"]))
FILE = st.lists(LINE, max_size=5).map(lambda lines: "\n".join(lines) + "\n")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(main=FILE, extra=st.dictionaries(st.sampled_from(["10-a.options", "2-b.options",
                                                           "heap.options"]), FILE, max_size=2))
def test_the_heap_of_the_lines_in_force_is_the_jvms(java, main, extra):
    program, major = java
    files = {"jvm.options": main, **{f"jvm.options.d/{k}": v for k, v in extra.items()}}
    words = in_force(files, major)
    expected = jvm_max_heap(program, [w.text for w in words])
    if expected is None:  # e.g. -Xms above -Xmx: the JVM refuses to start
        return
    ours = heap(words, OPENSEARCH, RAM).bytes  # the launcher adds nothing: no automatic heap
    assert 0 <= expected - ours <= 32 * MIB, (words, expected, ours)


def test_the_debian_jvm_agrees_on_a_shipped_opensearch_file(java):
    program, major = java
    text = (Path(__file__).parent / "fixtures/stock/etc/opensearch/jvm.options").read_text()
    words = in_force({"jvm.options": text}, major)
    # every line in force but the GC log, whose folder this machine lacks
    flags = [w.text for w in words if not w.text.startswith("-Xlog:")]
    assert jvm_max_heap(program, flags) == heap(words, OPENSEARCH, RAM).bytes == GIB
