"""tmpreaper (Debian): ``TMPREAPER_PROTECT_EXTRA`` in ``/etc/tmpreaper.conf``.

The daily cron script sources the file with sh and passes every word of
``TMPREAPER_PROTECT_EXTRA`` to ``tmpreaper --protect``. Each protected path
is added as itself and as ``path/*`` (tmpreaper matches the two forms
separately); the admin's entries, quoting and comment stay.
"""

import re
from typing import List, Tuple

from ..core.rootfs import Root
from .base import Cleaner, NotUnderstood, Plan, check_sh_syntax, read

TMPREAPER = "/etc/tmpreaper.conf"

_REAPER_LINE = re.compile(r"^([ \t]*(?:export[ \t]+)?TMPREAPER_PROTECT_EXTRA=)(.*)$", re.M)
_REAPER_VALUE = (
    ("'", re.compile(r"^'([^']*)'([ \t]*(?:#.*)?)$")),
    ('"', re.compile(r'^"([^"$`\\]*)"([ \t]*(?:#.*)?)$')),
    ("", re.compile(r"^([^\s'\"$`\\;&|<>()#]*)([ \t]*(?:#.*)?)$")),
)


def _patterns(path):
    """tmpreaper matches a directory and its contents separately: both forms."""
    return [path, path + "/*"]


def _protect_extra(text):
    """(match or None, value, quote, rest of the line) of the effective assignment."""
    matches = list(_REAPER_LINE.finditer(text))
    if not matches:
        return None, "", None, ""
    m = matches[-1]  # the last assignment is the one the cron script sees
    for quote, pattern in _REAPER_VALUE:
        v = pattern.match(m.group(2))
        if v:
            return m, v.group(1), quote, v.group(2)
    line = text.count("\n", 0, m.start()) + 1
    raise NotUnderstood(f"{TMPREAPER}: line {line}: TMPREAPER_PROTECT_EXTRA is set in a way "
                        "sunray does not follow (expansions, several lines or commands); "
                        "nothing was changed")


def _missing_patterns(value: str, protect: List[str]) -> List[Tuple[str, List[str]]]:
    """Each protected path not fully in the value, with its patterns the value lacks."""
    have = value.split()
    by_path = [(p, [form for form in _patterns(p) if form not in have]) for p in protect]
    return [(p, forms) for p, forms in by_path if forms]


def missing(root: Root, protect: List[str]) -> List[str]:
    """The protected paths the effective TMPREAPER_PROTECT_EXTRA does not cover."""
    value = _protect_extra(read(root, TMPREAPER)[0])[1]
    return [p for p, _ in _missing_patterns(value, protect)]


def plan(root: Root, settings: dict, protect: List[str]) -> Plan:
    """The missing patterns added to the last assignment, or a new assignment."""
    from ..core.templating import render  # lazy: jinja2 only when a plan is made

    text, encoding = read(root, TMPREAPER)
    edit = Plan(CLEANER.name, TMPREAPER)
    check_sh_syntax(text, TMPREAPER, edited=False)
    m, value, quote, tail = _protect_extra(text)
    new_patterns = [form for _, forms in _missing_patterns(value, protect) for form in forms]
    if not new_patterns:
        edit.summary = "TMPREAPER_PROTECT_EXTRA already protects " + ", ".join(protect)
    elif m is None:
        block = render("tmpreaper-protect.j2", patterns=new_patterns)
        sep = "" if not text or text.endswith("\n") else "\n"
        new = text + sep + block
        edit.summary = "added a TMPREAPER_PROTECT_EXTRA line for " + ", ".join(new_patterns)
    else:
        sep = "" if not value or value[-1].isspace() else " "
        inner = value + sep + " ".join(new_patterns)
        quote = quote or "'"  # a bare value with blanks in it needs quotes
        new = text[:m.start(2)] + quote + inner + quote + tail + text[m.end(2):]
        edit.summary = "added " + ", ".join(new_patterns) + " to TMPREAPER_PROTECT_EXTRA"
    if new_patterns:
        check_sh_syntax(new, TMPREAPER)
        edit.content = new.encode(encoding)
        edit.added = new_patterns
    if re.search(r"^[ \t]*SHOWWARNING=[\"']?true", text, re.M):
        edit.notes.append("tmpreaper: SHOWWARNING=true in /etc/tmpreaper.conf keeps the daily "
                          "run switched off; the protection is in place for when it runs")
    return edit



CLEANER = Cleaner(
    name="tmpreaper",
    file=TMPREAPER,
    looked_for=TMPREAPER,
    missing=missing,
    plan=plan,
)
