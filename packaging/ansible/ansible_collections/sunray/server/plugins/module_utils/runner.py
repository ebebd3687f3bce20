# -*- coding: utf-8 -*-
# Copyright: sunray contributors
# GNU General Public License v2.0 or later (see LICENSE or https://www.gnu.org/licenses/gpl-2.0.txt)
"""Run the sunray program on the managed host and read its JSON report.

Shared by the task and doctor modules. Runs on the target's Python (3.6 or
later): no walrus, no subprocess text=, nothing newer than 3.6.

The program is either the sunray bundle (sunray.pyz, which the action
plugin copies to the host when the copy kept in ``pyz_dir`` has another
SHA-256) run by the interpreter Ansible uses, or an installed ``sunray``
(``use_installed``). Every command is an argument list: no shell.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile

PYZ_NAME = "sunray.pyz"

# The options every sunray module takes. The action plugin adds the two
# internal ones: the digest of its bundle and where it put the copy it sent.
COMMON_SPEC = dict(
    root=dict(type="path"),
    settings=dict(type="dict", default={}),
    use_installed=dict(type="bool", default=False),
    program=dict(type="str", default="sunray"),
    pyz_dir=dict(type="path", default="/var/lib/sunray"),
    pyz=dict(type="path"),  # read by the action plugin, never sent
    _pyz_sha256=dict(type="str"),
    _pyz_src=dict(type="path"),
)


def sha256_of(path):
    """The hex SHA-256 of a regular file (not following a symlink), or None."""
    try:
        if not os.path.isfile(path) or os.path.islink(path):
            return None
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 16), b""):
                digest.update(block)
        return digest.hexdigest()
    except (IOError, OSError):
        return None


def _install_pyz(module, source, kept):
    """Copy ``source`` to ``kept`` atomically (a temp name in the same
    directory, then a rename): a killed run leaves the old copy or the new."""
    directory = os.path.dirname(kept)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    fd, partial = tempfile.mkstemp(prefix=".sunray.pyz.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out)
        os.chmod(partial, 0o755)
        os.rename(partial, kept)
    except Exception:
        if os.path.exists(partial):
            os.unlink(partial)
        raise


def pyz_program(module):
    """The path of the bundle to run. Exits with ``pyz_missing`` when the
    kept copy is not the controller's and none was sent: the action plugin
    then transfers it and runs the module again."""
    params = module.params
    expected = params["_pyz_sha256"]
    if not expected:
        module.fail_json(msg="sunray.pyz: run this module through its action plugin "
                             "(sunray.server.task / sunray.server.doctor), or set use_installed: true")
    directory = params["pyz_dir"]
    if not os.path.isabs(directory):
        module.fail_json(msg="pyz_dir {0!r}: expected an absolute path".format(directory))
    kept = os.path.join(directory, PYZ_NAME)
    if sha256_of(kept) == expected:
        return kept
    source = params["_pyz_src"]
    if not source:
        module.exit_json(changed=False, pyz_missing=True)
    if sha256_of(source) != expected:
        module.fail_json(msg="sunray.pyz: the transferred copy {0} does not have the SHA-256 "
                             "{1}: transfer failed".format(source, expected))
    if module.check_mode:
        return source  # check mode: run it from the temp dir, keep nothing
    try:
        _install_pyz(module, source, kept)
    except (IOError, OSError) as e:
        module.fail_json(msg="cannot keep sunray.pyz in {0}: {1}".format(directory, e.strerror or e))
    return kept


def program_argv(module):
    """The first words of every command: the interpreter and the bundle, or
    the installed program."""
    params = module.params
    if params["use_installed"]:
        program = params["program"]
        found = program if os.path.isabs(program) else module.get_bin_path(program)
        if not found or not os.access(found, os.X_OK):
            module.fail_json(msg="{0}: not found on the host (install sunray, set program:, "
                                 "or use_installed: false to send the bundle)".format(program), rc=127)
        return [found]
    return [sys.executable, pyz_program(module)]


def settings_file(module):
    """A private file with ``{"sunray": settings}`` for ``-f``, or None."""
    settings = module.params["settings"]
    if not settings:
        return None
    fd, path = tempfile.mkstemp(prefix="sunray-settings-", suffix=".json", dir=module.tmpdir)
    with os.fdopen(fd, "w") as f:
        json.dump({"sunray": settings}, f)
    return path


def last_line(text):
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    error = [line for line in lines if line.startswith("sunray:") and "warning:" not in line]
    return (error or lines or [""])[-1].strip()


def run_task(module, task, extra_args):
    """Run ``sunray [-f SETTINGS] TASK --format json EXTRA``; returns
    (rc, report or None, stderr). Fails the module when there is no report."""
    argv = program_argv(module)
    settings = settings_file(module)
    if settings:
        argv += ["-f", settings]
    argv += [task, "--format", "json"]
    if module.params["root"]:
        argv += ["--root", module.params["root"]]
    argv += list(extra_args)
    rc, out, err = module.run_command(argv, cwd="/")
    report = None
    try:
        report = json.loads(out) if out.strip() else None
    except ValueError:
        report = None
    if not isinstance(report, dict):
        report = None
    if report is None and rc in (0, 1):
        module.fail_json(msg="sunray {0} printed no JSON report (exit {1}): {2}".format(
            task, rc, last_line(err) or out.strip()[:200]), rc=rc, stderr=err, cmd=argv)
    if rc not in (0, 1, 2):
        module.fail_json(msg="sunray {0} exited {1}: {2}".format(task, rc, last_line(err)),
                         rc=rc, stderr=err, cmd=argv)
    for warning in (report or {}).get("warnings") or []:
        module.warn("sunray {0}: {1}".format(task, warning))
    return rc, report, err


# --- diff mode ----------------------------------------------------------------

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def _parse(diff):
    """(old name, new name, hunks) of a unified diff of one file; a hunk is
    (old start, new start, [(tag, line)]), tag one of ' ', '-', '+'."""
    old = new = None
    hunks = []
    for line in diff.splitlines(True):
        if line.startswith("--- ") and not hunks:
            old = line[4:].rstrip("\n")
        elif line.startswith("+++ ") and not hunks:
            new = line[4:].rstrip("\n")
        elif line.startswith("@@"):
            match = _HUNK.match(line)
            if not match:
                return None
            hunks.append((int(match.group(1)), int(match.group(3)), []))
        elif line.startswith("\\"):  # "\ No newline at end of file"
            if hunks and hunks[-1][2]:
                tag, text = hunks[-1][2][-1]
                hunks[-1][2][-1] = (tag, text.rstrip("\n"))
        elif hunks and line[:1] in (" ", "-", "+"):
            hunks[-1][2].append((line[:1], line[1:]))
        elif hunks and line in ("\n", ""):
            hunks[-1][2].append((" ", line))
    return old, new, hunks


def _apply(text, hunks, reverse=False):
    """``text`` with the hunks applied (reverse: undone); None when it does not fit."""
    drop, add = ("+", "-") if reverse else ("-", "+")
    source = text.splitlines(True)
    out = []
    at = 0
    for old_start, new_start, lines in hunks:
        start = new_start if reverse else old_start
        consumed = sum(1 for tag, _ in lines if tag in (" ", drop))
        begin = start - 1 if consumed else start
        if begin < at or begin > len(source):
            return None
        out.extend(source[at:begin])
        at = begin
        for tag, line in lines:
            if tag == add:
                out.append(line)
                continue
            if at >= len(source) or source[at] != line:
                return None
            if tag == " ":
                out.append(line)
            at += 1
    out.extend(source[at:])
    return "".join(out)


def _read(path):
    try:
        if os.path.islink(path) or not os.path.isfile(path):
            return None
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "surrogateescape")
    except (IOError, OSError):
        return None


def file_changes(report):
    """Every file change in a report, apply's steps included."""
    changes = list((report or {}).get("changes") or [])
    for step in (report or {}).get("steps") or []:
        changes.extend(((step or {}).get("result") or {}).get("changes") or [])
    return [c for c in changes if isinstance(c, dict) and c.get("action") != "unchanged"]


def one_diff(change, root, dry_run):
    """Ansible's diff of one change: before/after with headers, or, when the
    file's text cannot be rebuilt (a directory, a link, a binary file), the
    change as sunray printed it ("prepared")."""
    path = change.get("path") or "?"
    diff = change.get("diff") or ""
    note = " ({0})".format(change["note"]) if change.get("note") else ""
    summary = "{0} {1}{2}\n".format(change.get("action", "changed"), path, note)
    parsed = _parse(diff) if diff else None
    if not parsed or not parsed[2]:
        return {"prepared": summary + diff}
    old_name, new_name, hunks = parsed
    if old_name == "/dev/null":
        before, after = "", _apply("", hunks)
    elif new_name == "/dev/null":
        before, after = _apply("", hunks, reverse=True), ""
    else:
        current = _read(os.path.join(root or "/", path.lstrip("/")))
        if current is None:
            before = after = None
        elif dry_run:
            before, after = current, _apply(current, hunks)
        else:
            before, after = _apply(current, hunks, reverse=True), current
    if before is None or after is None:
        return {"prepared": summary + diff}
    return {"before_header": path, "after_header": path, "before": before, "after": after}


def diffs(report, root, dry_run):
    return [one_diff(c, root, dry_run) for c in file_changes(report)]
