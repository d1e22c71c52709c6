"""What a run on /etc/default/earlyoom imports: the oomkillers code and no other plugin's
(a run on another format importing none of it is tests/cli/test_startup.py's fstab case)."""
from __future__ import annotations

from startup_probe import imported, plugin_code


def test_one_earlyoom_file_imports_the_oomkillers_plugin_alone(tmp_path):
    (tmp_path / "earlyoom").write_text('EARLYOOM_ARGS="-r 3600"\n')
    modules = imported(tmp_path, "check", "--format", "json", "--exit-zero", "earlyoom")
    code = plugin_code(modules)
    assert code == {f"oomaudit.plugins.oomkillers.{m}" for m in ("earlyoom", "critical",
                                                                  "rules")}
    assert not {m for m in modules if m.startswith("oomaudit.parsers.")}
    assert modules & {"psutil", "oomaudit.processes", "yaml", "shutil"} == set()
