"""Hypothesis on the parsers that got a bound for hostile input: the bound changes nothing
for ordinary input, and no input gets past it as an exception."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from oomaudit import cnumbers
from oomaudit.parsers import compose_interpolation, pgconf, yamltree
from oomaudit.parsers.compose_interpolation import TemplateError, interpolate


def _whole_text_parse(text: str):
    """pgconf.parse_text as it was: one token stream for the whole text, resynced at the
    EOL after a bad token (quadratic on an unclosed quote; the reference it must equal)."""
    statements, problems = [], []
    tokens = pgconf.lex(text)
    for token in tokens:
        if token.kind == pgconf.EOL:
            continue
        bad = None
        if token.kind not in (pgconf.ID, pgconf.QUALIFIED_ID):
            bad = token
        else:
            value = next(tokens, None)
            if value is not None and value.kind == pgconf.EQUALS:
                value = next(tokens, None)
            if value is None or value.kind not in pgconf._VALUE_TOKENS:
                bad = value
            else:
                after = next(tokens, None)
                if after is None or after.kind == pgconf.EOL:
                    shown = pgconf.unquote(value.text) if value.kind == pgconf.STRING \
                        else value.text
                    statements.append(pgconf.Statement(token.text, shown, value.line))
                    continue
                bad = after
        if bad is None or bad.kind == pgconf.EOL:
            problems.append(pgconf.SyntaxProblem(bad.line if bad else token.line, None))
        else:
            problems.append(pgconf.SyntaxProblem(bad.line, bad.text))
        if len(problems) >= pgconf.MAX_ERRORS:
            break
        while bad is not None and bad.kind != pgconf.EOL:
            bad = next(tokens, None)
    return statements, problems


_PG = st.text(alphabet=st.sampled_from(list("ab_.=' \\\n\t#19xé-")), max_size=60)


@settings(max_examples=1500)
@given(_PG)
def test_pgconf_line_by_line_equals_the_whole_text_lexer(text):
    assert pgconf.parse_text(text) == _whole_text_parse(text)


@given(st.text(alphabet="0123456789", min_size=1, max_size=4000),
       st.sampled_from([2, 8, 10, 16]))
def test_cnumbers_digits_is_int_below_2_128_and_huge_above(text, base):
    text = "".join(c for c in text if int(c) < base) or "0"
    value = int(text, base)
    if value < 1 << 128:
        assert cnumbers.digits(text, base) == value
    else:
        assert cnumbers.digits(text, base) >= 1 << 128


def _nested(depth: int) -> str:
    return "${A:-" * depth + "x" + "}" * depth


@given(st.integers(0, 3 * compose_interpolation.MAX_NESTING),
       st.text(alphabet="${}:-?+AB_x ", max_size=40))
def test_interpolation_takes_any_nesting_without_recursion_error(depth, noise):
    for text in (_nested(depth), _nested(depth) + noise, noise + _nested(depth)):
        try:
            result = interpolate(text, {"B": "b"})
        except TemplateError as exc:
            assert len(str(exc)) < 300  # the value's start, never the whole value
        else:
            assert isinstance(result.text, str)


@given(st.integers(1, 2000), st.integers(1, 40), st.integers(1, 40))
def test_yaml_expansion_in_bytes_is_refused_past_the_cap(length, fan1, fan2):
    """A string repeated fan1*fan2 times through two levels of aliases: read while its
    expansion fits the byte cap (set small here), a YamlError naming it past it."""
    cap = 50_000
    old, yamltree.MAX_EXPANDED_BYTES = yamltree.MAX_EXPANDED_BYTES, cap
    try:
        text = (f"a: &a '{'x' * length}'\n"
                f"b: &b [{', '.join(['*a'] * fan1)}]\n"
                f"c: [{', '.join(['*b'] * fan2)}]\n")
        try:
            [document] = list(yamltree.load_all(text))
        except yamltree.YamlError as exc:
            assert "MiB of text" in exc.message
            assert length * (1 + fan1 + fan1 * fan2) > cap - 100
        else:
            assert document.root.size <= cap
    finally:
        yamltree.MAX_EXPANDED_BYTES = old
