"""Debian's shipped files of a package, for tests that judge a stock install: fetched with
``apt-get download`` and unpacked with ``dpkg-deb -x`` (no maintainer script runs, no daemon
starts), cached per version in $OOMAUDIT_TEST_CACHE (default /tmp/oomaudit-test-cache)."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import IN_CI, need_program


def unpacked(package: str, marker: str) -> Path:
    """The folder ``package`` is unpacked into; ``marker`` (a path inside it) says a cached
    copy is whole. Skips without apt or network, except in CI, where it fails."""
    for program in ("apt-get", "apt-cache", "dpkg-deb"):
        need_program(program, f"fetching Debian's shipped {package}")
    cache = Path(os.environ.get("OOMAUDIT_TEST_CACHE", "/tmp/oomaudit-test-cache"))
    try:
        show = subprocess.run(["apt-cache", "show", "--no-all-versions", package],
                              capture_output=True, text=True, timeout=60).stdout
        m = re.search(r"^Version: (\S+)", show, re.M)
        tree = cache / re.sub(r"[:~+]", "_", f"debian-{package}-{m.group(1) if m else 'unknown'}")
        if not (tree / marker).is_file():
            download = cache / f"debs-{package}"
            download.mkdir(parents=True, exist_ok=True)
            subprocess.run(["apt-get", "download", package], cwd=download, check=True,
                           capture_output=True, timeout=300)
            for deb in sorted(download.glob(f"{package}_*.deb")):
                subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
        return tree
    except (OSError, subprocess.SubprocessError) as exc:  # no network or no apt lists
        if IN_CI:
            pytest.fail(f"apt-get download {package} failed: {exc}")
        pytest.skip(f"apt-get download failed: {exc}")


def maintainer_script(package: str, marker: str, script: str = "postinst") -> str:
    """A maintainer script of ``package`` as shipped (``dpkg-deb -e``), to read, never to
    run: what the package enables on a fresh install, for a test to do the same."""
    tree = unpacked(package, marker)
    control = tree.with_name(tree.name + "-control")
    if not (control / script).is_file():
        debs = sorted((tree.parent / f"debs-{package}").glob(f"{package}_*.deb"))
        if not debs:
            pytest.fail(f"{package}'s .deb is gone from {tree.parent}: remove {tree} to "
                        "fetch it again")
        subprocess.run(["dpkg-deb", "-e", str(debs[-1]), str(control)], check=True)
    return (control / script).read_text()
