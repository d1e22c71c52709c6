"""The compose projects of a host, grouped as docker compose groups its files (a base file
with the override file it merges by default; a file another one ``extends`` is no
project of its own), once per run, and the problems compose stops at, reported on the
file they are in.
"""
from __future__ import annotations

from pathlib import Path

from oomaudit import Finding
from oomaudit.parsers import compose
from oomaudit.parsers.compose_tree import Problem

from .constants import COMPOSE, COMPOSE_READER
from .yamlfiles import parse_yaml


def _yaml_reader(host):
    files = host.cache.setdefault("compose.files", {})
    for parsed in host.documents(COMPOSE):
        files.setdefault(parsed.source.path, parsed)

    def read_yaml(path: Path, wanted_by: str):
        if path not in files:
            source = host.read(path, COMPOSE_READER, wanted_by)
            files[path] = parse_yaml(source) if source is not None else None
        parsed = files[path]
        return (parsed.root, parsed.source.display) if parsed is not None else None

    def read_text(path: Path):
        if not host.fs.is_file(path):
            return None
        source = host.read(path, None)
        return source.text if source is not None else None
    return read_yaml, read_text


def projects(host) -> list[compose.Project]:
    """The compose projects of the host, once per run: each base file with the override
    file compose merges by default; an override file whose base is here is part of it."""
    if "compose.projects" in host.cache:
        return host.cache["compose.projects"]
    read_yaml, read_text = _yaml_reader(host)
    loader = compose.Loader(read_yaml, read_text, host.fs)
    found = []
    for parsed in host.documents(COMPOSE):
        path = parsed.source.path
        if compose.is_override(path.name) and any(
                host.fs.is_file(path.parent / name) for name in compose.BASE_NAMES):
            continue
        override = compose.override_for(host.fs, path)
        found.append(loader.project([path] + ([override] if override else [])))
    found = [p for p in found if host.fs.identity(p.files[0]) not in loader.extended]
    for project in found:
        for problem in project.problems:
            report_problem(host, problem)
    host.cache["compose.projects"] = found
    return found


def report_problem(host, problem: Problem) -> None:
    source = next((s for s in host.sources.values() if s.display == problem.path), None)
    if source is not None:
        source.problem(problem.rule, problem.line, problem.message, key=problem.key)
    else:
        host.diagnostics.append(Finding(problem.rule, problem.message, problem.path,
                                        problem.line, key=problem.key))


def services(host):
    for project in projects(host):
        for service in project.services:
            yield project, service
