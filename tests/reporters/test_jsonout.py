"""oomaudit.jsonout.dumps writes a report chunk by chunk into one buffer (a fleet's report
of 130,000 rule runs held more memory in json.dumps's list of chunks than in itself): the
text is json.dumps's, indented, made printable, ending with a newline."""
from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from oomaudit.host import printable
from oomaudit.jsonout import dumps

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
