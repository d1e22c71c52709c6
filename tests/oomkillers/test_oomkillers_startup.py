"""What a run on /etc/default/earlyoom imports: the oomkillers code and no other plugin's
(a run on another format importing none of it is tests/cli/test_startup.py's fstab case)."""
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


def _modules(tmp_path, *args: str) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    return set(json.loads(proc.stderr.strip().splitlines()[-1]))


def test_one_earlyoom_file_imports_the_oomkillers_plugin_alone(tmp_path):
    (tmp_path / "earlyoom").write_text('EARLYOOM_ARGS="-r 3600"\n')
    modules = _modules(tmp_path, "check", "--format", "json", "--exit-zero", "earlyoom")
    code = {m for m in modules if m.startswith("oomaudit.plugins.") and m.count(".") == 3
            and not m.endswith(".constants")}
    assert code == {f"oomaudit.plugins.oomkillers.{m}" for m in ("earlyoom", "critical",
                                                                  "rules")}
    assert not {m for m in modules if m.startswith("oomaudit.parsers.")}
    assert modules & {"psutil", "oomaudit.processes", "yaml", "shutil"} == set()
