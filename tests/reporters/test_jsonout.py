"""oomaudit.jsonout.dumps writes a report chunk by chunk into one buffer (a fleet's report
of 130,000 rule runs held more memory in json.dumps's list of chunks than in itself): the
text is json.dumps's, indented, made printable, ending with a newline."""
from __future__ import annotations

import ast
import json

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


def _writes_json(path) -> bool:
    """Whether the module calls json.dump(s) or builds a JSONEncoder (docstrings aside)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if name in ("json.dump", "json.dumps", "JSONEncoder") or \
                    name.endswith("json.JSONEncoder"):
                return True
    return False


def test_no_module_writes_json_but_jsonout():
    """One way to write JSON: every writer goes through jsonout (strict UTF-8, U+FFFD for
    undecodable names), or a module of its own that it calls. The log cursor's state file is
    oomaudit's own memory, not output: it keeps a file name's undecodable bytes as escapes,
    so that the name matches again."""
    jsonout = REPO / "oomaudit/jsonout.py"
    helpers = {f"oomaudit/{node.module}.py" for node in ast.walk(ast.parse(jsonout.read_text()))
               if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module}
    found = {str(path.relative_to(REPO)) for folder in ("oomaudit", "plugins")
             for path in (REPO / folder).rglob("*.py") if _writes_json(path)}
    assert found - helpers == {"oomaudit/jsonout.py", "oomaudit/logcursor.py"}
