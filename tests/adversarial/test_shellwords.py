"""oomaudit.shellwords.split gives shlex.split's words (or its ValueError) on any text, and
stays linear where shlex is quadratic."""
from __future__ import annotations

import shlex

from hypothesis import given, settings
from hypothesis import strategies as st

from oomaudit.shellwords import split

# the characters shlex treats specially, and a few it does not
_TEXT = st.text(alphabet=st.sampled_from(list(" \t\r\n\v'\"\\#a-=$é;")), max_size=40)


def _shlex(text: str):
    try:
        return shlex.split(text)
    except ValueError:
        return ValueError


def _ours(text: str):
    try:
        return split(text)
    except ValueError:
        return ValueError


@settings(max_examples=2000)
@given(_TEXT)
def test_same_words_as_shlex(text):
    assert _ours(text) == _shlex(text)


def test_known_words():
    assert split(""" a'b c'"d\\"e" \\ f '' "" g\\\n""") == ["ab cd\"e", " f", "", "", "g\n"]


def test_a_megabyte_word_is_one_word():
    """shlex takes minutes on this (each character copies the word); split reads it at once."""
    text = "x" * (4 << 20)
    assert split(f"-m {text} '{text}'") == ["-m", text, text]
