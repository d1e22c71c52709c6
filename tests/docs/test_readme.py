"""The README's rule table is generated from rules/; it must not drift."""
import re

from conftest import REPO


def test_readme_rule_table_is_current(oomaudit):
    table = oomaudit("rules", "--format", "markdown", "--no-plugins").stdout.strip()
    readme = (REPO / "README.md").read_text()
    block = re.search(r"<!-- rules:start -->\n(.*?)<!-- rules:end -->", readme, re.S)
    assert block, "README lost its rules markers"
    assert block.group(1).strip() == table, (
        "README rule table is stale: paste `oomaudit rules --format markdown --no-plugins` "
        "between the rules markers")
