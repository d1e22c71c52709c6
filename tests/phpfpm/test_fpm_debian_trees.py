"""Debian's shipped PHP-FPM and nginx configuration, fetched from the packages themselves
(apt-get download + dpkg-deb -x, cached per version): read as php-fpm8.2 -tt and nginx -T
read them, and on a 4 GiB profile no finding above low and no CONF finding."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import IN_CI, assert_no_traceback, need_program
from oomaudit.plugins import nginx as nginx_plugin
from oomaudit.plugins import phpfpm as fpm_plugin
from test_fpm_oracle import oracle as fpm_oracle

from oomaudit.host import ROOT, Host
from oomaudit.parsers import nginx, phpfpm

PACKAGES = ("php8.2-fpm", "nginx-common")


@pytest.fixture(scope="module")
def debian(tmp_path_factory):
    for program in ("apt-get", "apt-cache", "dpkg-deb"):
        need_program(program, "fetching Debian's shipped PHP-FPM and nginx configuration")
    cache = Path(os.environ.get("OOMAUDIT_TEST_CACHE", "/tmp/oomaudit-test-cache"))
    try:
        versions = []
        for package in PACKAGES:
            show = subprocess.run(["apt-cache", "show", "--no-all-versions", package],
                                  capture_output=True, text=True, timeout=60).stdout
            m = re.search(r"^Version: (\S+)", show, re.M)
            versions.append(m.group(1) if m else "unknown")
        tree = cache / re.sub(r"[:~]", "_", "debian-web-" + "-".join(versions))  # INI-safe
        if not (tree / "etc/nginx/nginx.conf").is_file():
            download = cache / "debs-web"
            download.mkdir(parents=True, exist_ok=True)
            subprocess.run(["apt-get", "download", *PACKAGES], cwd=download, check=True,
                           capture_output=True, timeout=300)
            for package in PACKAGES:
                for deb in sorted(download.glob(f"{package}_*.deb")):
                    subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
        return tree
    except (OSError, subprocess.SubprocessError) as exc:  # no network or no apt lists
        if IN_CI:
            pytest.fail(f"apt-get download of {PACKAGES} failed: {exc}")
        pytest.skip(f"apt-get download failed: {exc}")


def test_on_a_4g_profile_nothing_above_low_and_no_conf_finding(oomaudit, debian):
    proc = oomaudit("scan", "--root", debian, "--ram", "4G", "--format", "json")
    assert_no_traceback(proc)
    report = json.loads(proc.stdout)
    assert not [f for f in report["findings"]
                if f["severity"] not in ("info", "low") or f["rule"].startswith("CONF")]
    assert [f["rule"] for f in report["findings"] if f["rule"].startswith("FPM")] == ["FPM003"]
    services = {c["service"] for h in report["hosts"] for c in h["ledger"]}
    assert "php-fpm" in services  # 5 children x (128M + base); nginx: auto, offline
    assert report["errors"] == []


def test_debian_php_fpm_tree_matches_php_fpm(debian, tmp_path):
    program = need_program("php-fpm8.2", "the PHP-FPM reader's reference")
    fpm = debian / "etc/php/8.2/fpm"
    copy = tmp_path / "php-fpm.conf"  # the same file, with its log and include in the tree
    copy.write_text(re.sub(r"^error_log = .*$", f"error_log = {tmp_path}/error.log",
                           (fpm / "php-fpm.conf").read_text(), flags=re.M)
                    .replace("include=/etc/php/8.2/fpm/", f"include={fpm}/"))
    accepted, pools, stderr = fpm_oracle(program, copy)
    assert accepted, stderr
    host = Host("debian", ROOT, debian)
    config = phpfpm.Loader(host, fpm_plugin.READER).load(
        host.read(fpm / "php-fpm.conf", fpm_plugin.READER))
    assert not config.failed
    assert [p.name for p in config.pools] == list(pools) == ["www"]
    www = config.pools[0]
    for key in ("pm", "pm.max_children", "pm.start_servers", "pm.min_spare_servers",
                "pm.max_spare_servers", "pm.max_requests"):
        assert str(www.get(key)) == pools["www"][key], key


def test_debian_nginx_tree_matches_nginx(debian, tmp_path):
    program = need_program("nginx", "the nginx reader's reference")
    etc = debian / "etc/nginx"
    text = (etc / "nginx.conf").read_text().replace("/etc/nginx/", f"{etc}/")
    text = re.sub(r"^pid .*$", "", text, flags=re.M).replace("/var/log/nginx/", f"{tmp_path}/")
    copy = etc / "nginx.oomaudit-test.conf"  # beside the original: relative includes agree
    copy.write_text(text)
    try:
        proc = subprocess.run([program, "-T", "-p", f"{tmp_path}/", "-c", str(copy),
                               "-e", str(tmp_path / "error.log"),
                               "-g", f"pid {tmp_path}/nginx.pid;"],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        dumped = re.findall(r"^# configuration file (.*):$", proc.stdout, re.M)
        host = Host("debian", ROOT, debian)
        config = nginx.Loader(host, nginx_plugin.READER).load(host.read(etc / "nginx.conf",
                                                                        nginx_plugin.READER))
        assert not config.failed
        assert [str(s.path) for s in config.files[1:]] == dumped[1:]
        assert config.value("worker_processes") == "auto"
        assert config.value("worker_connections") == "768"
    finally:
        copy.unlink()
