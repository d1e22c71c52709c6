"""``oomaudit new-plugin NAME``: write a working third-party plugin package to start from.

The files are the templates in ``oomaudit/scaffold/oomaudit-NAME/`` (``string.Template``:
``$name``, ``$rule`` and the like), laid out as the built-in plugins are: a registration
module that imports only ``oomaudit`` and its own constants, a constants module, a reader,
a rules module with one rule, its TOML catalogue, a pyproject with the ``oomaudit`` entry
point, and a test.
docs/architecture.md shows what it writes for ``myapp`` (a test keeps the two identical).
Imported only when the command runs.
"""
from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from string import Template

from .. import __version__
from ..errors import UsageError

# the package's tree, NAME standing for the plugin's name in file and folder names
TEMPLATES = Path(__file__).parents[1] / "scaffold" / "oomaudit-NAME"
# a name that is an importable package (oomaudit_NAME), an entry point, a rule id prefix and,
# with _ as -, a distribution name (oomaudit-NAME), which must not end in -
_NAME = re.compile(r"[a-z](?:[a-z0-9_]*[a-z0-9])?")


def values(name: str) -> dict[str, str]:
    """What the templates' placeholders stand for, for the plugin ``name``."""
    rule = f"{name.upper()}001"
    return {"name": name, "package": f"oomaudit_{name}",
            "dist": "oomaudit-" + name.replace("_", "-"), "rule": rule,
            "check": f"check_{rule.lower()}", "version": __version__}


def render(name: str) -> dict[str, str]:
    """The package's files for ``name``: path relative to its folder -> text."""
    given = values(name)
    files = {}
    for template in sorted(TEMPLATES.rglob("*.tmpl")):
        relative = template.relative_to(TEMPLATES).as_posix().removesuffix(".tmpl")
        text = Template(template.read_text(encoding="utf-8")).substitute(given)
        files[relative.replace("NAME", name)] = text
    return files


def _refuse_taken(name: str, args) -> None:
    """A plugin name, reader or rule id that an installed plugin has would keep the new
    plugin (or its rule) from loading: refuse it now rather than after pip install."""
    from ..entrypoints import entry_points
    from ..invocation import load_registry
    from ..manager import GROUP

    registry = load_registry(args)
    rule = values(name)["rule"]
    for taken, what in ((name in {ep.name for ep in entry_points(GROUP)}, "this name"),
                        (name in registry.readers, "a reader (file format) of this name"),
                        (rule in registry.rules, f"the rule id {rule}")):
        if taken:
            raise UsageError(f"new-plugin {name}: an installed plugin already has {what}; "
                             "choose another NAME")


def write(folder: Path, files: dict[str, str]) -> None:
    """Create ``folder`` (never an existing one) holding ``files``; on failure remove what
    this call created, so a retry does not meet a half-written package."""
    try:
        folder.mkdir(parents=True)
    except FileExistsError:
        raise UsageError(f"new-plugin: {folder} already exists; name a new folder with "
                         "--dir") from None
    except OSError as exc:
        raise UsageError(f"new-plugin: cannot create {folder}: {exc.strerror or exc}") from None
    try:
        for relative, text in files.items():
            path = folder / relative
            path.parent.mkdir(exist_ok=True)
            with open(path, "x", encoding="utf-8") as fh:
                fh.write(text)
    except OSError as exc:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        raise UsageError(f"new-plugin: cannot write {exc.filename or folder}: "
                         f"{exc.strerror or exc}") from None


def new_plugin(args) -> int:
    name = args.name
    if not _NAME.fullmatch(name):
        raise UsageError(f"new-plugin: NAME {name!r} is not a lowercase Python identifier "
                         "(a-z, then a-z, 0-9 or _, not ending in _), e.g. myapp")
    _refuse_taken(name, args)
    given = values(name)
    folder = Path(args.dir or given["dist"])
    files = render(name)
    write(folder, files)

    from ..host import terminal

    print(terminal(f"wrote plugin '{name}' (rule {given['rule']}) to {folder}:"))
    for relative in files:
        print(terminal(f"  {folder / relative}"))
    shown = shlex.quote(os.fspath(folder))
    print(terminal(f"next: pip install -e {shlex.quote(f'{folder}[test]')} && "
                   f"pytest {shown} && oomaudit rules"))
    return 0
