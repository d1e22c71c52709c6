"""The JVMs a host's systemd units start, with the option words each JVM reads, in the
order it reads them, and the unit's memory limit.

A unit starts a JVM when its ExecStart runs ``java`` (also behind ``env``, ``sh -c``) or
when its environment sets the variables a wrapper script hands to java (``JAVA_OPTS``,
``CATALINA_OPTS``: Debian's tomcat9, Kafka's, Jenkins' scripts). The environment is
systemd's: ``Environment=`` lines, then each ``EnvironmentFile=`` (``/etc/default/NAME``),
whose values override them (systemd.exec(5)); ``$VAR`` and ``${VAR}`` in ExecStart are
expanded from it. The JVM reads ``JAVA_TOOL_OPTIONS`` first, then ``JDK_JAVA_OPTIONS``
(the ``java`` launcher prepends it to its arguments), the command line, and
``_JAVA_OPTIONS`` last, which therefore wins. Arguments after the main class or ``-jar
FILE`` are the application's, not the JVM's.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from oomaudit.plugins.systemd.units import units_of

from oomaudit import shellwords

from .constants import CACHE
from .heap import Word

WRAPPER_VARS = ("JAVA_OPTS", "CATALINA_OPTS")  # scripts append these to java's options
_TAKES_VALUE = {"-cp", "-classpath", "--class-path", "-p", "--module-path", "--add-modules",
                "--add-opens", "--add-exports", "--add-reads", "--patch-module",
                "--limit-modules", "--upgrade-module-path", "--enable-native-access"}
_VAR = re.compile(r"\$\{(\w+)\}|\$(\w+)")


class Start(NamedTuple):
    unit: object  # oomaudit.parsers.systemd_units.Unit
    words: list[Word]  # the options, in the JVM's reading order
    how: str  # "ExecStart runs java" or the wrapper variable
    source: str  # file:line of the ExecStart
    env: dict[str, Word]  # the unit's environment
    limit: int | None  # MemoryMax / MemoryLimit in bytes (the lower), None: uncapped
    limit_setting: str  # "MemoryMax=2G"
    limit_source: str  # its file:line
    unread: tuple[str, ...] = ()  # EnvironmentFiles a config repository cannot read


def split(text: str) -> list[str]:
    """Words as systemd splits a command line or an assignment list (shell-like quotes);
    an unbalanced quote splits at blanks."""
    try:
        return shellwords.split(text)
    except ValueError:
        return text.split()


def environment(host, unit) -> tuple[dict[str, Word], list[str]]:
    """The unit's environment: Environment= assignments, then EnvironmentFile= files; and
    the files a config repository cannot resolve (absolute paths of another machine)."""
    env: dict[str, Word] = {}
    unread = []
    for unit_file, a in unit.values("Environment"):
        for item in split(a.value):
            name, equals, value = item.partition("=")
            if equals:
                env[name] = Word(value, f"{unit_file.display}:{a.line}")
    for _, a in unit.values("EnvironmentFile"):
        path = a.value.lstrip("-")
        if host.resolve(path) is None:
            unread.append(path)
        env.update(_env_file(host, path))
    return env, unread


def _env_file(host, path: str) -> dict[str, Word]:
    """KEY=VALUE lines of an EnvironmentFile (quotes, ``#``/``;`` comments); a file that
    is missing, or that a config repository cannot resolve, adds nothing."""
    real = host.resolve(path)
    if real is None or not host.fs.is_file(real):
        return {}
    source = host.read(real)
    if source is None:
        return {}
    env = {}
    for number, line in enumerate(source.lines, 1):
        text = line.strip()
        if not text or text[0] in "#;":
            continue
        words = split(text.removeprefix("export "))
        name, equals, value = (words[0] if words else "").partition("=")
        if equals and name.isidentifier():
            env[name] = Word(value, f"{source.display}:{number}")
    return env


def _expand(words: list[str], env: dict[str, Word]) -> list[str]:
    """systemd's expansion: a word that is only ``$VAR`` becomes the value's words,
    ``${VAR}`` inside a word its value."""
    out = []
    for word in words:
        whole = re.fullmatch(r"\$(\w+)", word)
        if whole:
            found = env.get(whole.group(1))
            out += split(found.text) if found else []
            continue
        out.append(_VAR.sub(lambda m: env[m.group(1) or m.group(2)].text
                            if (m.group(1) or m.group(2)) in env else "", word))
    return out


def _jvm_options(words: list[str]) -> list[str] | None:
    """The JVM's options on a command line that runs ``java`` (None when none does):
    the words after it up to the main class or ``-jar FILE``/``-m MODULE``."""
    for i, word in enumerate(words):
        name = word.rsplit("/", 1)[-1]
        if name == "java":
            break
        if name in ("sh", "bash") and "-c" in words[i + 1:i + 2] and i + 2 < len(words):
            return _jvm_options(split(words[i + 2].replace("exec ", "", 1)))
    else:
        return None
    options, rest = [], iter(words[i + 1:])
    for word in rest:
        if word in ("-jar", "-m", "--module") or not word.startswith("-"):
            break
        options.append(word)
        if word in _TAKES_VALUE:
            next(rest, None)
    return options


def _limit(host, unit) -> tuple[int | None, str, str]:
    ram = host.fact("ram")
    found = None
    for key in ("MemoryMax", "MemoryLimit"):
        setting = unit.memory(key)
        nbytes = setting.value.resolve(ram.value if ram else None) if setting else None
        if nbytes is not None and (found is None or nbytes < found[0]):
            found = (nbytes, f"{key}={setting.assignment.value}", setting.where)
    return found if found else (None, "", "")


def starts(host) -> list[Start]:
    """Every JVM the host's loaded service units start, computed once per host."""
    if CACHE in host.cache:
        return host.cache[CACHE]
    found = []
    units = units_of(host)
    for unit in units.loaded():
        if unit.kind != "service" or unit.is_template:
            continue
        execs = unit.values("ExecStart")
        if not execs:
            continue
        unit_file, a = execs[-1]
        env, unread = environment(host, unit)
        options = _jvm_options(_expand(split(a.value.lstrip("-@:+!")), env))
        where = f"{unit_file.display}:{a.line}"
        wrapper = [v for v in WRAPPER_VARS if v in env]
        if options is None and not wrapper and not any(
                v in env for v in ("JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS")):
            continue
        words = _var_words(env, "JAVA_TOOL_OPTIONS") + _var_words(env, "JDK_JAVA_OPTIONS")
        if options is not None:
            words += [Word(w, where) for w in options]
            how = "ExecStart runs java"
        else:
            for var in wrapper:
                words += _var_words(env, var)
            how = (f"ExecStart runs a script given {', '.join(wrapper)}" if wrapper else
                   "its environment sets JAVA_TOOL_OPTIONS/_JAVA_OPTIONS")
        words += _var_words(env, "_JAVA_OPTIONS")
        found.append(Start(unit, words, how, where, env, *_limit(host, unit), tuple(unread)))
    host.cache[CACHE] = found
    return found


def _var_words(env: dict[str, Word], name: str) -> list[Word]:
    value = env.get(name)
    if value is None:
        return []
    return [Word(w, value.where) for w in split(value.text)]
