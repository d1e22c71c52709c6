"""What one oomaudit run imports, for the tests that pin start-up (a pre-commit hook
starts on every commit): run the CLI in a fresh interpreter and list ``sys.modules``."""
from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
from oomaudit.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
print("\\n" + json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def imported(tmp_path, *args: str) -> set[str]:
    """The modules a run of ``oomaudit ARGS`` in ``tmp_path`` has imported when it ends."""
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    return set(json.loads(proc.stderr.strip().splitlines()[-1]))


def plugin_code(modules: set[str]) -> set[str]:
    """A plugin's code among ``modules``: its package's modules but the registration and
    its constants, which every run imports."""
    return {m for m in modules if m.startswith("oomaudit.plugins.") and m.count(".") == 3
            and not m.endswith(".constants")}
