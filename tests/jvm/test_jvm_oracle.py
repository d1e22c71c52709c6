"""The JVM's own MaxHeapSize against ours: ``java FLAGS -XX:MaxRAM=RAM -XX:+PrintFlagsFinal
-version`` (Debian's openjdk-17-jre-headless) over generated flag sets, with the RAM fixed
by -XX:MaxRAM. Ours is before the collector's alignment: the JVM's may be above it by at
most one G1 region or the card table's 2 MiB (a 2048th of the heap rounded up to a power of
two, 2-32 MiB)."""
from __future__ import annotations

import subprocess
import tempfile

import pytest
from conftest import need_program
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from oomaudit.plugins.jvm.heap import Word, max_heap, read_options

MIB, GIB = 1 << 20, 1 << 30


@pytest.fixture(scope="module")
def java() -> str:
    return need_program("java", "the JVM is the oracle for MaxHeapSize")


def jvm_max_heap(java: str, flags: list[str], ram: int) -> int | None:
    """MaxHeapSize as the JVM reports it; None when it refuses the flags. It runs in a
    temporary folder: a JVM that fails to start writes hs_err_pid*.log where it runs."""
    with tempfile.TemporaryDirectory() as folder:
        proc = subprocess.run([java, *flags, f"-XX:MaxRAM={ram}", "-XX:+PrintFlagsFinal",
                               "-version"], capture_output=True, text=True, timeout=60,
                              cwd=folder)
    if proc.returncode != 0:
        return None
    [line] = [x for x in proc.stdout.splitlines() if " MaxHeapSize " in x]
    return int(line.split("=")[1].split()[0])


def ours(flags: list[str], ram: int) -> int:
    words = [Word(f, "test") for f in flags] + [Word(f"-XX:MaxRAM={ram}", "test")]
    return max_heap(read_options(words), ram).bytes


def agrees(java_heap: int, our_heap: int) -> bool:
    region = min(max(1 << max(our_heap // 2048 - 1, 1).bit_length(), 2 * MIB), 32 * MIB)
    return 0 <= java_heap - our_heap <= region


SIZE = st.builds(lambda n, unit: f"{n}{unit}", st.integers(1, 4096),
                 st.sampled_from(["m", "M", "g", "G"])).filter(
    lambda s: s[-1] in "gG" and int(s[:-1]) <= 64 or s[-1] in "mM" and int(s[:-1]) >= 8)
FLAG = st.one_of(
    st.builds(lambda s: f"-Xmx{s}", SIZE),
    st.builds(lambda s: f"-XX:MaxHeapSize={s}", SIZE),
    # -Xms commits that much at start: small, so the test never asks this machine for more
    st.builds(lambda n: f"-Xms{n}m", st.integers(8, 512)),
    st.builds(lambda p: f"-XX:MaxRAMPercentage={p}", st.integers(1, 100)),
    st.builds(lambda p: f"-XX:MaxRAMPercentage={p}.5", st.integers(1, 90)),
    st.builds(lambda p: f"-XX:MinRAMPercentage={p}", st.integers(1, 100)),
    st.builds(lambda n: f"-XX:MaxRAMFraction={n}", st.integers(1, 16)),
    st.builds(lambda n: f"-XX:MinRAMFraction={n}", st.integers(1, 16)),
    st.sampled_from(["-XX:+UseContainerSupport", "-XX:-UseContainerSupport"]),
)
RAM = st.sampled_from([64 * MIB, 200 * MIB, 512 * MIB, GIB, 3 * GIB, 4 * GIB, 7 * GIB + 3,
                       16 * GIB, 64 * GIB])  # the JVM commits 1/64 of it as initial heap


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flags=st.lists(FLAG, max_size=4), ram=RAM)
def test_max_heap_agrees_with_the_jvm(java, flags, ram):
    reported = jvm_max_heap(java, flags, ram)
    assume(reported is not None)  # the JVM refused the set (-Xms above -Xmx, ...)
    assert agrees(reported, ours(flags, ram)), (flags, ram, reported, ours(flags, ram))


@pytest.mark.parametrize("ram", [128 * MIB, 256 * MIB, GIB, 2 * GIB, 4 * GIB, 8 * GIB,
                                 32 * GIB, 96 * GIB])
def test_the_default_heap_agrees_with_the_jvm(java, ram):
    """Debian's java without options: a quarter of RAM, half of a small machine's."""
    assert agrees(jvm_max_heap(java, [], ram), ours([], ram))


def test_the_last_heap_flag_wins_and_the_earlier_ones_are_kept(java):
    flags = ["-Xmx4g", "-XX:MaxHeapSize=3g", "-Xmx512m"]
    options = read_options([Word(f, f"line {i}") for i, f in enumerate(flags, 1)])
    assert [w.where for w in options.repeated] == ["line 1", "line 2"]
    assert jvm_max_heap(java, flags, 8 * GIB) == ours(flags, 8 * GIB) == 512 * MIB
