"""A pool value a template fills in (``pm.max_children = {{ fpm_children }}`` in an Ansible
role) is unknown until rendered, not a value php-fpm refuses: only the verdicts that need it
wait for it (the pool's worst case, php-fpm's checks against it); the pool's other verdicts,
and every other pool of the file, are judged as written. Real CLI on a repository."""
from __future__ import annotations

import json

POOLS = """\
[www]
listen = /run/php/www.sock
pm = dynamic
pm.max_children = {{ fpm_children }}
pm.min_spare_servers = %s
pm.max_spare_servers = %s
php_admin_value[memory_limit] = 256M

[api]
listen = /run/php/api.sock
pm = static
pm.max_children = 400
pm.max_requests = 500
php_admin_value[memory_limit] = 512M
"""


def check(oomaudit, tmp_path, low: int, high: int) -> dict:
    folder = tmp_path / "roles/php/templates"
    folder.mkdir(parents=True)
    (folder / "www.conf").write_text(POOLS % (low, high))
    proc = oomaudit("check", ".", "--ram", "2G", "--format", "json", cwd=tmp_path)
    assert proc.returncode in (0, 1) and proc.stderr == "", proc.stderr
    return json.loads(proc.stdout)


def found(report: dict) -> list[tuple[str, int, str]]:
    return sorted((f["rule"], f["line"], f["message"].split(":")[0])
                  for f in report["findings"] if f["path"])


def test_only_the_verdicts_that_need_the_value_wait_for_it(oomaudit, tmp_path):
    report = check(oomaudit, tmp_path, 1, 3)
    # www: no worst case (it needs pm.max_children), but workers never recycled all the same;
    # api, in the same file, judged whole: its worst case is over the RAM
    assert found(report) == [("FPM001", 12, "pool api"), ("FPM003", 1, "pool www")]
    assert "roles/php/templates/www.conf: templated, not judged: pm.max_children (line 4)" \
        in report["notices"]
    fpm001 = next(f for f in report["findings"] if f["rule"] == "FPM001")
    assert fpm001["evidence"][0] == {"what": "pool api: pm = static, pm.max_children = 400",
                                     "source": "roles/php/templates/www.conf:12"}


def test_a_refusal_without_the_value_is_reported_one_with_it_waits(oomaudit, tmp_path):
    # max_spare < min_spare: php-fpm refuses whatever pm.max_children renders to
    report = check(oomaudit, tmp_path, 5, 3)
    assert ("CONF001", 6, "php-fpm refuses to start") in found(report)
    assert "pm.max_spare_servers(3) must not be less than pm.min_spare_servers(5)" in \
        json.dumps(report["findings"])


def test_a_check_against_the_templated_value_waits_for_it(oomaudit, tmp_path):
    # min_spare 50 > pm.max_children would be refused, but pm.max_children is not known
    report = check(oomaudit, tmp_path, 50, 60)
    assert not [f for f in report["findings"] if f["rule"].startswith("CONF")]
    assert ("FPM001", 12, "pool api") in found(report)
