"""The JSON report writes its rule runs as text made per run (json_format._RunText), not as
dicts through the indented writer: the same bytes, whatever the rules, hosts and details
hold (non-ASCII, control characters, quotes, lone surrogates of undecodable names)."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from oomaudit.jsonindent import chunks
from oomaudit.model import Rule, Severity
from oomaudit.report import ERROR, FAILED, PASSED, SKIPPED, RuleRun
from oomaudit.reporters.json_format import _run, _RunText

TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)


def _rule(rule_id: str, plugin: str) -> Rule:
    rule = Rule(rule_id, "a rule", Severity.LOW, lambda host: [])
    rule.plugin = plugin
    return rule


@given(st.lists(st.tuples(st.tuples(TEXT, TEXT).map(lambda t: _rule(*t)), TEXT,
                          st.sampled_from([PASSED, FAILED, SKIPPED, ERROR]), TEXT),
                max_size=8),
       st.booleans())
def test_run_text_is_the_writers_text_of_its_dict(runs, reuse):
    made = [RuleRun(rule, host, status, detail) for rule, host, status, detail in runs]
    if reuse and made:  # one rule object run on several hosts: its lines made once
        made = [run._replace(rule=made[0].rule) for run in made]
    text = _RunText()
    assert "".join(chunks({"rules": [text(r) for r in made], "n": 1})) == \
        "".join(chunks({"rules": [_run(r) for r in made], "n": 1}))
