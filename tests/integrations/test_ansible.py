"""contrib/ansible with the real ``ansible-playbook``: three inventory hosts on
``ansible_connection=local``, each auditing its own ``--root`` tree, their reports fetched one
folder per host, and ``oomaudit fleet`` ranking them as their trees warrant."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, assert_no_traceback, need_program

PLAYBOOK = REPO / "contrib/ansible/playbook.yml"


def ansible_playbook() -> str:
    beside = Path(sys.executable).with_name("ansible-playbook")  # the test extra's
    if beside.exists():
        return str(beside)
    return need_program("ansible-playbook", "the Ansible role is run for real; ansible-core "
                        "is in the test extra")


def trees(base: Path) -> dict[str, tuple[Path, str]]:
    """db1: a 24 GiB buffer pool on 4 GiB of RAM; web1: php-fpm's 40 children of 288 MiB on
    4 GiB; clean: a 6 GiB buffer pool on 64 GiB. Each with the RAM its host declares."""
    db1, web1, clean = base / "db1", base / "web1", base / "clean"
    shutil.copytree(REPO / "tests/mysql/fixtures/tree", db1)
    tuning = db1 / "etc/mysql/conf.d/50-server.cnf"
    tuning.write_text(tuning.read_text().replace("innodb_buffer_pool_size = 6G",
                                                 "innodb_buffer_pool_size = 24G"))
    shutil.copytree(REPO / "tests/phpfpm/fixtures/root", web1)
    pool = web1 / "etc/php/8.2/fpm/pool.d/www.conf"
    pool.write_text(pool.read_text().replace("pm.max_children = 120", "pm.max_children = 40"))
    shutil.copytree(REPO / "tests/mysql/fixtures/tree", clean)
    return {"db1": (db1, "4G"), "web1": (web1, "4G"), "clean": (clean, "64G")}


@pytest.mark.slow
def test_playbook_audits_three_hosts_and_the_fleet_ranks_them(tmp_path):
    program = ansible_playbook()
    hosts = trees(tmp_path / "trees")
    fleet = tmp_path / "fleet"
    oomaudit = Path(sys.executable).with_name("oomaudit")
    lines = ["[audited]"]
    for name, (root, ram) in hosts.items():
        # each host keeps its report in its own folder: three "hosts" share this machine
        lines.append(f"{name} oomaudit_root={root} oomaudit_output_dir={tmp_path / 'out' / name} "
                     f"oomaudit_scan_args='[\"--ram\", \"{ram}\"]'")
    inventory = tmp_path / "inventory"
    inventory.write_text("\n".join(lines) + "\n\n[audited:vars]\nansible_connection=local\n"
                         f"ansible_python_interpreter={sys.executable}\n")
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")  # none of the user's or /etc's
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8",  # ansible refuses others
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-local"),
           "ANSIBLE_REMOTE_TEMP": str(tmp_path / "ansible-remote"),
           "ANSIBLE_HOME": str(tmp_path / "ansible-home"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_CONFIG": str(tmp_path / "ansible.cfg"), "ANSIBLE_RETRY_FILES_ENABLED": "0",
           "PATH": f"{oomaudit.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(
        [program, "-i", str(inventory), str(PLAYBOOK),
         "-e", f"oomaudit_executable={oomaudit}", "-e", "oomaudit_become=false",
         "-e", f"oomaudit_fleet_dir={fleet}",
         "-e", f"oomaudit_controller_executable={oomaudit}"],
        capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    for name, (root, _) in hosts.items():  # each host's report and facts, of its own tree
        report = json.loads((fleet / name / "report.json").read_text())
        assert report["target"] == str(root)
        facts = json.loads((fleet / name / "facts.json").read_text())
        assert facts["mode"] == "root" and facts["host"] == root.name
    # the playbook's controller play wrote the view beside the folder and showed the ranking
    view = json.loads(Path(f"{fleet}.json").read_text())
    assert [h["name"] for h in view["hosts"]] == ["db1", "web1", "clean"]
    assert "db1" in proc.stdout and "Show the riskiest hosts" in proc.stdout

    # and oomaudit fleet on what was fetched, as an operator runs it
    run = subprocess.run([str(oomaudit), "fleet", str(fleet), "--format", "json"],
                         capture_output=True, text=True, timeout=120)
    assert_no_traceback(run)
    assert run.returncode == 1, run.stderr
    data = json.loads(run.stdout)
    ranked = {h["name"]: h for h in data["hosts"]}
    assert [h["name"] for h in data["hosts"]] == ["db1", "web1", "clean"]
    assert ranked["db1"]["largest"]["service"] == "mysql"
    assert ranked["db1"]["facts"] == "db1/facts.json" and data["notices"] == []
    assert ranked["db1"]["worst_case_ratio"] > ranked["web1"]["worst_case_ratio"] > 1
    assert {"MYSQL001", "HOST002"} <= set(ranked["db1"]["rules"])
    assert {"FPM001", "HOST002"} <= set(ranked["web1"]["rules"])
    assert ranked["clean"]["rules"] == [] and ranked["clean"]["worst_case_ratio"] < 0.2
    assert {r["rule"]: r["hosts"] for r in data["rules"]}["HOST002"] == ["db1", "web1"]
