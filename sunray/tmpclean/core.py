"""Keep the daily /tmp cleaners away from Sun Ray state (task patch-tmpwatch).

Three cleaners exist on the servers we maintain; each one is found under the
root and told to leave the protected paths (``sunray.tmp.protect``) alone:

* tmpwatch (RHEL 5/6): ``/etc/cron.daily/tmpwatch`` is a shell script. Every
  tmpwatch call that cleans ``/tmp`` gets ``-x PATH`` for each protected path
  it lacks; no other byte of the script changes. A script whose shape we do
  not follow is refused untouched rather than guessed at.
* systemd-tmpfiles (RHEL 7+, Debian): the drop-in ``/etc/tmpfiles.d/sunray.conf``.
* tmpreaper (Debian): ``TMPREAPER_PROTECT_EXTRA`` in ``/etc/tmpreaper.conf``
  gets each path and ``path/*`` (tmpreaper matches both forms separately).

All edits are planned and checked (``sh -n``) before the first file is
written, so bad input in one cleaner's file leaves every file as it was.
"""

import os
import posixpath
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field

from ..errors import UsageError
from ..fileedit import FileEditor, check_writable, read_text_with_encoding
from ..report import Report
from ..rootfs import Root
from . import shell as shwords
from .dropin import DROPIN, check_path

TMPWATCH = "/etc/cron.daily/tmpwatch"
TMPREAPER = "/etc/tmpreaper.conf"
CLEANERS = ("tmpwatch", "tmpfiles", "tmpreaper")
ALIASES = {"systemd-tmpfiles": "tmpfiles"}
FILES = {"tmpwatch": TMPWATCH, "tmpfiles": DROPIN, "tmpreaper": TMPREAPER}
TMPFILES_DIRS = ("/etc/tmpfiles.d", "/run/tmpfiles.d", "/usr/lib/tmpfiles.d")
TMPFILES_BINARIES = ("/usr/bin/systemd-tmpfiles", "/bin/systemd-tmpfiles",
                     "/usr/sbin/systemd-tmpfiles", "/sbin/systemd-tmpfiles")


class NotUnderstood(UsageError):
    """A cleaner's file has a shape we do not follow: refuse, change nothing."""


# --- what the tasks call ---------------------------------------------------


def patch(root, config, cleaner="auto", dry_run=False, revert=False):
    """Protect ``config["tmp"]["protect"]`` in every chosen cleaner; a Report."""
    root = root if isinstance(root, Root) else Root(root)
    chosen = _chosen(cleaner)
    paths = protected_paths(config)
    editor = FileEditor(root, dry_run=dry_run,
                        state_dir=config.get("state_dir", "/var/lib/sunray"))
    report = Report(task="patch-tmpwatch", root=str(root.top), dry_run=dry_run)
    report.data["cleaners"] = []
    if revert:
        return _revert(root, editor, chosen, report)

    found = detect(root)
    if cleaner == "auto":
        targets = found
        if not targets:
            report.notes.append(
                f"no /tmp cleaner found under {root.top} (looked for {TMPWATCH}, "
                f"{TMPREAPER}, tmpfiles.d directories and systemd-tmpfiles): nothing to do")
            return report
    else:
        targets = chosen
        name = chosen[0]
        if name != "tmpfiles" and name not in found:
            raise UsageError(f"--cleaner {name}: {FILES[name]} does not exist under {root.top}")

    planners = {"tmpwatch": _plan_tmpwatch, "tmpfiles": _plan_tmpfiles,
                "tmpreaper": _plan_tmpreaper}
    plans = [planners[name](root, config, paths) for name in targets]
    # Refuse early (nothing written) when a file or its backup cannot be
    # written: a read-only or immutable target would otherwise fail halfway.
    backups = posixpath.join(editor.state_dir, "backup")
    for plan in plans:
        if plan.content is not None and not dry_run:
            check_writable(root, [plan.file, backups], f"change {plan.file}")
    for plan in plans:
        if plan.content is not None:
            change = editor.write(plan.file, plan.content, mode=plan.mode)
            if change.changed:
                change.note = plan.cleaner
                report.add(change)
        report.notes.append(f"{plan.cleaner}: {plan.file}: {plan.summary}")
        report.warnings.extend(plan.warnings)
        report.notes.extend(plan.notes)
        report.data["cleaners"].append(plan.to_dict())
    return report


def status(root, config):
    """Read-only view for the doctor: one dict per cleaner found under the root.

    Keys: cleaner, file, protected (bool), missing (paths not protected),
    rpmnew (path of a tmpwatch.rpmnew or None), error (why the file could not
    be judged, or None).
    """
    root = root if isinstance(root, Root) else Root(root)
    paths = protected_paths(config)
    rows = []
    for name in detect(root):
        row = {"cleaner": name, "file": FILES[name], "protected": False,
               "missing": list(paths), "rpmnew": None, "error": None}
        try:
            if name == "tmpwatch":
                if os.path.lexists(root.path(TMPWATCH + ".rpmnew")):
                    row["rpmnew"] = TMPWATCH + ".rpmnew"
                row["missing"] = _tmpwatch_missing(_read(root, TMPWATCH)[0], paths, TMPWATCH)
            elif name == "tmpfiles":
                row["missing"] = _tmpfiles_missing(root, paths)
            else:
                text = _read(root, TMPREAPER)[0]
                have = _reaper_value(text)[1].split()
                row["missing"] = [p for p in paths
                                  if not set(_reaper_patterns([p])) <= set(have)]
        except UsageError as e:
            row["error"] = str(e)
        else:
            row["protected"] = not row["missing"]
        rows.append(row)
    return rows


def detect(root):
    """The cleaners present under the root, in a fixed order."""
    found = []
    if os.path.lexists(root.path(TMPWATCH)):
        found.append("tmpwatch")
    if any(os.path.isdir(root.path(d)) for d in ("/etc/tmpfiles.d", "/usr/lib/tmpfiles.d")) or any(
            os.path.lexists(root.path(b)) for b in TMPFILES_BINARIES):
        found.append("tmpfiles")
    if os.path.lexists(root.path(TMPREAPER)):
        found.append("tmpreaper")
    return found


def protected_paths(config):
    """The configured paths, validated (absolute, no blanks, '..' or quotes)."""
    paths = (config.get("tmp") or {}).get("protect")
    if not isinstance(paths, (list, tuple)) or not paths:
        raise UsageError("sunray.tmp.protect: expected a non-empty list of paths")
    checked = [check_path(p).rstrip("/") or "/" for p in paths]
    return list(dict.fromkeys(checked))  # without repeats, in the admin's order


# --- plans -------------------------------------------------------------------


@dataclass
class Plan:
    """What one cleaner needs: new content (None: nothing to write) and why."""

    cleaner: str
    file: str
    content: object = None  # bytes, or None when the file stays as it is
    mode: int = 0o644
    summary: str = ""
    added: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def to_dict(self):
        return {"cleaner": self.cleaner, "file": self.file,
                "changed": bool(self.added), "added": list(self.added),
                "summary": self.summary}


def _chosen(cleaner):
    name = ALIASES.get(cleaner, cleaner)
    if name == "auto":
        return list(CLEANERS)
    if name not in CLEANERS:
        raise UsageError(f"--cleaner {cleaner!r}: expected auto, tmpwatch, tmpfiles or tmpreaper")
    return [name]


def _refuse_symlink(root, server_path):
    """A cleaner file that is a symlink is not ours to replace (the rename
    would swap the link for a file): refuse while planning, before any write."""
    if os.path.islink(root.path(server_path)):
        raise UsageError(f"{server_path} is a symlink; refusing to edit it "
                         "(edit the file it points to by hand)")


def _read(root, server_path):
    """(text, encoding) of a cleaner file; re-encoding gives the same bytes."""
    _refuse_symlink(root, server_path)
    return read_text_with_encoding(root, server_path, what="cleaner file")


def _sh_syntax_ok(text, what, edited=True):
    """``sh -n`` on the text (a temporary copy): the file must parse before
    and after our edit."""
    fd, tmp = tempfile.mkstemp(prefix="sunray-check-", suffix=".sh")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(text)
        proc = subprocess.run([shutil.which("sh") or "/bin/sh", "-n", tmp], capture_output=True, text=True)
    finally:
        os.unlink(tmp)
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()[-1:] or ["syntax error"]
        raise NotUnderstood(f"{what}: {'the edited text' if edited else 'it'} fails 'sh -n' "
                            f"({detail[0].replace(tmp, what)}); nothing was changed")


# --- tmpwatch ----------------------------------------------------------------

_TIME = re.compile(r"^[0-9]+[smhd]?$")  # plain hours, or with a unit (2.9.8+)
_FLAG_CLUSTER = re.compile(r"^-[A-Za-wyzA-TV-WYZ]+$")  # flags without x, X or U
_GLOB = set("*?[]{}")
_ARG_LONG = ("exclude", "exclude-user", "exclude-pattern")


@dataclass
class TmpwatchCall:
    line: int
    cleans_tmp: bool
    excluded: set          # normalised literal -x paths
    anchor: int            # offset where new options go (end of the word before the age)
    dirs: list


def _norm(path):
    return posixpath.normpath(re.sub("/+", "/", path))


def _refuse(where, line, why):
    raise NotUnderstood(f"{where}: line {line}: {why}; sunray does not understand this "
                        "shape and changed nothing (add the -x options by hand)")


def tmpwatch_calls(text, where=TMPWATCH):
    """Every tmpwatch call in the script, or NotUnderstood."""
    try:
        cmds, loops = shwords.commands(text)
    except shwords.ShellShapeError as e:
        _refuse(where, e.line or "?", str(e))
    calls, accounted = [], set()
    for cmd in cmds:
        if not cmd.words:
            continue
        head = cmd.words[0]
        if head.expands:
            _refuse(where, head.line, f"command run through a variable ({head.raw})")
        if head.value in ("eval", "exec") and any("tmpwatch" in w.raw for w in cmd.words):
            _refuse(where, head.line, f"tmpwatch run through {head.value}")
        if head.value == "tmpwatch" or head.value.endswith("/tmpwatch"):
            calls.append(_tmpwatch_call(cmd, cmds, loops, where))
            accounted.update(w.start for w in cmd.words)
        elif head.value in ("[", "test"):  # e.g. [ -x /usr/sbin/tmpwatch ] || exit 0
            accounted.update(w.start for w in cmd.words)
    for cmd in cmds:
        for w in cmd.assignments + cmd.words:
            if "tmpwatch" in w.raw and w.start not in accounted:
                _refuse(where, w.line, f"tmpwatch used in a way sunray does not follow ({w.raw})")
    for name, items in loops.items():
        if any(item is not None and "tmpwatch" in item.raw for item in items):
            _refuse(where, "?", f"tmpwatch named in the list of loop variable {name}")
    if not calls:
        raise NotUnderstood(f"{where}: no tmpwatch call found; sunray does not understand "
                            "this script and changed nothing")
    return calls


def _values(word, cmds, loops, where):
    """The values a word can take: itself, or what the script assigns its variable."""
    if word.literal:
        return [word.value]
    if word.only_variable:
        defs = shwords.definitions(cmds, loops, word.only_variable)
        if defs and all(d is not None and d.literal for d in defs):
            return [d.value for d in defs]
    _refuse(where, word.line, f"tmpwatch argument {word.raw} has a value sunray cannot see")


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
                _refuse(where, w.line, f"options in {w.raw} that sunray cannot follow")
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
                excluded.add(_norm(arg))
            continue
        for pos, letter in enumerate(opt[1:], start=1):
            if letter in "xXU":
                arg = opt[pos + 1:]
                if not arg and k < len(words):
                    arg = words[k].value if words[k].literal else None
                    k += 1
                if letter == "x" and arg:
                    excluded.add(_norm(arg))
                break
    if len(positional) < 2:  # no age and directory: --help, --version
        return TmpwatchCall(cmd.line, False, excluded, words[0].end, [])
    age_word = positional[0][0]
    dirs = positional[1:]
    cleans_tmp = False
    for w, values in dirs:
        for v in values:
            if _norm(v) == "/tmp":
                if w.expands:
                    _refuse(where, w.line, f"/tmp is given through a variable ({w.raw})")
                cleans_tmp = True
            elif _GLOB & set(v):
                prefix = re.split(r"[*?\[\]{}]", v, maxsplit=1)[0]
                if "/tmp/".startswith(prefix) or prefix.startswith("/tmp"):
                    _refuse(where, w.line, f"directory pattern {v} may mean /tmp")
    before = words.index(age_word)
    if end_of_options is not None and end_of_options < before:
        before = end_of_options
    anchor = words[before - 1].end
    return TmpwatchCall(cmd.line, cleans_tmp, excluded, anchor, [w.raw for w, _ in dirs])


def _tmpwatch_paths(paths):
    for p in paths:
        if _GLOB & set(p):
            raise UsageError(f"protected path {p!r}: tmpwatch -x takes a plain path, "
                             "not a pattern")
    return paths


def _tmpwatch_missing(text, paths, where):
    missing = []
    for call in tmpwatch_calls(text, where):
        if call.cleans_tmp:
            missing += [p for p in paths if _norm(p) not in call.excluded and p not in missing]
    return missing


def _plan_tmpwatch(root, config, paths):
    paths = _tmpwatch_paths(paths)
    text, encoding = _read(root, TMPWATCH)
    plan = Plan("tmpwatch", TMPWATCH)
    _sh_syntax_ok(text, TMPWATCH, edited=False)
    calls = tmpwatch_calls(text)
    tmp_calls = [c for c in calls if c.cleans_tmp]
    edits = []
    for call in tmp_calls:
        missing = [p for p in paths if _norm(p) not in call.excluded]
        if missing:
            edits.append((call.anchor, "".join(f" -x {p}" for p in missing)))
            plan.added.append({"line": call.line, "paths": missing})
    new = text
    for anchor, insert in sorted(edits, reverse=True):
        new = new[:anchor] + insert + new[anchor:]
    others = len(calls) - len(tmp_calls)
    if not tmp_calls:
        plan.summary = f"none of its {len(calls)} tmpwatch call(s) cleans /tmp: nothing to protect"
    elif edits:
        _sh_syntax_ok(new, TMPWATCH)
        plan.content = new.encode(encoding)
        lines = ", ".join(str(a["line"]) for a in plan.added)
        added = [p for p in paths if any(p in a["paths"] for a in plan.added)]
        plan.summary = (f"added -x for {', '.join(added)}"
                        f" to the /tmp call(s) on line {lines}")
    else:
        plan.summary = f"already protects {', '.join(paths)} in every /tmp call"
    if others:
        plan.summary += f" ({others} call(s) not cleaning /tmp left alone)"
    _rpmnew(root, paths, plan)
    return plan


def _rpmnew(root, paths, plan):
    rpmnew = TMPWATCH + ".rpmnew"
    if not os.path.lexists(root.path(rpmnew)):
        return
    try:
        missing = _tmpwatch_missing(_read(root, rpmnew)[0], paths, rpmnew)
        state = ("it protects them too" if not missing
                 else f"it does NOT protect {', '.join(missing)}")
    except UsageError:
        state = "sunray cannot tell whether it protects them"
    plan.warnings.append(f"{rpmnew} exists (left by a tmpwatch update); {state}. If you "
                         "install it in place of the script, run patch-tmpwatch again")


# --- systemd-tmpfiles ----------------------------------------------------------


def _plan_tmpfiles(root, config, paths):
    from . import dropin as tmpfiles_dropin

    _refuse_symlink(root, DROPIN)
    plan = Plan("tmpfiles", DROPIN)
    content = tmpfiles_dropin.content(config).encode()
    host = root.path(DROPIN)
    if host.is_file() and host.read_bytes() == content:
        plan.summary = "drop-in already in place"
    else:
        plan.content = content
        plan.added = list(paths)
        plan.summary = f"drop-in with x lines for {', '.join(paths)} and the esd directory"
    return plan


def _tmpfiles_missing(root, paths):
    """Paths no tmpfiles.d file excludes with an x line (same-named files in
    /etc override /run, which override /usr/lib)."""
    seen, excluded = set(), set()
    for d in TMPFILES_DIRS:
        host = root.path(d)
        if not host.is_dir():
            continue
        for f in sorted(host.glob("*.conf")):
            if f.name in seen:
                continue
            seen.add(f.name)
            try:
                lines = f.read_text(errors="replace").splitlines()
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                if len(fields) >= 2 and fields[0] in ("x", "x!"):
                    excluded.add(_norm(fields[1]))
    return [p for p in paths if _norm(p) not in excluded]


# --- tmpreaper -------------------------------------------------------------------

_REAPER_LINE = re.compile(r"^([ \t]*(?:export[ \t]+)?TMPREAPER_PROTECT_EXTRA=)(.*)$", re.M)
_REAPER_VALUE = (
    ("'", re.compile(r"^'([^']*)'([ \t]*(?:#.*)?)$")),
    ('"', re.compile(r'^"([^"$`\\]*)"([ \t]*(?:#.*)?)$')),
    ("", re.compile(r"^([^\s'\"$`\\;&|<>()#]*)([ \t]*(?:#.*)?)$")),
)


def _reaper_patterns(paths):
    """tmpreaper matches a directory and its contents separately: both forms."""
    return [form for p in paths for form in (p, p + "/*")]


def _reaper_value(text, where=TMPREAPER):
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
    raise NotUnderstood(f"{where}: line {line}: TMPREAPER_PROTECT_EXTRA is set in a way "
                        "sunray does not follow (expansions, several lines or commands); "
                        "nothing was changed")


def _plan_tmpreaper(root, config, paths):
    from ..templating import render

    text, encoding = _read(root, TMPREAPER)
    plan = Plan("tmpreaper", TMPREAPER)
    _sh_syntax_ok(text, TMPREAPER, edited=False)
    m, value, quote, tail = _reaper_value(text)
    have = value.split()
    missing = [p for p in _reaper_patterns(paths) if p not in have]
    if not missing:
        plan.summary = "TMPREAPER_PROTECT_EXTRA already protects " + ", ".join(paths)
    elif m is None:
        block = render("tmpreaper-protect.j2", patterns=missing)
        sep = "" if not text or text.endswith("\n") else "\n"
        new = text + sep + block
        plan.summary = "added a TMPREAPER_PROTECT_EXTRA line for " + ", ".join(missing)
    else:
        sep = "" if not value or value[-1].isspace() else " "
        inner = value + sep + " ".join(missing)
        quote = quote or "'"  # a bare value with blanks in it needs quotes
        new = text[:m.start(2)] + quote + inner + quote + tail + text[m.end(2):]
        plan.summary = "added " + ", ".join(missing) + " to TMPREAPER_PROTECT_EXTRA"
    if missing:
        _sh_syntax_ok(new, TMPREAPER)
        plan.content = new.encode(encoding)
        plan.added = missing
    if re.search(r"^[ \t]*SHOWWARNING=[\"']?true", text, re.M):
        plan.notes.append("tmpreaper: SHOWWARNING=true in /etc/tmpreaper.conf keeps the daily "
                          "run switched off; the protection is in place for when it runs")
    return plan


# --- revert ------------------------------------------------------------------------


def _revert(root, editor, chosen, report):
    editor.check_revert([FILES[name] for name in chosen])  # all or nothing
    for name in chosen:
        if not editor.has_backup(FILES[name]):
            continue
        change = editor.revert(FILES[name])
        change.note = f"{name}: put back as it was before patch-tmpwatch"
        report.add(change)
        report.data["cleaners"].append({"cleaner": name, "file": FILES[name],
                                        "changed": change.changed, "reverted": True})
    if not report.changes:
        report.notes.append("nothing to revert: no saved original of "
                            + ", ".join(FILES[n] for n in chosen))
    elif any(c.path == DROPIN for c in report.changes):
        report.notes.append(f"{DROPIN} is shared with install-boot-hook: run that task "
                            "again if the boot hook should stay")
    return report
