"""Docker Compose files read as docker compose (compose-go) reads them, for memory limits.

* Byte values: an integer is bytes; a string is go-units' ``RAMInBytes`` (v0.5): a
  decimal number, an optional space, then ``b`` or ``k m g t p`` with an optional
  ``b``/``ib``, any case, each letter a power of **1024** (compose-spec "Specifying byte
  values": ``b``, ``k``/``kb``, ``m``/``mb``, ``g``/``gb``).
* Interpolation (compose-spec 12-interpolation.md): ``$$`` is a dollar, ``$VAR``,
  ``${VAR}``, ``${VAR:-default}`` (unset or empty), ``${VAR-default}`` (unset),
  ``${VAR:?err}``/``${VAR?err}`` (required), ``${VAR:+alt}``/``${VAR+alt}``, nested in
  defaults; ``${`` not followed by a name is an invalid template, a lone ``$`` stays.
  Values only, never keys. Variables come from the ``.env`` next to the first file; the
  shell environment of whoever runs the audit is *not* used, so a verdict never depends
  on the CI runner. An unset variable becomes "" as in compose, and the value remembers
  it (evidence).
* Merging (13-merge.md): mappings merge key by key, sequences append, ``command``,
  ``entrypoint`` and ``healthcheck.test`` are replaced, ``volumes`` are unique by target,
  ``environment`` merges by name; ``!reset`` removes and ``!override`` replaces. The
  override file next to the base (``docker-compose.override.yml``) is merged by default;
  ``extends`` (same file or ``file:``) merges the base service under this one.
"""
from __future__ import annotations

import posixpath
import re
import shlex
from pathlib import Path
from typing import Any

from ..record import Record
from ..rootfs import realpath
from .yamltree import Map, Seq

BINARY = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_GO_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")
BASE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
REPLACED = ("command", "entrypoint", "test")  # test: healthcheck.test
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
    suffix = suffix.lower()
    if suffix in ("", "b"):
        return int(size)
    if len(suffix) > 3 or suffix[0] not in BINARY or \
            (len(suffix) == 2 and suffix[1] != "b") or (len(suffix) == 3 and suffix[1:] != "ib"):
        raise ValueError(f"invalid suffix: '{suffix}'")
    return int(size * BINARY[suffix[0]])


# -- interpolation -----------------------------------------------------------------------

_NAME = re.compile(r"[_A-Za-z][_A-Za-z0-9]*")


class TemplateError(ValueError):
    pass


class Interpolated(Record):
    """A string after compose interpolation, and what the ``.env`` left open: ``unset`` names
    are evidence that the deployer's environment may change the value."""

    def __init__(self, text: str, unset: list[str] | None = None, missing: str = ""):
        self.text = text
        self.unset = [] if unset is None else unset  # variables used that .env does not set
        self.missing = missing  # a ${VAR:?err} whose variable is unset: compose refuses to run


def interpolate(text: str, env: dict[str, str]) -> Interpolated:
    result = Interpolated("")
    result.text = _expand(text, env, result, 0)[0]
    return result


def _expand(text: str, env: dict[str, str], out: Interpolated, pos: int,
            nested: bool = False) -> tuple[str, int]:
    """Expand from ``pos``; inside a default (``nested``) stop at the closing brace."""
    parts: list[str] = []
    while pos < len(text):
        char = text[pos]
        if nested and char == "}":
            return "".join(parts), pos
        if char != "$":
            parts.append(char)
            pos += 1
            continue
        following = text[pos + 1:pos + 2]
        if following == "$":
            parts.append("$")
            pos += 2
            continue
        if following == "{":
            value, pos = _braced(text, env, out, pos + 2)
            parts.append(value)
            continue
        m = _NAME.match(text, pos + 1)
        if m:
            parts.append(_lookup(m.group(), env, out))
            pos = m.end()
        else:  # compose-go's pattern does not match a lone '$': it stays as written
            parts.append("$")
            pos += 1
    if nested:
        raise TemplateError(f"invalid interpolation format for {text!r}: missing '}}'")
    return "".join(parts), pos


def _lookup(name: str, env: dict[str, str], out: Interpolated) -> str:
    if name not in env:
        out.unset.append(name)
        return ""
    return env[name]


def _braced(text: str, env: dict[str, str], out: Interpolated, pos: int) -> tuple[str, int]:
    m = _NAME.match(text, pos)
    if not m:
        raise TemplateError(f"invalid interpolation format for {text!r}")
    name, pos = m.group(), m.end()
    op = next((o for o in (":-", ":?", ":+", "-", "?", "+") if text.startswith(o, pos)), "")
    if not op:
        if text[pos:pos + 1] != "}":
            raise TemplateError(f"invalid interpolation format for {text!r}")
        return _lookup(name, env, out), pos + 1
    arg, end = _expand(text, env, out, pos + len(op), nested=True)
    is_set = name in env
    if not is_set and not op.endswith("?"):
        out.unset.append(name)  # the value is the default's, unless the deployer sets it
    present = is_set and (env[name] != "" or ":" not in op)
    if op.endswith("-"):
        value = env[name] if present else arg
    elif op.endswith("+"):
        value = arg if present else ""
    else:  # required
        if not present:
            out.missing = f"required variable {name} is missing a value" + \
                (f": {arg}" if arg else "")
            out.unset.append(name)
        value = env.get(name, "")
    return value, end + 1


def read_dotenv(text: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """A ``.env`` file as compose-go reads the common forms: ``KEY=value``, ``export``,
    comments, single quotes literal, double quotes with escapes, ``${VAR}`` of earlier
    keys in unquoted and double-quoted values, `` #`` comments after unquoted values."""
    values: dict[str, str] = dict(env or {})
    for raw in text.split("\n"):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not _NAME.fullmatch(key):
            continue
        value = value.strip()
        try:
            if value[:1] == "'" and "'" in value[1:]:
                value = value[1:value.index("'", 1)]
            elif value[:1] == '"' and '"' in value[1:]:
                body = re.match(r'"((?:[^"\\]|\\.)*)"', value)
                inner = body.group(1) if body else value[1:]
                inner = re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1),
                                                                              m.group(1)), inner)
                value = interpolate(inner, values).text
            else:
                value = re.split(r"\s#", value, maxsplit=1)[0].strip()
                value = interpolate(value, values).text
        except TemplateError:
            continue
        values[key] = value
    return values


# -- the located tree --------------------------------------------------------------------

class Leaf(Record):
    """One scalar value as compose ends up with it, and where it was written."""

    # Read-only by convention. Not a NamedTuple: tree values that should be lists are
    # iterated (``volumes``), and a tuple would iterate where a scalar raises.

    def __init__(self, value: Any, path: str, line: int, raw: Any = None,
                 unset: tuple[str, ...] = (), missing: str = ""):
        self.value = value
        self.path = path  # display path of the file
        self.line = line
        self.raw = raw  # as written, before interpolation
        self.unset = unset
        self.missing = missing

    __eq__ = Record.same_content

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def text(self) -> str:
        return "" if self.value is None else str(self.value)


RESET = object()


class Override(Record):
    """A value tagged ``!override``: :func:`merge` puts it in place of the base value instead
    of merging the two."""

    def __init__(self, value: Any):
        self.value = value


class Problem(Exception):
    """A problem compose stops at; the plugin turns it into CONF001/CONF002."""

    def __init__(self, rule: str, message: str, path: str, line: int | None, key: str = ""):
        super().__init__(message)
        self.rule, self.message, self.path, self.line = rule, message, path, line
        self.key = key  # what it is about: the service (see oomaudit.Finding.key)


def locate(node: Any, path: str, line: int, env: dict[str, str], tag: str | None = None,
           key: str = "") -> Any:
    """The YAML subtree with every scalar interpolated and located; lists of
    ``environment``/``labels`` become mappings, as compose reads them."""
    if tag == "!reset":
        return RESET
    if tag == "!override":
        return Override(locate(node, path, line, env, None, key))
    if isinstance(node, Map):
        return {k: locate(v, path, node.lines.get(k, node.line), env, node.tags.get(k), k)
                for k, v in node.items()}
    if isinstance(node, Seq):
        items = [locate(v, path, node.lines[i], env, node.tags.get(i))
                 for i, v in enumerate(node)]
        if key in ("environment", "labels", "args", "annotations"):
            return _pairs(items)
        return items
    if isinstance(node, str):
        try:
            done = interpolate(node, env)
        except TemplateError as exc:
            raise Problem("CONF001", str(exc), path, line) from None
        return Leaf(done.text, path, line, node, tuple(done.unset), done.missing)
    return Leaf(node, path, line, node)


def _pairs(items: list) -> dict:
    """``["KEY=value", "FLAG"]`` -> ``{KEY: value, FLAG: None}``."""
    result: dict = {}
    for item in items:
        if isinstance(item, Leaf):
            name, sep, value = item.text().partition("=")
            result[name] = Leaf(value if sep else None, item.path, item.line, item.raw,
                                item.unset, item.missing)
    return result


def merge(base: Any, over: Any, key: str = "") -> Any:
    """``over`` merged onto ``base`` by compose's rules (13-merge.md)."""
    if over is RESET:
        return RESET
    if isinstance(over, Override):
        return over.value
    if isinstance(base, dict) and isinstance(over, dict):
        result = dict(base)
        for k, v in over.items():
            merged = merge(result[k], v, k) if k in result else _plain(v)
            if merged is RESET:
                result.pop(k, None)
            else:
                result[k] = merged
        return result
    if key in REPLACED:
        return over
    if isinstance(base, list) and isinstance(over, list):
        if key == "volumes":
            targets = {mount_target(v): i for i, v in enumerate(base)}
            result = list(base)
            for v in over:
                target = mount_target(v)
                if target is not None and target in targets:
                    result[targets[target]] = v
                else:
                    result.append(v)
            return result
        return base + over
    return _plain(over)


def _plain(value: Any) -> Any:
    if isinstance(value, Override):
        return value.value
    return value


def mount_target(volume: Any) -> str | None:
    """The container path of a volume (short ``src:dst[:mode]`` or long syntax)."""
    if isinstance(volume, dict):
        target = volume.get("target")
        return target.text() if isinstance(target, Leaf) else None
    if isinstance(volume, Leaf):
        parts = volume.text().split(":")
        if len(parts) == 1:
            return parts[0]
        return parts[1]
    return None


def mount_source(volume: Any) -> Leaf | None:
    """The host side of a bind mount (``./my.cnf:/etc/mysql/conf.d/my.cnf``), or None for
    a named volume or an anonymous one."""
    if isinstance(volume, dict):
        if getattr(volume.get("type"), "value", "bind") != "bind":
            return None
        source = volume.get("source")
        return source if isinstance(source, Leaf) else None
    if isinstance(volume, Leaf):
        parts = volume.text().split(":")
        if len(parts) >= 2 and parts[0].startswith((".", "/", "~")):
            return Leaf(parts[0], volume.path, volume.line, volume.raw, volume.unset)
    return None


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


def argv(value: Any) -> list[Leaf]:
    """``command``/``entrypoint`` as the argument list compose passes: a string is split
    like a shell (shellwords), a list is taken as is."""
    if isinstance(value, Leaf):
        try:
            words = shlex.split(value.text())
        except ValueError:
            words = value.text().split()
        return [Leaf(w, value.path, value.line, value.raw, value.unset) for w in words]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, Leaf)]
    return []


def is_override(name: str) -> bool:
    return bool(re.fullmatch(r"(docker-)?compose\.override\.ya?ml", name))


def override_for(path: Path) -> Path | None:
    """The override file compose merges by default, for a base file of that name."""
    if path.name not in BASE_NAMES:
        return None
    stem = path.name.rsplit(".", 1)[0]
    for ext in ("yaml", "yml"):
        candidate = path.with_name(f"{stem}.override.{ext}")
        if candidate.is_file():
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
    ``.env`` or None."""

    def __init__(self, read_yaml, read_text):
        self.read_yaml, self.read_text = read_yaml, read_text
        self.extended: set[Path] = set()  # files other files extend: not projects of their own

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
            if named is None or not named.is_file():
                raise Problem("CONF002", f"extends file {base_file.text()!r}: no such file "
                              "in the tree; docker compose refuses the project",
                              display, base_file.line)
            target = named
            self.extended.add(realpath(named))
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
