"""Files written for a template engine: what their markers look like, and what can be judged.

A repository holds the input of Ansible (Jinja), Helm (Go templates), Puppet and Chef (ERB,
EPP), FreeMarker, Mustache and envsubst beside the configs they render to. A template is not
the config it renders to, so it is never judged as one:

- a file named for its engine (``my.cnf.j2``), any file of a Helm chart's ``templates/``
  (Helm renders every one), and a file whose markers shape the text (``{% if %}``,
  ``{{- range }}``, ``<% if %>``, ``<#if>``, ``{{#section}}``, a line that is only a
  placeholder) is *skipped*: the run names it once, with the format it renders to;
- a file whose placeholders only fill values (``innodb_buffer_pool_size = {{ bp }}``) is
  judged on what is written: each placeholder reads as the word ``TEMPLATED``, and a
  finding on a templated line, or naming a templated setting, is held back: no CONF001 on a
  placeholder and no verdict computed without the number. The run says which settings were
  templated and which findings that held back.

A placeholder the program itself fills in is no template's: compose, Apache, PHP-FPM,
nginx and systemd expand ``${VAR}`` (``Reader.expands``), swarm ``{{.Task.Slot}}``. Markers
in comment lines (``Reader.comment_prefixes``) are ignored: a comment renders to nothing
the program reads.
"""
from __future__ import annotations

import re

from .host import printable
from .model import Evidence, Finding
from .reading import Reader, Source
from .report import Read

# A file named for its engine renders to the name without the suffix.
SUFFIXES = (".j2", ".jinja", ".jinja2", ".erb", ".epp", ".tmpl", ".tpl", ".gotmpl",
            ".template", ".mustache", ".hbs", ".ftl")
STAND_IN = "TEMPLATED"  # what a value placeholder reads as
_SHOWN = 10  # files or settings a notice names before "and N more"
_LONGEST = 60  # characters of a file's own text a notice repeats (a line may be 16 MiB)

# Any marker: a Jinja/Go/Mustache/Helm {{, a Jinja {%, ERB/EPP <%, FreeMarker <# and </#,
# ${ (envsubst, FreeMarker) and sed's %%NAME%%.
_MARKER = re.compile(r"\{\{|\{%|<%|</?#|\$\{|%%[A-Z_][A-Z0-9_]*%%")
# Markers that shape the text rather than fill a value: Jinja statements, ERB code that is
# no <%= output, FreeMarker directives, Mustache sections, partials and comments, Go
# template actions.
_CONTROL = re.compile(r"\{%|<%(?!-?=)|</?#|\{\{[#^/>!]|"
                      r"\{\{-?\s*(?:if|else|end|range|with|define|block|/\*)\b")
# One value placeholder, to the end of the line when it does not close there.
_VALUE = re.compile(r"\{\{.*?(?:\}\}|$)|<%-?=.*?(?:-?%>|$)|\$\{[^}\n]*(?:\}|$)|"
                    r"%%[A-Z_][A-Z0-9_]*%%")
_KEY = re.compile(r"[\s\"'-]*([A-Za-z_][\w.\-]*)\s*[=:\s]")  # the setting a line sets
_ANSIBLE_MANAGED = re.compile(r"\s*\{\{-?\s*ansible_managed\b")  # renders to a comment
_WORD = re.compile(r"[\w.\-]+")  # a setting's name, as a finding's words hold it


def suffix(relpath: str) -> str:
    """The template suffix of a file's name, or "" (``my.cnf.j2`` -> ``.j2``)."""
    return next((s for s in SUFFIXES if relpath.endswith(s)), "")


def _markers(line: str, expands: tuple[str, ...]):
    """The template markers of a line, except placeholders the program fills in itself."""
    return [m for m in _MARKER.finditer(line) if not line.startswith(expands, m.start())]


def _marked(text: str, reader: Reader) -> list[tuple[int, str]]:
    """The lines of ``text`` (number, line) holding a marker the program does not fill in
    itself, comment lines left out. One search over the markers, not a pass over every line:
    most markers of a config are its program's own ``${VAR}`` or sit in comments."""
    marked: list[tuple[int, str]] = []
    number, counted, done = 1, 0, -1  # the line number at offset ``counted``; a line judged
    for m in _MARKER.finditer(text):
        at = m.start()
        if at < done or text.startswith(reader.expands, at):
            continue
        start = text.rfind("\n", 0, at) + 1
        done = text.find("\n", at)
        if done < 0:
            done = len(text)
        line = text[start:done]
        if not line.lstrip().startswith(reader.comment_prefixes):
            number += text.count("\n", counted, start)
            counted = start
            marked.append((number, line))
    return marked


def _shaping(marked: list[tuple[int, str]], reader: Reader) -> str:
    """``shaping`` of the lines ``_marked`` found."""
    for _, line in marked:
        control = _CONTROL.search(line)
        if control and not line.startswith(reader.expands, control.start()):
            return control.group().strip()
        text = line.strip()
        whole = _VALUE.match(text)  # the first placeholder, to its end: all of the line?
        if whole and whole.end() == len(text) and not _ANSIBLE_MANAGED.match(line):
            return text[:_LONGEST]  # it may render to any lines
    return ""


def shaping(text: str, reader: Reader) -> str:
    """The first marker of ``text`` that shapes the file (``{%``, ``<#``, a line that is only
    a placeholder, ...), or "" when placeholders at most fill values."""
    return _shaping(_marked(text, reader), reader)


def neutral(text: str) -> str:
    """``text`` for the sniffers, which judge the format (whether a file is a template is
    decided here): lines with a marker that shapes the text left out, each value
    placeholder read as ``STAND_IN``."""
    if _MARKER.search(text) is None:
        return text
    return "\n".join("" if _CONTROL.search(line) else _VALUE.sub(STAND_IN, line)
                     for line in text.split("\n"))


def fill(source: Source, reader: Reader, marked: list[tuple[int, str]] | None = None,
         ) -> dict[int, str]:
    """Make the value placeholders of ``source`` read as ``STAND_IN``; the lines that held
    one, each with the setting it sets (or its text when it names none). ``marked``: its
    marked lines, when the caller has them."""
    templated: dict[int, str] = {}
    changed: dict[int, str] = {}
    for number, line in _marked(source.text, reader) if marked is None else marked:
        found = [m for m in _markers(line, reader.expands) if _VALUE.match(line, m.start())]
        if not found:
            continue
        if _ANSIBLE_MANAGED.match(line):  # "Ansible managed" as the format's comment
            changed[number] = ""
            continue
        key = _KEY.match(line)
        named = key and key.end(1) <= found[0].start()
        templated[number] = (key.group(1) if named else line.strip())[:_LONGEST]
        starts = {m.start() for m in found}
        changed[number] = _VALUE.sub(
            lambda m, starts=starts: STAND_IN if m.start() in starts else m.group(), line)
    if templated:
        lines = source.text.split("\n")
        for number, line in changed.items():
            lines[number - 1] = line
        source.text = "\n".join(lines)
    return templated


def prepare(source: Source, reader: Reader) -> bool:
    """Whether a file recognised by its name is a template, not to be read (``source.template``
    says why); else its value placeholders now read as ``STAND_IN`` (``source.templated``)."""
    marked = _marked(source.text, reader)
    source.template = _shaping(marked, reader)
    source.templated = {} if source.template else fill(source, reader, marked)
    return bool(source.template)


def hold_back(findings: list[Finding], sources: dict[str, Source]) -> list[Finding]:
    """The findings that did not use what a template fills in; each other one is named on its
    source (``held``). ``sources``: the templated files by how findings name them."""
    kept = []
    order = {shown: i for i, shown in enumerate(sources)}
    for finding in findings:
        source = sources.get(finding.path)
        if source is not None and held_back(finding, source.templated, source):
            if not finding.rule.startswith("CONF"):  # not the placeholder's own "bad value"
                source.held.append(finding.rule)
            continue
        # a finding kept on, or counting from, a templated file says what it could not see
        # (HOST002 sums a my.cnf whose buffer pool a template fills in)
        named = sorted((order[shown], shown) for shown in _cited(finding) if shown in order)
        finding.evidence = finding.evidence + [
            Evidence(f"templated, not judged: {_settings(sources[shown].templated)}", shown)
            for _, shown in named]
        kept.append(finding)
    return kept


def _cited(finding: Finding) -> set[str]:
    """The files a finding is on or cites: its path, each evidence's source, and each part of
    a source before a colon (``my.cnf:3``). Looked up, not compared with every templated
    file: a repository holds hundreds of them."""
    cited = {finding.path}
    for evidence in finding.evidence:
        cited.add(evidence.source)
        colon = evidence.source.find(":")
        while colon >= 0:
            cited.add(evidence.source[:colon])
            colon = evidence.source.find(":", colon + 1)
    return cited


def held_back(finding: Finding, templated: dict[int, str], source: Source | None = None,
              ) -> bool:
    """Whether a finding on a templated file used what a template fills in: it sits on a
    templated line, says ``TEMPLATED``, or names a templated setting (a verdict that took
    the program's default for it) that it does not cite where the file writes it as a
    value (another pool's ``pm.max_children = 400`` beside a templated one)."""
    if finding.line in templated:
        return True
    said = set(_WORD.findall(" ".join([finding.message, *(e.what for e in finding.evidence)])))
    if any(STAND_IN in word for word in said):
        return True
    named = said.intersection(templated.values())
    if named and source is not None:
        named -= _written(finding, templated, source)
    return bool(named)


def _written(finding: Finding, templated: dict[int, str], source: Source) -> set[str]:
    """The settings set on the lines of ``source`` a finding is on or cites (``file:N``
    evidence), templated lines aside: values it used as written."""
    prefix = f"{source.display}:"
    cited = {finding.line, *(int(e.source[len(prefix):]) for e in finding.evidence
                             if e.source.startswith(prefix) and e.source[len(prefix):].isdigit())}
    cited -= {None, *templated}
    lines = source.lines if cited else []
    found = (_KEY.match(lines[n - 1]) for n in cited if 0 < n <= len(lines))
    return {key.group(1) for key in found if key}


def _some(items: list[str]) -> str:
    more = f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else ""
    return ", ".join(items[:_SHOWN]) + more


def notices(read: list[Read]) -> list[str]:
    """What the read files held of templates: the ones skipped (one notice), then each one
    whose placeholders fill values."""
    said = [skipped_notice([(s.display, s.reader, printable(s.template))
                            for s in read if s.template])] if any(
        s.template for s in read) else []
    return said + [templated_notice(s.display, s.templated, s.held)
                   for s in read if s.templated]


def skipped_notice(skipped: list[tuple[str, str, str]]) -> str:
    """The one notice naming the files skipped as templates: (shown path, format, why)."""
    files = [f"{shown} ({fmt}, {why})" for shown, fmt, why in skipped]
    return (f"skipped {len(files)} template{'s' if len(files) > 1 else ''}, not the configs "
            f"they render to (render, then check the result): {_some(files)}")


def _settings(templated: dict[int, str]) -> str:
    return _some([f"{key} (line {line})" for line, key in templated.items()])


def templated_notice(shown: str, templated: dict[int, str], held: list[str]) -> str:
    """What a file whose placeholders fill values left unjudged."""
    said = f"; held back: {', '.join(dict.fromkeys(held))}" if held else ""
    return f"{shown}: templated, not judged: {_settings(templated)}{said}"

