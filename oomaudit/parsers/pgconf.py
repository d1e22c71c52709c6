"""postgresql.conf's syntax, read the way the server's guc-file.l reads it (PostgreSQL 15).

Measured against ``postgres -C NAME -D DIR`` (tests/postgresql/test_pg_oracle.py):

* A flex lexer, longest match first, ties to the earlier rule: ``ID``, ``A.B`` (qualified
  ID), ``'quoted'`` strings (``''`` and backslash escapes, never across a line), unquoted
  strings (a letter, then letters, digits and ``-._:/``), integers (digits or ``0x`` hex,
  then any letters: ``64MB``), reals (``1.5``, ``.``, ``1.5e3``), ``=``, ``#`` comments,
  blanks (space, tab, CR). Anything else is an error token.
* A line is ``NAME [=] VALUE`` then end of line. So unquoted ``1.5GB`` (a real, then an
  ID) and ``128 MB`` are syntax errors while ``'1.5GB'`` is fine; ``1e3`` lexes as
  ``1e`` then ``3``. The server names the bad token (``near token "GB"``) or the end of the
  line, keeps reading (up to 100 errors a file), and then refuses to start.

One file's text in, its statements and rejected lines out; what a cluster makes of its
files (includes: ``pginclude``; values in force: ``pgcluster``) is read elsewhere. The
sniffer that recognises the format lives here, as it is this lexer that decides.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from .linescan import numbered

MAX_ERRORS = 100  # syntax errors before the server abandons a file

ID, QUALIFIED_ID, STRING, UNQUOTED, INTEGER, REAL, EQUALS, EOL, ERROR = (
    "ID", "QUALIFIED_ID", "STRING", "UNQUOTED_STRING", "INTEGER", "REAL", "=", "EOL", "ERROR")
# flex's [A-Za-z_\200-\377]: any non-ASCII character. Written as a negated class: a range up
# to \U0010ffff costs re.compile ~10 ms per pattern, paid on every run's start-up.
_LETTER = r"(?:[A-Za-z_]|[^\x00-\x7f])"
_LETTER_OR_DIGIT = r"(?:[A-Za-z_0-9]|[^\x00-\x7f])"
_ID = f"{_LETTER}{_LETTER_OR_DIGIT}*"
# In flex's rule order: a tie in length goes to the earlier rule.
_RULES = [(kind, re.compile(pattern)) for kind, pattern in (
    (ID, _ID),
    (QUALIFIED_ID, rf"{_ID}\.{_ID}"),
    (STRING, r"'(?:[^'\\\n]|\\[^\n]|'')*'"),
    (UNQUOTED, rf"{_LETTER}(?:{_LETTER_OR_DIGIT}|[-._:/])*"),
    (INTEGER, r"[-+]?(?:0x[0-9a-fA-F]+|[0-9]+)[a-zA-Z]*"),
    (REAL, r"[-+]?[0-9]*\.[0-9]*(?:[Ee][-+]?[0-9]+)?"),
    (EQUALS, r"="),
)]
# The rules a token's first character can start, in rule order (the others cannot match:
# not tried); a character none starts is an error token.
_LETTER_RULES = tuple(r for r in _RULES if r[0] in (ID, QUALIFIED_ID, UNQUOTED))
_NUMBER_RULES = tuple(r for r in _RULES if r[0] in (INTEGER, REAL))
_STARTS = {**dict.fromkeys("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_",
                           _LETTER_RULES),
           **dict.fromkeys("+-0123456789", _NUMBER_RULES),
           **{first: tuple(r for r in _RULES if r[0] == kind)
              for first, kind in ((".", REAL), ("'", STRING), ("=", EQUALS))}}
_VALUE_TOKENS = (ID, STRING, INTEGER, REAL, UNQUOTED)
_BLANKS = re.compile(r"[ \t\r]+")
# A line with a token: blanks, then a character that starts one. The rest of the file
# (a stock postgresql.conf is mostly comments) is skipped by this one C scan.
_CONTENT = re.compile(r"^[ \t\r]*[^ \t\r\n#].*", re.M)


class Token(NamedTuple):
    """A guc-file.l token: ``kind`` is the flex rule that matched (``ERROR`` for a character no
    rule takes, ``EOL`` for a newline); ``line`` is 1-based."""

    kind: str
    text: str
    line: int


def lex(text: str, line: int = 1):
    """Tokens of ``text`` (whose first line is ``line``), EOL tokens included; the stream
    simply ends at EOF."""
    pos, end = 0, len(text)
    while pos < end:
        ch = text[pos]
        if ch == "\n":
            yield Token(EOL, ch, line)
            line += 1
            pos += 1
            continue
        if ch in " \t\r":
            pos = _BLANKS.match(text, pos).end()
            continue
        if ch == "#":
            newline = text.find("\n", pos)
            pos = end if newline < 0 else newline
            continue
        best_kind, best_end = ERROR, pos + 1
        for kind, pattern in _STARTS.get(ch, _LETTER_RULES if ch > "\x7f" else ()):
            m = pattern.match(text, pos)
            if m and m.end() > best_end or m and best_kind == ERROR and m.end() == best_end:
                best_kind, best_end = kind, m.end()
        yield Token(best_kind, text[pos:best_end], line)
        pos = best_end


class Statement(NamedTuple):
    """``name [=] value`` on ``line``; value de-escaped when it was quoted."""

    name: str
    value: str
    line: int


class SyntaxProblem(NamedTuple):
    """A line the server rejects, at the token it stopped at; reading goes on at the next
    line. ``message`` is the server's own wording."""

    line: int
    near: str | None  # the offending token; None: the end of the line

    def message(self, path: str) -> str:
        where = f'near token "{self.near}"' if self.near is not None else "near end of line"
        return f'syntax error in file "{path}" line {self.line}, {where}'


def parse_text(text: str) -> tuple[list[Statement], list[SyntaxProblem]]:
    """ParseConfigFp's loop: the statements in order and the lines it rejects.

    No token spans a newline, and after a bad token the server skips to the end of the line,
    so each line is lexed alone and left at its first bad token: the tokens after it are
    never lexed. Lexing them would cost a scan to the end of the line for each unclosed
    quote in ``'\\'\\'\\'...`` (quadratic); this way a line costs a few tokens."""
    statements: list[Statement] = []
    problems: list[SyntaxProblem] = []
    for number, line in numbered(_CONTENT, text):  # lines of blanks, comments lex to nothing
        tokens = lex(line, number)
        token = next(tokens)
        bad = None
        if token.kind not in (ID, QUALIFIED_ID):
            bad = token
        else:
            name = token.text
            value = next(tokens, None)
            if value is not None and value.kind == EQUALS:
                value = next(tokens, None)
            if value is None or value.kind not in _VALUE_TOKENS:
                bad = value
            else:
                after = next(tokens, None)
                if after is None:
                    text_value = unquote(value.text) if value.kind == STRING else value.text
                    statements.append(Statement(name, text_value, value.line))
                    continue
                bad = after
        problems.append(SyntaxProblem(number, None if bad is None else bad.text))
        if len(problems) >= MAX_ERRORS:
            break
    return statements, problems


_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def unquote(token: str) -> str:
    """DeescapeQuotedString: ``''`` is a quote, ``\\n``-style and octal escapes, any other
    escaped character stands for itself; a NUL ends the C string."""
    body, out, i = token[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            octal = re.match(r"[0-7]{1,3}", body[i + 1:])
            if octal:
                out.append(chr(int(octal.group(), 8) & 0xFF))
                i += 1 + len(octal.group())
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
        elif ch == "'" and body[i + 1:i + 2] == "'":
            out.append("'")
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out).split("\0", 1)[0]


# -- recognising the format --------------------------------------------------------------

_PG_NAMES = frozenset("""
shared_buffers work_mem maintenance_work_mem effective_cache_size wal_buffers
autovacuum_work_mem hash_mem_multiplier temp_buffers listen_addresses hba_file ident_file
data_directory unix_socket_directories max_wal_size min_wal_size checkpoint_completion_target
random_page_cost effective_io_concurrency default_statistics_target log_line_prefix
wal_level max_wal_senders synchronous_commit shared_preload_libraries datestyle
lc_messages lc_monetary default_text_search_config autovacuum_max_workers
dynamic_shared_memory_type cluster_name huge_pages max_worker_processes
max_parallel_workers_per_gather include_dir password_encryption
""".split())


def looks_like_postgresql(head: str) -> bool:
    """True when the first KiBs read as postgresql.conf: every data line is ``NAME [=] VALUE``
    to the server's lexer (the last line may be cut off), at least one name is a
    PostgreSQL parameter that MySQL, sysctl, PHP or web servers do not use, or the file
    carries the stock header ("PostgreSQL configuration file"). A template is refused before
    it is asked (oomaudit/recognise.py), its values' placeholders read as a word."""
    lowered = head.lower()
    if "postgresql configuration file" not in lowered \
            and not any(name in lowered for name in _PG_NAMES):
        return False  # cheap exit for the many files of a repository that are not ours
    complete = head if head.endswith("\n") else head[:head.rfind("\n") + 1]
    statements, problems = parse_text(complete)
    if problems:
        return False
    return any(s.name.lower() in _PG_NAMES for s in statements) \
        or "postgresql configuration file" in head.lower()
