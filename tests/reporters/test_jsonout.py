"""oomaudit.jsonout.dumps writes a report chunk by chunk into one buffer (a fleet's report
of 130,000 rule runs held more memory in json.dumps's list of chunks than in itself): the
text is json.dumps's, indented, made printable, ending with a newline."""
from __future__ import annotations

import json
import re

from conftest import REPO
from hypothesis import given
from hypothesis import strategies as st

from oomaudit.host import printable
from oomaudit.jsonout import dumps, encode

SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
DOCUMENTS = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                         max_leaves=30)


@given(DOCUMENTS)
def test_dumps_writes_what_json_dumps_writes(document):
    expected = printable(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"
    assert dumps(document) == expected


def test_dumps_of_a_report_is_strict_utf8_and_indented():
    text = dumps({"findings": [{"message": "caf\u00e9 \x1b \udcff"}], "runs": []})
    assert text.encode("utf-8")  # no lone surrogate left
    assert text.splitlines()[1] == '  "findings": ['
    assert "\ufffd" in text and "\\u001b" in text and text.endswith("]\n}\n")


@given(DOCUMENTS)
def test_one_line_is_what_json_dumps_writes_compact(document):
    """The fleet view and each event of the kernel-log view: one line, json's C encoder."""
    assert encode(document, indent=None) == printable(json.dumps(document, ensure_ascii=False))


def test_no_module_writes_json_but_jsonout():
    """One way to write JSON: every writer goes through jsonout (strict UTF-8, U+FFFD for
    undecodable names). The log cursor's state file is oomaudit's own memory, not output:
    it keeps a file name's undecodable bytes as escapes, so that the name matches again."""
    writers = re.compile(r"\bjson\.dumps?\(|JSONEncoder\(")
    found = sorted(str(path.relative_to(REPO)) for folder in ("oomaudit", "plugins")
                   for path in (REPO / folder).rglob("*.py")
                   if writers.search(path.read_text(encoding="utf-8")))
    assert found == ["oomaudit/jsonout.py", "oomaudit/logcursor.py"]
