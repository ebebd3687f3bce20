"""What every /tmp cleaner shares: its description, its plan, and safe reading.

A cleaner module (``tmpwatch.py``, ``tmpfiles.py``, ...) describes itself with
one ``Cleaner`` and plans its edit as a ``Plan``; ``core`` runs the plans and
``revert`` undoes them. The helpers here are the refusals every cleaner needs:
a symlinked file, a file that is not text, a shell file that does not parse.
"""

import os
import posixpath
import re
import shutil
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..core.errors import UsageError
from ..core.fileedit import FileEditor
from ..core.report import Report
from ..core.rootfs import Root
from ..core.safeio import read_text_with_encoding
from ..core.subprocesses import run_captured


class NotUnderstood(UsageError):
    """A cleaner's file has a shape we do not follow: refuse, change nothing."""


@dataclass
class Plan:
    """What one cleaner needs: new content (None: nothing to write) and why."""

    cleaner: str
    file: str
    content: Optional[bytes] = None  # None when the file stays as it is
    mode: int = 0o644
    summary: str = ""
    added: List[Any] = field(default_factory=list)  # what the edit adds, in the cleaner's terms
    warnings: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        return {"cleaner": self.cleaner, "file": self.file,
                "changed": bool(self.added), "added": list(self.added),
                "summary": self.summary}


@dataclass(frozen=True)
class Cleaner:
    """One /tmp cleaner: the file sunray edits for it and how.

    ``protect`` below is always the validated ``sunray.tmp.protect`` list
    (``core.protected_paths``).
    """

    name: str  # the --cleaner name; the registry lists the same name
    file: str  # the server path sunray edits (and reverts)
    looked_for: str  # what detection looks for, told when no cleaner is found
    # The protected paths it would still delete (status and the doctor);
    # UsageError when the file cannot be judged.
    missing: Callable[[Root, List[str]], List[str]]
    # (root, settings, protect) -> the edit; refuses (UsageError) before any write.
    plan: Callable[[Root, dict, List[str]], Plan]
    # Is the cleaner installed under the root? Default: its file is there
    # (even as a dangling symlink: refused when it is read).
    detect: Optional[Callable[[Root], bool]] = None
    aliases: Tuple[str, ...] = ()  # other names --cleaner accepts
    # The file is sunray's own (a drop-in): --cleaner NAME writes it even
    # where the cleaner was not detected.
    own_file: bool = False
    rpmnew: Optional[str] = None  # an update's copy beside the file, shown by status
    # (root, missing paths) -> the files that would really delete them, when
    # they are others than ``file`` (tmpfiles: sunray's drop-in is missing,
    # the distribution's tmp.conf deletes); [] when none would.
    deleters: Optional[Callable[[Root, List[str]], List[str]]] = None
    revert_note: str = ""  # told after the file was put back

    def installed(self, root: Root) -> bool:
        """Whether the cleaner is installed under ``root`` (see ``detect``)."""
        if self.detect is not None:
            return self.detect(root)
        return os.path.lexists(root.path(self.file))


def refuse_symlink(root: Root, server_path: str) -> None:
    """A cleaner file that is a symlink is not ours to replace (the rename
    would swap the link for a file): refuse while planning, before any write."""
    if os.path.islink(root.path(server_path)):
        raise UsageError(f"{server_path} is a symlink; refusing to edit it "
                         "(edit the file it points to by hand)")


def read(root: Root, server_path: str) -> Tuple[str, str]:
    """(text, encoding) of a cleaner file; re-encoding gives the same bytes."""
    refuse_symlink(root, server_path)
    return read_text_with_encoding(root, server_path, what="cleaner file")


def check_sh_syntax(text: str, what: str, edited: bool = True) -> None:
    """``sh -n`` on the text (given on stdin: no temporary file that a kill
    could leave behind): a shell file must parse before and after our edit;
    NotUnderstood when it does not."""
    proc = run_captured([shutil.which("sh") or "/bin/sh", "-n"],
                        input=text.encode("utf-8", "surrogateescape"), text=False)
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
        # "sh: 3: Syntax error: ..." (dash) or "sh: line 3: ..." (bash): the
        # shell's own name is no help; the file's is.
        detail = re.sub(r"^[^:]*:\s*", "line ", lines[0]) if lines else "syntax error"
        detail = detail.replace("line line ", "line ")
        raise NotUnderstood(f"{what}: {'the edited text' if edited else 'it'} fails 'sh -n' "
                            f"({detail}); nothing was changed")


def norm_path(path: str) -> str:
    """A path as the cleaners compare it: repeated and trailing slashes dropped."""
    return posixpath.normpath(re.sub("/+", "/", path))


def revert(editor: FileEditor, chosen: Sequence[Cleaner], report: Report) -> Report:
    """Put back the saved original of every chosen cleaner's file: all or nothing."""
    editor.check_revert([c.file for c in chosen])
    for cleaner in chosen:
        if not editor.has_backup(cleaner.file):
            continue
        change = editor.revert(cleaner.file)
        change.note = f"{cleaner.name}: put back as it was before patch-tmpwatch"
        report.add(change)
        report.data["cleaners"].append({"cleaner": cleaner.name, "file": cleaner.file,
                                        "changed": change.changed, "reverted": True})
    if not report.changes:
        report.notes.append("nothing to revert: no saved original of "
                            + ", ".join(c.file for c in chosen))
    reverted = {change.path for change in report.changes}
    report.notes.extend(c.revert_note for c in chosen if c.revert_note and c.file in reverted)
    return report
