"""tmpwatch (RHEL 5/6): the cron script ``/etc/cron.daily/tmpwatch``.

Every tmpwatch call that cleans ``/tmp`` gets ``-x PATH`` for each protected
path it lacks; no other byte of the script changes. A script whose shape we
do not follow is refused untouched rather than guessed at. The script must
parse (``sh -n``) before and after the edit.
"""

import os
import re
from dataclasses import dataclass
from typing import List, Set, Tuple

from ..core.errors import UsageError
from ..core.rootfs import Root
from . import shell
from .base import Cleaner, NotUnderstood, Plan, check_sh_syntax, norm_path, read

TMPWATCH = "/etc/cron.daily/tmpwatch"
RPMNEW = TMPWATCH + ".rpmnew"

_FLAG_CLUSTER = re.compile(r"^-[A-Za-wyzA-TV-WYZ]+$")  # flags without x, X or U
_GLOB = set("*?[]{}")
_ARG_LONG = ("exclude", "exclude-user", "exclude-pattern")


@dataclass
class TmpwatchCall:
    """One tmpwatch command of the script, as far as sunray needs it."""

    line: int
    cleans_tmp: bool
    excluded: Set[str]  # normalised literal -x paths
    anchor: int         # offset where new options go (end of the word before the age)
    dirs: List[str]


def _not_understood(where, line, why):
    return NotUnderstood(f"{where}: line {line}: {why}; sunray does not understand this "
                         "shape and changed nothing (add the -x options by hand)")


def tmpwatch_calls(text: str, where: str = TMPWATCH) -> List[TmpwatchCall]:
    """Every tmpwatch call in the script, or NotUnderstood."""
    try:
        cmds, loops = shell.commands(text)
    except shell.ShellShapeError as e:
        raise _not_understood(where, e.line or "?", str(e)) from e
    calls: List[TmpwatchCall] = []
    accounted: Set[int] = set()  # offsets of the words that are a call or a test
    for cmd in cmds:
        if not cmd.words:
            continue
        head = cmd.words[0]
        if head.expands:
            raise _not_understood(where, head.line, f"command run through a variable ({head.raw})")
        if head.value in ("eval", "exec") and any("tmpwatch" in w.raw for w in cmd.words):
            raise _not_understood(where, head.line, f"tmpwatch run through {head.value}")
        if head.value == "tmpwatch" or head.value.endswith("/tmpwatch"):
            calls.append(_tmpwatch_call(cmd, cmds, loops, where))
            accounted.update(w.start for w in cmd.words)
        elif head.value in ("[", "test"):  # e.g. [ -x /usr/sbin/tmpwatch ] || exit 0
            accounted.update(w.start for w in cmd.words)
    for cmd in cmds:
        for w in cmd.assignments + cmd.words:
            if "tmpwatch" in w.raw and w.start not in accounted:
                raise _not_understood(where, w.line,
                                      f"tmpwatch used in a way sunray does not follow ({w.raw})")
    for name, items in loops.items():
        if any(item is not None and "tmpwatch" in item.raw for item in items):
            raise _not_understood(where, "?", f"tmpwatch named in the list of loop variable {name}")
    if not calls:
        raise NotUnderstood(f"{where}: no tmpwatch call found; sunray does not understand "
                            "this script and changed nothing")
    return calls


def _values(word, cmds, loops, where):
    """The values a word can take: itself, or what the script assigns its variable."""
    if word.literal:
        return [word.value]
    if word.only_variable:
        defs = shell.definitions(cmds, loops, word.only_variable)
        if defs and all(d is not None and d.literal for d in defs):
            return [d.value for d in defs]
    raise _not_understood(where, word.line, f"tmpwatch argument {word.raw} has a value sunray cannot see")


def _tmpwatch_call(cmd, cmds, loops, where):
    words = cmd.words
    excluded, positional = set(), []
    options_done = False
    end_of_options = None  # index of a "--" word: new options must go before it
    k = 1
    while k < len(words):
        w = words[k]
        k += 1
        if options_done:
            positional.append((w, _values(w, cmds, loops, where)))
            continue
        if w.literal and w.value == "--":
            options_done = True
            end_of_options = k - 1
            continue
        values = _values(w, cmds, loops, where)
        if not any(v.startswith("-") and v != "-" for v in values):
            positional.append((w, values))
            continue
        if w.expands:
            # A variable full of options is fine as long as none takes an argument.
            if not all(_FLAG_CLUSTER.match(v) for v in values):
                raise _not_understood(where, w.line, f"options in {w.raw} that sunray cannot follow")
            continue
        opt = w.value
        if opt.startswith("--"):
            name, eq, arg = opt[2:].partition("=")
            takes_arg = name in _ARG_LONG or (not eq and any(
                a.startswith(name) for a in _ARG_LONG))
            if takes_arg and not eq:
                if k >= len(words):
                    break
                arg_word = words[k]
                k += 1
                arg = arg_word.value if arg_word.literal else None
            if name == "exclude" and arg:
                excluded.add(norm_path(arg))
            continue
        for pos, letter in enumerate(opt[1:], start=1):
            if letter in "xXU":
                arg = opt[pos + 1:]
                if not arg and k < len(words):
                    arg = words[k].value if words[k].literal else None
                    k += 1
                if letter == "x" and arg:
                    excluded.add(norm_path(arg))
                break
    if len(positional) < 2:  # no age and directory: --help, --version
        return TmpwatchCall(cmd.line, False, excluded, words[0].end, [])
    age_word = positional[0][0]
    dirs = positional[1:]
    cleans_tmp = False
    for w, values in dirs:
        for v in values:
            if norm_path(v) == "/tmp":
                if w.expands:
                    raise _not_understood(where, w.line, f"/tmp is given through a variable ({w.raw})")
                cleans_tmp = True
            elif _GLOB & set(v):
                prefix = re.split(r"[*?\[\]{}]", v, maxsplit=1)[0]
                if "/tmp/".startswith(prefix) or prefix.startswith("/tmp"):
                    raise _not_understood(where, w.line, f"directory pattern {v} may mean /tmp")
    before = words.index(age_word)
    if end_of_options is not None and end_of_options < before:
        before = end_of_options
    anchor = words[before - 1].end
    return TmpwatchCall(cmd.line, cleans_tmp, excluded, anchor, [w.raw for w, _ in dirs])


# --- what is missing: one computation for status and the plan --------------


def _missing_by_call(calls: List[TmpwatchCall], protect: List[str]) -> List[Tuple[TmpwatchCall, List[str]]]:
    """Each call that cleans /tmp, with the protected paths it does not exclude."""
    return [(call, [p for p in protect if norm_path(p) not in call.excluded])
            for call in calls if call.cleans_tmp]


def _missing_in(text: str, protect: List[str], where: str) -> List[str]:
    """The protected paths some /tmp call of the script does not exclude."""
    not_excluded: List[str] = []
    for _, call_missing in _missing_by_call(tmpwatch_calls(text, where), protect):
        not_excluded += [p for p in call_missing if p not in not_excluded]
    return not_excluded


def missing(root: Root, protect: List[str]) -> List[str]:
    """The protected paths the installed script would still delete."""
    return _missing_in(read(root, TMPWATCH)[0], protect, TMPWATCH)


# --- the plan --------------------------------------------------------------


def _plain_paths(protect):
    for p in protect:
        if _GLOB & set(p):
            raise UsageError(f"protected path {p!r}: tmpwatch -x takes a plain path, "
                             "not a pattern")
    return protect


def plan(root: Root, settings: dict, protect: List[str]) -> Plan:
    """``-x PATH`` inserted into every /tmp call that lacks it."""
    protect = _plain_paths(protect)
    text, encoding = read(root, TMPWATCH)
    edit = Plan(CLEANER.name, TMPWATCH)
    check_sh_syntax(text, TMPWATCH, edited=False)
    calls = tmpwatch_calls(text)
    tmp_calls = _missing_by_call(calls, protect)
    inserts = []
    for call, call_missing in tmp_calls:
        if call_missing:
            inserts.append((call.anchor, "".join(f" -x {p}" for p in call_missing)))
            edit.added.append({"line": call.line, "paths": call_missing})
    new = text
    for anchor, insert in sorted(inserts, reverse=True):
        new = new[:anchor] + insert + new[anchor:]
    others = len(calls) - len(tmp_calls)
    if not tmp_calls:
        edit.summary = f"none of its {len(calls)} tmpwatch call(s) cleans /tmp: nothing to protect"
    elif inserts:
        check_sh_syntax(new, TMPWATCH)
        edit.content = new.encode(encoding)
        lines = ", ".join(str(a["line"]) for a in edit.added)
        added = [p for p in protect if any(p in a["paths"] for a in edit.added)]
        edit.summary = (f"added -x for {', '.join(added)}"
                        f" to the /tmp call(s) on line {lines}")
    else:
        edit.summary = f"already protects {', '.join(protect)} in every /tmp call"
    if others:
        edit.summary += f" ({others} call(s) not cleaning /tmp left alone)"
    _warn_about_rpmnew(root, protect, edit)
    return edit


def _warn_about_rpmnew(root, protect, edit):
    if not os.path.lexists(root.path(RPMNEW)):
        return
    try:
        rpmnew_missing = _missing_in(read(root, RPMNEW)[0], protect, RPMNEW)
        state = ("it protects them too" if not rpmnew_missing
                 else f"it does NOT protect {', '.join(rpmnew_missing)}")
    except UsageError:
        state = "sunray cannot tell whether it protects them"
    edit.warnings.append(f"{RPMNEW} exists (left by a tmpwatch update); {state}. If you "
                         "install it in place of the script, run patch-tmpwatch again")



CLEANER = Cleaner(
    name="tmpwatch",
    file=TMPWATCH,
    looked_for=TMPWATCH,
    missing=missing,
    plan=plan,
    rpmnew=RPMNEW,
)
