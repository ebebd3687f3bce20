"""A small, strict reader of POSIX shell text: words with their byte spans.

Enough of the shell grammar to find simple commands in a cron script or a
sourced config file and to edit one argument list without touching any
other byte. It never executes anything. What it does not understand (a
here-document, an unterminated quote) raises ``ShellShapeError`` so that the
caller refuses instead of guessing.
"""

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple, Union

OPERATORS = ("&&", "||", ";;", ">>", "<<", "<&", ">&", "<>", ">|",
             ";", "&", "|", "(", ")", "<", ">", "\n")
REDIRECTIONS = (">>", "<<", "<&", ">&", "<>", ">|", "<", ">")
RESERVED = {"if", "then", "else", "elif", "fi", "do", "done", "while", "until",
            "!", "{", "}", "case", "esac", "in"}

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


class ShellShapeError(ValueError):
    """The text uses shell syntax this reader does not follow."""

    def __init__(self, message: str, line: Optional[int] = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class Word:
    start: int           # offset of the first character in the text
    end: int             # offset just past the last character
    raw: str             # the text as written (quotes included)
    value: str           # after quote removal (expansions left as written)
    expands: bool        # contains $..., `...` outside single quotes
    only_variable: str = ""  # the word is exactly one "$NAME" / ${NAME} / $NAME
    line: int = 1

    @property
    def literal(self) -> bool:
        return not self.expands


@dataclass
class Op:
    start: int
    end: int
    raw: str
    line: int = 1


@dataclass
class Command:
    """One simple command: leading assignments, words, redirections dropped."""

    assignments: List[Word]
    words: List[Word]  # words[0] is the command name
    line: int


Token = Union[Word, Op]
# A loop variable's name -> the Words it iterates over (None: values unseen).
Loops = Dict[str, List[Optional[Word]]]


def tokens(text: str) -> List[Token]:
    """Words and operators of ``text`` (comments and line continuations skipped)."""
    out: List[Token] = []
    i, n = 0, len(text)
    line = 1
    while i < n:
        ch = text[i]
        if ch in " \t\r":
            i += 1
            continue
        if text.startswith("\\\n", i):
            i += 2
            line += 1
            continue
        if ch == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        op = next((o for o in OPERATORS if text.startswith(o, i)), None)
        if op:
            if op == "<<":
                raise ShellShapeError("here-document", line)
            out.append(Op(i, i + len(op), op, line))
            if op == "\n":
                line += 1
            i += len(op)
            continue
        word, i, line = _word(text, i, line)
        out.append(word)
    return out


def _single_quote_close(text, i, line, unterminated="single quote"):
    """Index of the quote that closes the single-quoted string opening at
    ``text[i]`` (nothing is special inside it); ShellShapeError("unterminated
    ...") when it never closes."""
    j = text.find("'", i + 1)
    if j < 0:
        raise ShellShapeError(f"unterminated {unterminated}", line)
    return j


def _word(text, i, line):
    start, start_line = i, line
    n = len(text)
    value = []
    expands = False
    while i < n:
        ch = text[i]
        if ch in " \t\r\n;&|()<>":
            break
        if ch == "\\":
            if i + 1 < n and text[i + 1] == "\n":
                i += 2
                line += 1
                continue
            value.append(text[i:i + 2])
            i += 2
            continue
        if ch == "'":
            j = _single_quote_close(text, i, line)
            value.append(text[i + 1:j])
            line += text.count("\n", i, j)
            i = j + 1
            continue
        if ch == '"':
            i += 1
            while True:
                if i >= n:
                    raise ShellShapeError("unterminated double quote", start_line)
                c = text[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\":
                    value.append(text[i:i + 2])
                    line += text.count("\n", i, i + 2)
                    i += 2
                    continue
                if c in "$`":
                    expands = True
                    j = _expansion_end(text, i, line)
                    value.append(text[i:j])
                    line += text.count("\n", i, j)
                    i = j
                    continue
                if c == "\n":
                    line += 1
                value.append(c)
                i += 1
            continue
        if ch in "$`":
            j = _expansion_end(text, i, line)
            if j > i + 1 or ch == "`":  # a lone "$" is literal
                expands = True
            value.append(text[i:j])
            line += text.count("\n", i, j)
            i = j
            continue
        if ch == "#" and i == start:  # pragma: no cover - handled by tokens()
            break
        value.append(ch)
        i += 1
    raw = text[start:i]
    word = Word(start, i, raw, "".join(value), expands, line=start_line)
    m = re.fullmatch(r'"?\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))"?', raw)
    if m and raw.count('"') in (0, 2):
        word.only_variable = m.group(1) or m.group(2)
    return word, i, line


def _expansion_end(text, i, line):
    """End offset of the expansion starting at text[i] ($NAME, ${}, $(), ``)."""
    n = len(text)
    if text[i] == "`":
        j = i + 1
        while j < n and text[j] != "`":
            j += 2 if text[j] == "\\" else 1
        if j >= n:
            raise ShellShapeError("unterminated backquote", line)
        return j + 1
    if i + 1 >= n:
        return i + 1
    nxt = text[i + 1]
    if nxt == "{":
        return _closing(text, i + 2, "{", "}", line)
    if nxt == "(":
        return _closing(text, i + 2, "(", ")", line)
    m = _NAME.match(text, i + 1)
    if m:
        return m.end()
    if nxt in "@*#?$!-0123456789":
        return i + 2
    return i + 1  # a lone "$" is literal


def _closing(text, i, opening, closing, line):
    depth = 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "'":
            i = _single_quote_close(text, i, line, unterminated=opening) + 1
            continue
        if c == opening:
            depth += 1
        elif c == closing:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ShellShapeError(f"unterminated {opening}", line)


def commands(text: str) -> Tuple[List[Command], Loops]:
    """Simple commands of ``text`` plus every ``for NAME in WORDS`` list.

    Returns (commands, loops) where loops maps a loop variable name to the
    list of Words it iterates over (one list per loop, concatenated).
    """
    toks = tokens(text)
    result: List[Command] = []
    loops: Loops = {}
    current: List[Word] = []

    def flush() -> None:
        if current:
            result.append(_simple(current))
            current.clear()

    i = 0
    while i < len(toks):
        t = toks[i]
        if isinstance(t, Op):
            if t.raw in REDIRECTIONS:
                i += 2  # the operator and its target word
                continue
            flush()
            i += 1
            continue
        if not current and t.raw == "case":
            i += 2  # "case WORD": the patterns that follow end in ")"
            continue
        if not current and t.raw in RESERVED:
            i += 1
            continue
        if not current and t.raw == "for":
            name = toks[i + 1] if i + 1 < len(toks) else None
            if not isinstance(name, Word) or not _NAME.fullmatch(name.raw):
                raise ShellShapeError("for loop without a variable name", t.line)
            j = i + 2
            items: List[Optional[Word]] = []
            if j < len(toks) and isinstance(toks[j], Word) and toks[j].raw == "in":
                j += 1
                while j < len(toks):
                    item = toks[j]
                    if not isinstance(item, Word):
                        break
                    items.append(item)
                    j += 1
            else:
                items.append(None)  # iterates over "$@": unknown values
            loops.setdefault(name.raw, []).extend(items)
            i = j
            continue
        if (isinstance(t, Word) and i + 1 < len(toks) and isinstance(toks[i + 1], Op)
                and toks[i + 1].raw in REDIRECTIONS and t.raw.isdigit()
                and toks[i + 1].start == t.end):
            i += 1  # an io number ("2>"): part of the redirection
            continue
        current.append(t)
        i += 1
    flush()
    return result, loops


def _simple(words):
    assignments = []
    k = 0
    while k < len(words) and _ASSIGNMENT.match(words[k].raw):
        assignments.append(words[k])
        k += 1
    return Command(assignments, words[k:], words[0].line)


def definitions(cmds: List[Command], loops: Loops, name: str) -> List[Optional[Word]]:
    """Every value the script gives variable ``name``, as Words (None for a
    value that cannot be seen, e.g. a loop over "$@")."""
    found: List[Optional[Word]] = []
    for cmd in cmds:
        for a in cmd.assignments:
            if a.raw.split("=", 1)[0] == name:
                found.append(_assigned_value(a))
    found.extend(loops.get(name, []))
    return found


def _assigned_value(word):
    eq = word.raw.index("=") + 1
    sub, _, _ = _word(word.raw[eq:], 0, word.line)
    sub.start += word.start + eq
    sub.end += word.start + eq
    return sub
