"""oomaudit.jsonindent writes indented JSON in one recursive pass instead of json's
generator per container: the same text as json.dumps(indent=N, ensure_ascii=False) for any
document json takes, the same errors for any it refuses, and a report's long arrays made
item by item as the text is written."""
from __future__ import annotations

import enum
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oomaudit.jsonindent import chunks, indented
from oomaudit.jsonout import Listed


class Level(enum.IntEnum):
    LOW = 3


class Name(str):
    pass


KEYS = st.text(max_size=6) | st.integers() | st.floats() | st.booleans() | st.none() \
    | st.builds(Name, st.text(max_size=4))
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text() \
    | st.just(Level.LOW) | st.just(math.inf) | st.just(-math.inf) | st.builds(Name)
DOCUMENTS = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(KEYS, inner, max_size=4)
    | st.lists(inner, max_size=3).map(lambda items: Listed(items, lambda x: x)),
    max_leaves=30)


@given(DOCUMENTS, st.sampled_from([0, 2, 4]))
def test_the_text_is_json_dumps_text(document, indent):
    expected = json.dumps(document, indent=indent, ensure_ascii=False)
    assert indented(document, indent) == expected
    assert "".join(chunks(document, indent)) == expected


@pytest.mark.parametrize("document", [
    {"a": [1, object()]}, [{(1, 2): 3}], {"k": {1j: 0}}, [b"bytes"], {"s": {1, 2}}])
def test_what_json_refuses_is_refused_alike(document):
    with pytest.raises(TypeError) as theirs:
        json.dumps(document, indent=2)
    for write in (indented, lambda d: "".join(chunks(d))):
        with pytest.raises(TypeError) as ours:
            write(document)
        assert str(ours.value) == str(theirs.value)


def test_a_cycle_is_refused_as_json_refuses_it():
    loop: list = [1]
    loop.append({"again": loop})
    for write in (indented, lambda d: "".join(chunks(d)), lambda d: "".join(chunks({"x": d}))):
        with pytest.raises(ValueError, match="^Circular reference detected$"):
            write(loop)
    shared = [1]
    assert indented([shared, shared]) == json.dumps([shared, shared], indent=2)


def test_a_long_array_is_made_as_it_is_written():
    """A report's rule runs (jsonout.Listed) are made one at a time: the text of the first
    is out before the second is made."""
    made = []
    runs = Listed(range(3), lambda n: made.append(n) or {"run": n})
    pieces = chunks({"rules": runs, "summary": {"findings": 0}})
    out = []
    for piece in pieces:
        out.append(piece)
        if '"run": 0' in piece:
            assert made == [0]
    assert made == [0, 1, 2]
    assert "".join(out) == json.dumps({"rules": [{"run": n} for n in range(3)],
                                       "summary": {"findings": 0}}, indent=2)
