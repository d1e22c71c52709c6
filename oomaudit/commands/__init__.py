"""One module per command family, each a function of the parsed arguments returning the exit
code. ``oomaudit/cli.py`` names the function of each command (``COMMANDS``) and imports its
module only when that command runs; the commands share ``oomaudit/invocation.py`` (from
arguments to an audit) and ``oomaudit/output.py`` (writing reports and errors)."""
