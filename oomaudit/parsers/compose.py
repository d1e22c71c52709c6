"""Docker Compose files read as docker compose (compose-go) reads them, for memory limits:
the files of a project and its services (this module), the located, merged tree
(``compose_tree``) and interpolation from the ``.env`` (``compose_interpolation``).

* Byte values: an integer is bytes; a string is go-units' ``RAMInBytes`` (v0.5): a
  decimal number, an optional space, then ``b`` or ``k m g t p`` with an optional
  ``b``/``ib``, any case, each letter a power of **1024** (compose-spec "Specifying byte
  values": ``b``, ``k``/``kb``, ``m``/``mb``, ``g``/``gb``).
* Projects: the override file next to the base (``docker-compose.override.yml``) is
  merged by default; ``extends`` (same file or ``file:``) merges the base service under
  this one.
"""
from __future__ import annotations

import math
import posixpath
import re
from pathlib import Path
from typing import Any

from ..record import Record
from .compose_interpolation import read_dotenv
from .compose_tree import Leaf, Problem, locate, merge
from .yamltree import Map

BINARY = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_GO_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")
BASE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
MAX_EXTENDS = 20


def ram_in_bytes(text: str) -> int:
    """go-units ``RAMInBytes``: ValueError with its message when the text is no size."""
    bad = ValueError(f"invalid size: '{text}'")
    sep = max(text.rfind(c) for c in "0123456789. ")
    if sep == -1:
        raise bad
    number, suffix = (text[:sep + 1], text[sep + 1:]) if text[sep] != " " else \
        (text[:sep], text[sep + 1:])
    if not _GO_FLOAT.match(number):
        raise ValueError(f'strconv.ParseFloat: parsing "{number}": invalid syntax')
    size = float(number)
    if size < 0:
        raise bad
    if size == math.inf:  # ParseFloat's ERANGE: "1e400", or digits past float's range
        raise ValueError(f'strconv.ParseFloat: parsing "{number[:40]}": value out of range')
    suffix = suffix.lower()
    if suffix in ("", "b"):
        return int(size)
    if len(suffix) > 3 or suffix[0] not in BINARY or \
            (len(suffix) == 2 and suffix[1] != "b") or (len(suffix) == 3 and suffix[1:] != "ib"):
        raise ValueError(f"invalid suffix: '{suffix}'")
    return int(size * BINARY[suffix[0]])


# -- projects ----------------------------------------------------------------------------

class Service(Record):
    """One service of a project, with the override file and ``extends`` merged into it."""

    def __init__(self, name: str, path: str, line: int, config: dict, folder: Path):
        self.name = name
        self.path = path  # where the service is first defined
        self.line = line
        self.config = config  # the merged, located service mapping
        self.folder = folder  # the project directory (relative paths in the files)


class Project(Record):
    """The files docker compose reads as one project (a base file and its override) and the
    ``.env`` beside the first. A service compose would refuse is a ``problem`` instead."""

    def __init__(self, files: list[Path], env: dict[str, str],
                 services: list[Service] | None = None, problems: list[Problem] | None = None):
        self.files = files
        self.env = env
        self.services = [] if services is None else services
        self.problems = [] if problems is None else problems


def is_override(name: str) -> bool:
    return bool(re.fullmatch(r"(docker-)?compose\.override\.ya?ml", name))


def override_for(fs, path: Path) -> Path | None:
    """The override file compose merges by default, for a base file of that name (``fs``:
    the host's Tree)."""
    if path.name not in BASE_NAMES:
        return None
    stem = path.name.rsplit(".", 1)[0]
    for ext in ("yaml", "yml"):
        candidate = path.with_name(f"{stem}.override.{ext}")
        if fs.is_file(candidate):
            return candidate
    return None


def service_maps(root: Any) -> Map | None:
    services = root.get("services") if isinstance(root, Map) else None
    return services if isinstance(services, Map) else None


def relative(base: Path, text: str) -> Path | None:
    """A path a compose file names, relative to its folder; None for absolute paths
    (they are the host's, not the repository's) and ``~``."""
    if posixpath.isabs(text) or text.startswith("~"):
        return None
    return base / text


class Loader:
    """Builds projects. ``read_yaml(path, wanted_by)`` returns ``(root, display)`` of a
    parsed file or None (the caller has reported why); ``read_text(path)`` the text of a
    ``.env`` or None; ``fs`` the host's Tree, where ``extends`` files are looked up."""

    def __init__(self, read_yaml, read_text, fs):
        self.read_yaml, self.read_text, self.fs = read_yaml, read_text, fs
        self.extended: set[str] = set()  # files other files extend: not projects of their own

    def project(self, files: list[Path]) -> Project:
        folder = files[0].parent
        dotenv = self.read_text(folder / ".env")
        project = Project(files, read_dotenv(dotenv) if dotenv else {})
        merged: dict[str, Service] = {}
        for path in files:
            for service in self._file_services(path, project):
                if service.name in merged:
                    first = merged[service.name]
                    first.config = merge(first.config, service.config)
                else:
                    merged[service.name] = service
        project.services = list(merged.values())
        return project

    def _file_services(self, path: Path, project: Project) -> list[Service]:
        loaded = self.read_yaml(path, "")
        services = service_maps(loaded[0]) if loaded else None
        if services is None:
            return []
        found = []
        for name in services:
            try:
                config = self._service(path, loaded[1], services, name, project.env, ())
            except Problem as problem:
                problem.key = problem.key or str(name)
                project.problems.append(problem)
                continue
            if isinstance(config, dict):
                found.append(Service(str(name), loaded[1], services.lines[name], config,
                                     path.parent))
        return found

    def _service(self, path: Path, display: str, services: Map, name: Any,
                 env: dict[str, str], chain: tuple) -> Any:
        node = services[name]
        config = locate(node, display, services.lines[name], env, services.tags.get(name))
        if not isinstance(config, dict) or "extends" not in config:
            return config
        spec = config.pop("extends")
        line = services.lines[name]
        if isinstance(spec, dict):
            base_name, base_file = spec.get("service"), spec.get("file")
        else:
            base_name, base_file = spec, None
        if not isinstance(base_name, Leaf):
            raise Problem("CONF001", f"service {name!r}: extends needs a service name",
                          display, line)
        line = base_name.line
        target = path
        if isinstance(base_file, Leaf):
            named = relative(path.parent, base_file.text())
            if named is None or not self.fs.is_file(named):
                raise Problem("CONF002", f"extends file {base_file.text()!r}: no such file "
                              "in the tree; docker compose refuses the project",
                              display, base_file.line)
            target = named
            self.extended.add(self.fs.identity(named))
        key = (str(target), base_name.text())
        if key in chain or len(chain) > MAX_EXTENDS:
            raise Problem("CONF002", f"service {name!r} extends {base_name.text()!r} in a loop",
                          display, line)
        loaded = self.read_yaml(target, f"{display}:{line}") if target != path else \
            (None, display)
        base_services = services if target == path else \
            (service_maps(loaded[0]) if loaded else None)
        if base_services is None or base_name.text() not in base_services:
            raise Problem("CONF002", f"service {name!r} extends {base_name.text()!r}, which "
                          f"{'that file' if target != path else 'this file'} does not define",
                          display, line)
        base = self._service(target, loaded[1], base_services, base_name.text(), env,
                             chain + (key,))
        return merge(base, config) if isinstance(base, dict) else config
