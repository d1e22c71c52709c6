"""One build step beyond pyproject.toml: the rule catalogues written as a Python module.

Every run that reports a finding reads its rule's severity from ``rules/*.toml``, and
importing tomllib (with the datetime module and the regexes it compiles) cost a pre-commit
run on one file 4-5 ms of CPU, nearly a tenth of it. So a normal install also gets
``oomaudit/rules/compiled.py``, the same texts as tomllib reads them here, whose bytecode
pip compiles at install: ``oomaudit.catalogue`` takes a catalogue from it when it is
there. An editable install has none and reads the TOML files themselves (the
source stays the only place the words live).
"""
from __future__ import annotations

import os
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

HEADER = '"""The rule catalogues of rules/*.toml, read by setup.py at build time (generated)."""\n'


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):  # the source tree's TOML files are read
            return
        source = self.get_package_dir("oomaudit.rules")
        catalogues = {}
        for name in sorted(os.listdir(source)):
            if name.endswith(".toml"):
                with open(os.path.join(source, name), "rb") as fh:
                    catalogues[name] = tomllib.load(fh)
        target = os.path.join(self.build_lib, "oomaudit", "rules", "compiled.py")
        with open(target, "w", encoding="utf-8") as fh:
            fh.write(f"{HEADER}CATALOGUES = {catalogues!r}\n")


setup(cmdclass={"build_py": BuildPy})
