"""jvm.options read as Elasticsearch's launcher (JvmOptionsParser) reads it: comments,
blank lines, version-range prefixes, and the lines it refuses (CONF001). No Debian package
ships Elasticsearch or OpenSearch, so these cases follow the launcher's source and docs."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oomaudit.parsers import jvmoptions
from oomaudit.reading import Source


def parse(text: str):
    source = Source(Path("jvm.options"), "jvm.options", text)
    return jvmoptions.parse(source), source


def in_force(text: str, major: int) -> list[str]:
    return [o.text for o in parse(text)[0].options if o.applies(major)]


def test_comments_blank_lines_and_options():
    text = "## heap\n\n   \t\n-Xms1g\n# -Xmx8g\n-Xmx1g\n"
    doc, source = parse(text)
    assert [(o.text, o.line) for o in doc.options] == [("-Xms1g", 4), ("-Xmx1g", 6)]
    assert source.problems == []


@pytest.mark.parametrize("major, expected", [
    (8, ["-Xmx1g", "-Xmx8only"]),
    (11, ["-Xmx1g", "-Xmx9to17", "-Xmx9plus"]),
    (17, ["-Xmx1g", "-Xmx9to17", "-Xmx9plus", "-Xmx17plus"]),
    (21, ["-Xmx1g", "-Xmx9plus", "-Xmx17plus"]),
])
def test_version_ranges_apply_by_the_jvm_major(major, expected):
    text = "-Xmx1g\n8:-Xmx8only\n9-17:-Xmx9to17\n9-:-Xmx9plus\n17-:-Xmx17plus\n"
    assert in_force(text, major) == expected


@pytest.mark.parametrize("line", [
    "Xmx1g",  # no leading dash
    " -Xmx1g",  # a leading blank: the pattern starts at the first character
    " # comment",  # a comment only when # is the first character
    "17-9:-Xmx1g",  # upper bound below the lower one
    "99999999999:-Xmx1g",  # above Integer.MAX_VALUE
    "17:",  # a prefix with no option
    "-Xmx1g\u2028",  # Java's . stops at a line separator
    "\u0661\u0667:-Xmx1g",  # Java's \d is ASCII only
])
def test_lines_the_launcher_refuses_are_conf001(line):
    doc, source = parse(f"-Xms1g\n{line}\n")
    assert [o.text for o in doc.options] == ["-Xms1g"]
    assert [(p.rule, p.line) for p in source.problems] == [("CONF001", 2)]


def test_lines_split_as_java_readline_splits_them():
    doc, _ = parse("-Xms1g\r-Xmx2g\r\n-Xss1m\x0b\n")
    assert [(o.text, o.line) for o in doc.options] == [
        ("-Xms1g", 1), ("-Xmx2g", 2), ("-Xss1m\x0b", 3)]


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("-Xmsxg0123456789:# \t\r\n\u2028\x85a"), max_size=80))
def test_any_text_gives_options_or_conf001_never_a_traceback(text):
    doc, source = parse(text)
    for option in doc.options:
        assert option.text.startswith("-") and option.low <= option.high
    assert all(p.rule == "CONF001" for p in source.problems)
