"""The command line: parse the arguments, run the command's function, contain its errors.

Each command's function lives in ``oomaudit/commands/`` (``COMMANDS`` names it) and is
imported only when that command runs. Every failure a user can cause ends here as one
line on stderr and exit code 2; ``--debug`` adds the traceback for bug reports.

One concern: the command line as a user meets it. Most of its lines define the commands'
options and help, which read best together (the same option is worded alike everywhere);
the work behind them is in ``oomaudit/commands/``.
"""
from __future__ import annotations

import argparse
import os
import sys
from importlib import import_module

from . import __version__
from .errors import UsageError
from .model import Severity

EPILOG = """exit codes: 0 nothing at or above --fail-on, 1 findings at or above it,
2 usage, config, input or internal error"""


def _csv(value: str) -> list[str]:
    return [v.strip().upper() for v in value.split(",") if v.strip()]


def _severity(value: str) -> Severity:
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _size(value: str) -> int:
    from .units import parse_size
    try:
        return parse_size(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _ram(value: str) -> int:
    size = _size(value)
    if size == 0:  # no swap is a host; no RAM is a typo, and every share of it nonsense
        raise argparse.ArgumentTypeError("RAM must be above 0")
    return size


def _since(value: str) -> str:
    """``--since`` checked as it is given: a span or date out of range (``99999999999d``,
    ``0001-01-01``, 5000 digits) is then this option's usage error, not an internal error
    once the audit has run. The text is kept; the command reads it."""
    if value.strip().lower() == "last":
        return value
    from .logview import parse_since

    try:
        parse_since(value)
    except UsageError as exc:  # its words, after argparse's "argument --since: "
        raise argparse.ArgumentTypeError(_shown(str(exc).removeprefix("--since "))) from None
    except (OverflowError, ValueError):
        raise argparse.ArgumentTypeError(
            f"{_shown(value)} is out of range: a date from year 2 to 9999, or a span that "
            "reaches no earlier (e.g. 30d, 12h, 2w)") from None
    return value


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        jobs = 0
    if not 1 <= jobs <= 256:
        raise argparse.ArgumentTypeError(f"{_shown(value)}: a number of processes, 1 to 256")
    return jobs


def _shown(text: str) -> str:
    """A value in an error: escaped for the terminal, its start if it is long."""
    from .host import terminal

    return terminal(text if len(text) <= 120 else text[:120] + "...")


def _columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` tells it: $COLUMNS, else the
    terminal of stdout, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


class _Width:
    """argparse's formatters ask shutil for the width on every option defined, and
    importing shutil loads zlib, bz2 and lzma: ~3 ms of a pre-commit run that prints no
    help. The same width, from os."""

    def __init__(self, prog, indent_increment=2, max_help_position=24, width=None):
        super().__init__(prog, indent_increment, max_help_position,
                         _columns() - 2 if width is None else width)


class _Formatter(_Width, argparse.HelpFormatter):
    pass


class _RawFormatter(_Width, argparse.RawDescriptionHelpFormatter):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse prints the whole usage block before its error; a bad option is one line
    here, like every other error (the usage is one ``--help`` away). Subcommand parsers
    inherit this class through ``add_subparsers``."""

    def __init__(self, *args, formatter_class=_Formatter, **kwargs):
        super().__init__(*args, formatter_class=formatter_class, **kwargs)

    def error(self, message: str):
        self.exit(2, f"oomaudit: error: {message} (see '{self.prog} --help')\n")


def _common(parser: argparse.ArgumentParser, budget: bool = False,
            formats: str | None = None, several: bool = False) -> None:
    """The options of every command that audits (scan, check, budget). ``budget`` has no
    findings for --quiet or --statistics, and judges HOST002 alone: it hides --select and
    --ignore (which it refuses, saying why). ``several``
    (scan, check): --format and --output repeat, paired in order, as checkov's do: one
    audit written as several reports."""
    out = parser.add_argument_group("output")
    if several:
        out.add_argument("--format", action="append", metavar="FORMAT",
                         help="text (default), json, junit, sarif, github, gitlab, prometheus,"
                              " or one a plugin adds; repeat it for several reports of one run")
        out.add_argument("--output", "-o", action="append", metavar="FILE",
                         help="write the report to FILE ('-': standard output); with several "
                              "--format, one --output each, paired in order")
    else:
        out.add_argument("--format", default="text", metavar="FORMAT",
                         help=formats or ("text (default) or json" if budget else
                                          "text (default), json, junit, or one a plugin adds"))
        out.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE")
    out.add_argument("--color", choices=["auto", "always", "never"], default="auto",
                     help="colour the text: auto (default: on a terminal, unless NO_COLOR; "
                          "FORCE_COLOR forces it), always, never")
    out.add_argument("--no-color", dest="color", action="store_const", const="never",
                     help="same as --color never")
    if not budget:
        out.add_argument("--quiet", "-q", action="store_true",
                         help="text: findings and the summary only, no tables or notices")
        out.add_argument("--statistics", action="store_true",
                         help="text: a count per rule instead of each finding")
    sel = parser.add_argument_group("selection")
    sel.add_argument("--select", type=_csv, action="extend", default=[], metavar="IDS",
                     help=argparse.SUPPRESS if budget else
                     "only these rules: ids or prefixes, comma-separated (e.g. SWAP,CONF001)")
    sel.add_argument("--ignore", type=_csv, action="extend", default=[], metavar="IDS",
                     help=argparse.SUPPRESS if budget else
                     "skip these rules: ids or prefixes, comma-separated")
    sel.add_argument("--fail-on", type=_severity, metavar="SEVERITY",
                     help="lowest severity that makes the exit code 1: info, low (default), "
                          "medium, high, critical")
    sel.add_argument("--exit-zero", action="store_true", help="exit 0 even when findings fail")
    facts = parser.add_argument_group("host facts")
    facts.add_argument("--ram", type=_ram, metavar="SIZE",
                       help="the host's RAM (8G, 8GiB, 512M, bytes); overrides measured/profile")
    facts.add_argument("--swap", type=_size, metavar="SIZE", help="the host's swap size")
    facts.add_argument("--facts", metavar="FILE",
                       help="RAM, swap, CPUs and process sizes measured by 'oomaudit facts' "
                            "on the real host (for a repository or a tree; --ram/--swap win)")
    run = parser.add_argument_group("run")
    run.add_argument("--config", metavar="FILE",
                     help="one config for every target (default: for check each file's "
                          "closest .oomaudit.toml or pyproject.toml, for scan and budget "
                          "/etc/oomaudit.toml)")
    run.add_argument("--no-plugins", action="store_true",
                     help="load only built-in plugins (same as OOMAUDIT_DISABLE_PLUGINS=1)")
    run.add_argument("--jobs", "-j", type=_jobs, default=0, metavar="N",
                     help="processes that audit a repository's hosts (default: one per CPU "
                          "within the cgroup's CPU quota, once there are enough files; 1: "
                          "this process alone)")
    run.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")


def _baseline(parser: argparse.ArgumentParser) -> None:
    """scan and check: adopting oomaudit where findings already are."""
    group = parser.add_argument_group("baseline")
    group.add_argument("--baseline", metavar="FILE",
                       help="hide the findings FILE lists (default: the config's baseline =); "
                            "an entry no finding matches any more is a notice")
    group.add_argument("--write-baseline", metavar="FILE",
                       help="record every finding of this run in FILE (sorted JSON, to commit) "
                            "and hide them")


def _scan(parser: argparse.ArgumentParser) -> None:
    _common(parser, several=True)
    _baseline(parser)
    parser.add_argument("--root", metavar="DIR",
                        help="audit an offline tree laid out like / (image, rootfs, config repo)")
    logs = parser.add_argument_group("kernel logs (KLOG rules)")
    logs.add_argument("--since", metavar="WHEN", type=_since,
                      help="OOM kills since WHEN: 30d (default), 12h, 2w, a date, all, or last "
                           "(only those the previous --since last scan did not report: for a "
                           "periodic scan)")
    logs.add_argument("--state-dir", metavar="DIR",
                      help="where --since last keeps its position (default $OOMAUDIT_STATE_DIR "
                           "or /var/lib/oomaudit)")


def _check(parser: argparse.ArgumentParser) -> None:
    _common(parser, several=True)
    _baseline(parser)
    parser.add_argument("paths", nargs="+", metavar="PATH")


def _budget(parser: argparse.ArgumentParser) -> None:
    _common(parser, budget=True)
    parser.add_argument("--root", metavar="DIR", help="a tree laid out like / instead of this host")
    parser.add_argument("paths", nargs="*", metavar="PATH", help="config files instead of a host")


def _diff(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("revisions_and_paths", nargs="*", metavar="[BASE] [PATH]",
                        help="BASE: the commit to compare with (default: the merge base of "
                             "HEAD and origin/HEAD, main or master); PATHs: what to audit "
                             "(default: .)")
    _common(parser, formats="text (default), json, or markdown (a pull request comment)")


def _rules(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=["text", "json", "markdown"], default="text",
                        help="markdown prints the table the README carries")
    parser.add_argument("--no-plugins", action="store_true")


def _explain(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rule", metavar="ID", help="a rule id, or a prefix (SWAP) to list "
                                                   "the rules whose id starts with it")
    parser.add_argument("--no-plugins", action="store_true")


def _logs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="*", metavar="FILE",
                        help="kernel log files (plain or .gz), '-' for stdin; none: this host's "
                             "journal, /dev/kmsg or dmesg, /var/log/kern.log*, messages*")
    parser.add_argument("--since", metavar="WHEN", type=_since,
                        help="only kills since WHEN: 30d, 12h, 2w, a date, all, or last (those "
                             "not reported by the previous --since last run); default: all of "
                             "a FILE given, 30d of this host's logs")
    parser.add_argument("--state-dir", metavar="DIR",
                        help="where --since last keeps its position (default "
                             "$OOMAUDIT_STATE_DIR or /var/lib/oomaudit)")
    parser.add_argument("--format", choices=["text", "json"], default="text",
                        help="json follows oomaudit/logs.schema.json")
    parser.add_argument("--output", "-o", metavar="FILE", help="write the result to FILE")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")


def _facts(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", metavar="DIR", help="what a tree laid out like / can tell")
    parser.add_argument("--output", "-o", metavar="FILE", help="write the facts to FILE")
    parser.add_argument("--config", metavar="FILE",
                        help="config file (default: /etc/oomaudit.toml, as scan)")
    parser.add_argument("--no-plugins", action="store_true",
                        help="load only built-in plugins (same as OOMAUDIT_DISABLE_PLUGINS=1)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    parser.set_defaults(select=[], ignore=[], fail_on=None)


def _fleet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", metavar="DIR",
                        help="one folder per host holding its report.json (and facts.json), "
                             "as contrib/ansible fetches them, or HOST.json files")
    parser.add_argument("--format", choices=["text", "json", "prometheus"], default="text",
                        help="json follows oomaudit/fleet.schema.json; prometheus writes every "
                             "host's metrics and the fleet's (write it with -o)")
    parser.add_argument("--output", "-o", metavar="FILE", help="write the view to FILE")
    parser.add_argument("--top", type=int, default=20, metavar="N",
                        help="hosts listed in text, riskiest first (default 20, 0: all)")
    parser.add_argument("--fail-on", type=_severity, default=Severity.LOW, metavar="SEVERITY",
                        help="lowest severity of the merged findings that makes the exit code "
                             "1 (default low)")
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when findings fail")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")


def _new_plugin(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME",
                        help="the plugin's name, a lowercase identifier: it names the package "
                             "(oomaudit_NAME), the entry point and the rule (NAME001)")
    parser.add_argument("--dir", metavar="DIR",
                        help="the folder to create (default oomaudit-NAME); never an existing one")
    parser.set_defaults(no_plugins=False)


NEW_PLUGIN_EPILOG = ("docs/architecture.md walks through what it writes. exit codes: 0 written, "
                     "2 NAME taken or not an identifier, DIR exists or cannot be written")
FACTS_EPILOG = ("JSON follows oomaudit/facts.schema.json. exit codes: 0 written, 2 usage, "
                "config or internal error")
LOGS_EPILOG = ("exit codes: 0 no OOM kill in the window, 1 kills found, 2 a named file or "
               "every live source unreadable, or a usage error")
FLEET_EPILOG = ("exit codes: 0 no merged finding at or above --fail-on, 1 some, 2 no report "
                "could be read, or a usage error")
BUDGET_EPILOG = ("exit codes: 0 every host's worst case fits in RAM (or RAM is unknown), 1 it "
                 "exceeds RAM on a host (HOST002 at or above --fail-on), 2 usage, config, "
                 "input or internal error")
DIFF_EPILOG = ("exit codes: 0 the change adds nothing at or above --fail-on, 1 it adds "
               "findings at or above it, 2 usage, config, input, git or internal error")
COMMANDS = {  # name: (help, epilog, what defines its arguments, "module:function" running it)
    "scan": ("audit this host, or a tree with --root", EPILOG, _scan, "commands.audit:scan"),
    "check": ("audit config files and folders (what pre-commit runs)", EPILOG, _check,
              "commands.audit:check"),
    "budget": ("show the memory ledger: each service's worst case against RAM", BUDGET_EPILOG,
               _budget, "commands.budget:budget"),
    "diff": ("what a change adds to and fixes in a repository's audit, against BASE",
             DIFF_EPILOG, _diff, "commands.diff:run"),
    "rules": ("list every rule the loaded plugins provide", None, _rules, "commands.rules:rules"),
    "explain": ("show a rule's documentation", None, _explain, "commands.rules:explain"),
    "logs": ("find OOM kills in kernel logs (files, '-' for stdin, or this host's)",
             LOGS_EPILOG, _logs, "commands.logs:logs"),
    "facts": ("write what this host measures (RAM, CPUs, sysctl, processes, OOM kills) as "
              "JSON, for check --facts and fleet", FACTS_EPILOG, _facts, "commands.facts:facts"),
    "fleet": ("merge many hosts' reports: hosts ranked by risk, rules across the fleet",
              FLEET_EPILOG, _fleet, "commands.fleet:fleet"),
    "new-plugin": ("write a working plugin package to start from: one rule, its catalogue "
                   "entry, a test", NEW_PLUGIN_EPILOG, _new_plugin,
                   "commands.newplugin:new_plugin"),
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    """The parser for ``argv``: when it names a command, only that command is defined
    (argparse spends ~4 ms defining all of them, and a pre-commit hook starts on every
    commit); otherwise every command is listed, without options, for the help and the
    error that name them."""
    parser = _Parser(
        prog="oomaudit", epilog=EPILOG, formatter_class=_RawFormatter,
        description="Audit a Linux host or config files for settings that invite the OOM killer.")
    parser.add_argument("--version", action="version", version=f"oomaudit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (text, epilog, define, _) in COMMANDS.items():
        if chosen in COMMANDS and name != chosen:
            continue
        command = sub.add_parser(name, help=text, epilog=epilog)
        if name == chosen:
            define(command)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    try:
        if args.command is None:
            build_parser(argv).print_help(sys.stderr)
            return 2
        module, _, function = COMMANDS[args.command][3].partition(":")
        return getattr(import_module(f".{module}", __package__), function)(args)
    except UsageError as exc:  # may name a file: shown as text, never run by the terminal
        from .host import terminal

        print(f"oomaudit: error: {terminal(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 2
    except Exception as exc:  # a bug: one line for the user, the traceback on request
        if getattr(args, "debug", False):
            raise
        from .host import terminal

        print(f"oomaudit: internal error: {type(exc).__name__}: {terminal(str(exc))} "
              "(run with --debug for the traceback)", file=sys.stderr)
        return 2


def run() -> None:
    """The process entry point (console script, ``python -m oomaudit``): :func:`main`, then
    exit without the interpreter's teardown, which frees every module and object one by
    one: ~7 ms, a tenth of a pre-commit run on one file. What a normal exit does that
    matters still happens: atexit handlers run and the standard streams are flushed (a
    reader that went away, as ``| head`` does, makes the exit code 2)."""
    code = main()
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = 2
    os._exit(code)
