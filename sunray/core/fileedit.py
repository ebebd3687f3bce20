"""Safe file changes: atomic, owner- and mode-keeping, backed up, revertible.

Every file the toolkit writes onto a server goes through ``FileEditor``:

* the new content goes to a temporary file in the same directory, is fsynced
  and renamed over the old one, so a crash leaves the old file or the new one,
  never half of either;
* an existing file keeps its mode, owner and extended attributes (SELinux
  label, ACL, ``user.*``); a new file on the live system gets its SELinux
  label from ``restorecon`` when SELinux is on;
* every directory is reached, and a missing one created, by
  ``Root.makedirs()``: no symlink leads a write (or a backup) out of the root;
* before the first change the original state (content, mode, owner, or "did
  not exist") is saved under ``<state_dir>/backup/`` in the root, and
  ``revert()`` puts exactly that back, removes the directories made for the
  file when they are empty again, and prunes the emptied backup directories;
  it refuses, changing nothing, when the file is no longer what sunray
  wrote (an admin's later edit is never thrown away silently);
* writing the content a file already has changes nothing (idempotence);
* with ``dry_run`` nothing is touched and the change carries a unified diff.

Existing symlinks are never written through: the toolkit refuses to edit a
file that is a symlink, because a rename would silently replace the link.
"""

import os
import posixpath
import stat
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Union

from . import statedir
from .backuprecord import changed_by_others, load_meta, original_of, prune_empty, sha256_of, state_of, store_meta
from .errors import JobFailed, SunrayError, UsageError
from .rootfs import Root
from .safeio import atomic_write, check_writable, fsync_dir, restorecon, temp_name, unified_diff


@dataclass
class FileChange:
    """What happened (or would happen) to one file on the server."""

    path: str
    action: str  # created, modified, removed, restored, unchanged (dry run: "would ...")
    diff: str = ""
    note: str = ""

    @property
    def changed(self) -> bool:
        return self.action not in ("unchanged",)

    def to_dict(self) -> Dict[str, str]:
        return {"path": self.path, "action": self.action, "diff": self.diff, "note": self.note}



class FileEditor:
    """Writes, links and removes files under a root, with backups and revert.

    The backup meta of a file (``<state_dir>/backup/meta/<path>.json``) holds
    the original state, ``wrote`` (what sunray last put there: a file's
    sha256, a link's target, or "absent"), ``dirs`` (directories created
    for it) and, while a change is under way, ``writing`` (what it is about
    to put there). Both ``dirs`` and ``writing`` are recorded *before* the
    change: a run killed at any instant leaves a record that a rerun and a
    revert understand. ``revert()`` refuses, changing nothing, when the file is no
    longer what sunray wrote: an admin's later edit is never thrown away.
    Metas from before ``wrote`` existed are reverted as before, unchecked.
    """

    def __init__(self, root: Root, dry_run: bool = False, state_dir: str = "/var/lib/sunray"):
        self.root = root
        self.dry_run = dry_run
        self.state_dir = state_dir
        # The run's journal (sunray.core.journal.Journal), when a revert
        # sets it: each file is named in it before it is restored, so the
        # temporary file of a revert killed meanwhile is swept by the next.
        self.journal: Any = None

    # -- where things are ----------------------------------------------------
    def _host(self, server_path, create=False, mode=0o755):
        """``(host path, directories created)`` of ``server_path``: its
        directory is reached (and with ``create`` made) by Root.makedirs, so
        no symlink on the way leads out of the root. Without ``create``, the
        directories that would be created."""
        parent, name = posixpath.split(str(self.root.server_path(self.root.path(server_path))))
        if not name:
            raise UsageError(f"{server_path}: expected a file name")
        made = self.root.makedirs(parent, mode=mode, create=create)
        host = made.host / name
        self.root.ensure_inside(host)
        return host, made.created

    def _backup_paths(self, server_path, create=False):
        rel = server_path.lstrip("/")
        rel_dir = posixpath.dirname(rel)
        if create:
            statedir.ensure(self.root, self.state_dir)
        paths = []
        for kind, suffix in (("files", ""), ("meta", ".json")):
            server_dir = posixpath.join(self.state_dir, "backup", kind, rel_dir)
            made = self.root.makedirs(server_dir, mode=0o700, create=create)
            paths.append(made.host / (posixpath.basename(rel) + suffix))
        return tuple(paths)

    def _backup_base(self):
        return self.root.makedirs(posixpath.join(self.state_dir, "backup"), create=False).host

    def _load_meta(self, meta_path):
        name = self.root.server_path(meta_path) if self.root.contains(meta_path) else ""
        return load_meta(meta_path, name)

    def has_backup(self, server_path: str) -> bool:
        return os.path.isfile(self._backup_paths(server_path)[1])

    # -- backups -----------------------------------------------------------
    def _save_backup(self, server_path, host, created, writing):
        """Record the original state of ``server_path`` once (first change
        wins), before the change: the directories about to be created for it
        are added to its record, and ``writing`` says what is about to be
        put there."""
        data_path, meta_path = self._backup_paths(server_path, create=True)
        if meta_path.exists():
            meta = self._load_meta(meta_path)
            if changed_by_others(state_of(host), meta, original_of(meta, data_path)[0]):
                # Replaced since sunray wrote it (say, by a package update):
                # what is there now is the new original, so that a revert
                # after this change gives back the update, not the old file.
                created = tuple(meta.get("dirs", [])) + tuple(created)
                meta_path.unlink()
                return self._save_backup(server_path, host, created, writing)
            new_dirs = [d for d in created if d not in meta.get("dirs", [])]
            if new_dirs or meta.get("writing") != writing:
                meta["dirs"] = meta.get("dirs", []) + new_dirs
                meta["writing"] = writing
                store_meta(meta_path, meta)
            return
        try:
            st = os.lstat(host)
        except FileNotFoundError:
            meta = {"kind": "absent"}
        else:
            if stat.S_ISLNK(st.st_mode):
                meta = {"kind": "symlink", "target": os.readlink(host)}
            else:
                meta = {"kind": "file", "mode": stat.S_IMODE(st.st_mode),
                        "uid": st.st_uid, "gid": st.st_gid}
                atomic_write(data_path, host.read_bytes(), mode=0o600)
        # Until the write below is done the file is as it was: a crash in
        # between leaves a record that revert checks against the original.
        meta["wrote"] = state_of(host)
        meta["dirs"] = list(created)
        meta["writing"] = writing
        store_meta(meta_path, meta)

    def _note_wrote(self, server_path, state):
        """Remember what sunray just put at ``server_path`` (if it has a backup)."""
        meta_path = self._backup_paths(server_path)[1]
        if not meta_path.exists():
            return
        meta = self._load_meta(meta_path)
        if meta.get("wrote") != state or "writing" in meta:
            meta["wrote"] = state
            meta.pop("writing", None)
            store_meta(meta_path, meta)

    def settle(self, server_path: str) -> None:
        """A change found done (a killed run renamed it into place but never
        recorded it): record it as written, as a rerun of ``write`` would."""
        if self.dry_run:
            return
        meta_path = self._backup_paths(server_path)[1]
        if not meta_path.exists():
            return
        meta = self._load_meta(meta_path)
        writing = meta.get("writing")
        if writing is not None and state_of(self._host(server_path)[0]) == writing:
            self._note_wrote(server_path, writing)

    def _drop_backup(self, server_path):
        base = self._backup_base()
        # The record first: a kill after it leaves a saved copy without a
        # record (swept with the backup tree), never a record whose copy is gone.
        for p in reversed(self._backup_paths(server_path)):
            try:
                p.unlink()
            except FileNotFoundError:
                pass
            prune_empty(p.parent, stop=base.parent)

    # -- checks before the first write --------------------------------------
    def check(self, files: Iterable[str] = (), links: Iterable[str] = (),
              what: str = "write the files") -> None:
        """Check every target of a plan before the first write: a UsageError
        when a path leads out of the root, meets a file where a directory
        should be, or holds the wrong kind of thing (a directory or symlink
        where a file goes, anything but a symlink where a link goes); a
        JobFailed when a target, its directory or the backups cannot be
        written (read-only, immutable). ``what`` completes "cannot ..."."""
        files, links = list(files), list(links)
        for server_path in files + links:
            host, _ = self._host(server_path)
            try:
                st = os.lstat(host)
            except FileNotFoundError:
                continue
            if server_path in links:
                if not stat.S_ISLNK(st.st_mode):
                    raise UsageError(f"{server_path} exists and is not a symlink; "
                                     "refusing to replace it; nothing was changed")
            elif stat.S_ISLNK(st.st_mode):
                raise UsageError(f"{server_path} is a symlink; refusing to replace it; "
                                 "nothing was changed")
            elif not stat.S_ISREG(st.st_mode):
                raise UsageError(f"{server_path} exists and is not a regular file; "
                                 "nothing was changed")
        if not self.dry_run:
            check_writable(self.root, files + links + [self._backup_dir()], what)

    def _backup_dir(self):
        return posixpath.join(self.state_dir, "backup")

    # -- changes -----------------------------------------------------------
    def write(self, server_path: str, content: Union[str, bytes], mode: int = 0o644,
              uid: int = 0, gid: int = 0) -> FileChange:
        """Make ``server_path`` hold ``content`` (str or bytes).

        A new file gets ``mode`` and ``uid``/``gid``; an existing one keeps its
        own mode and owner (and its extended attributes).
        """
        data = content.encode() if isinstance(content, str) else content
        host, _ = self._host(server_path)
        old = b""
        exists = False
        try:
            st = os.lstat(host)
        except FileNotFoundError:
            st = None
        if st is not None:
            if stat.S_ISLNK(st.st_mode):
                raise UsageError(f"{server_path} is a symlink; refusing to replace it")
            if not stat.S_ISREG(st.st_mode):
                raise UsageError(f"{server_path} exists and is not a regular file")
            exists = True
            old = host.read_bytes()
            mode, uid, gid = stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid
        wrote = {"kind": "file", "sha256": sha256_of(data)}
        if exists and old == data:
            if not self.dry_run:
                # Running the task again vouches for the file as it is now.
                self._note_wrote(server_path, wrote)
            return FileChange(server_path, "unchanged")
        action = "modified" if exists else "created"
        diff = unified_diff(server_path, old, data)
        if self.dry_run:
            return FileChange(server_path, "would be " + action, diff)
        try:
            self._save_backup(server_path, host, self._host(server_path)[1], wrote)
            host, created = self._host(server_path, create=True)
            self.root.ensure_inside(host)
            atomic_write(host, data, mode=mode, uid=uid, gid=gid)
            self._note_wrote(server_path, wrote)
        except OSError as e:
            raise JobFailed(f"cannot write {server_path}: {self._failed(e, server_path)}") from None
        note = "" if exists else self._relabel(host, created)
        return FileChange(server_path, action, diff, note=note)

    def symlink(self, server_path: str, target: str) -> FileChange:
        """Make ``server_path`` a symlink to ``target`` (as the server sees it)."""
        host, _ = self._host(server_path)
        try:
            current = os.readlink(host)
        except FileNotFoundError:
            current = None
        except OSError:
            raise UsageError(f"{server_path} exists and is not a symlink") from None
        wrote = {"kind": "symlink", "target": target}
        if current == target:
            if not self.dry_run:
                self._note_wrote(server_path, wrote)
            return FileChange(server_path, "unchanged")
        action = "modified" if current is not None else "created"
        note = f"-> {target}"
        if self.dry_run:
            return FileChange(server_path, "would be " + action, note=note)
        try:
            self._save_backup(server_path, host, self._host(server_path)[1], wrote)
            host, created = self._host(server_path, create=True)
            self.root.ensure_inside(host)
            _replace_with_link(host, target)
            self._note_wrote(server_path, wrote)
        except OSError as e:
            raise JobFailed(f"cannot create link {server_path}: {self._failed(e, server_path)}") from None
        problem = self._relabel(host, created) if current is None else ""
        return FileChange(server_path, action, note=note + (f"; {problem}" if problem else ""))

    def remove(self, server_path: str) -> FileChange:
        """Remove a file or symlink (after backing it up)."""
        host, _ = self._host(server_path)
        if not os.path.lexists(host):
            if not self.dry_run:
                self._note_wrote(server_path, {"kind": "absent"})
            return FileChange(server_path, "unchanged")
        if os.path.isdir(host) and not os.path.islink(host):
            raise UsageError(f"{server_path} is a directory; refusing to remove it")
        old = b"" if os.path.islink(host) else host.read_bytes()
        diff = unified_diff(server_path, old, b"") if old else ""
        if self.dry_run:
            return FileChange(server_path, "would be removed", diff)
        try:
            self._save_backup(server_path, host, (), {"kind": "absent"})
            self.root.ensure_inside(host)
            os.unlink(host)
            fsync_dir(host.parent)
            self._note_wrote(server_path, {"kind": "absent"})
        except OSError as e:
            raise JobFailed(f"cannot remove {server_path}: {self._failed(e, server_path)}") from None
        return FileChange(server_path, "removed", diff)

    def _failed(self, error: OSError, server_path: str) -> str:
        """What an OS error during a change says: its cause, the file it
        hit when that is not the target (a backup record, say), and whether
        the target was left as it was (its record says what sunray wrote)."""
        text = error.strerror or str(error)
        name = error.filename
        if name is not None and self.root.contains(os.fsdecode(name)):
            hit = self.root.server_path(os.fsdecode(name))
            if hit != server_path:
                text += f" (writing {hit})"
        meta_path = self._backup_paths(server_path)[1]
        try:
            meta = self._load_meta(meta_path) if meta_path.exists() else {}
        except SunrayError:
            meta = {}
        now = state_of(self._host(server_path)[0])
        if now != meta.get("writing"):  # the change itself never happened
            text += f"; {server_path} was left as it was"
        return text

    def _relabel(self, host, created):
        """SELinux labels for what was just created on the live system."""
        if not self.root.is_host:
            return ""
        return restorecon([*(self.root.path(d) for d in created), host])

    # -- revert --------------------------------------------------------------
    def check_revert(self, server_paths: Iterable[str]) -> None:
        """Refuse (JobFailed) when any of ``server_paths`` changed since sunray
        wrote it, or it, its directory or its backup cannot be written
        (read-only, immutable): a task that reverts several files calls this
        first, so a refusal leaves every file as it is."""
        targets = []
        for server_path in server_paths:
            data_path, meta_path = self._backup_paths(server_path)
            if meta_path.exists():
                self._check_unchanged(server_path, self._host(server_path)[0],
                                      self._load_meta(meta_path), data_path)
                rel = server_path.lstrip("/")
                targets += [server_path,
                            posixpath.join(self._backup_dir(), "meta", rel + ".json"),
                            posixpath.join(self._backup_dir(), "files", rel)]
        if targets and not self.dry_run:
            check_writable(self.root, targets, "revert")

    def _check_unchanged(self, server_path, host, meta, data_path):
        wrote = meta.get("wrote")
        if wrote is None:
            return  # a record from an older sunray: nothing to compare with
        original, where = original_of(meta, data_path)
        # Absent, what sunray wrote, or the original (put back by hand):
        # reverting loses nothing.
        if not changed_by_others(state_of(host), meta, original):
            return
        raise JobFailed(f"{server_path} changed since sunray wrote it; nothing was reverted; "
                        f"{where}: restore it by hand, or run the task again")

    def revert(self, server_path: str) -> FileChange:
        """Put back the state saved before the toolkit first changed the file;
        JobFailed, changing nothing, when the file changed since sunray wrote it."""
        data_path, meta_path = self._backup_paths(server_path)
        if not meta_path.exists():
            return FileChange(server_path, "unchanged", note="no backup: nothing to revert")
        meta = self._load_meta(meta_path)
        host, _ = self._host(server_path)
        self._check_unchanged(server_path, host, meta, data_path)
        current = b""
        if os.path.isfile(host) and not os.path.islink(host):
            current = host.read_bytes()
        kind = meta["kind"]
        if kind == "file":
            original = data_path.read_bytes()
            diff = unified_diff(server_path, current, original)
        elif kind == "absent":
            diff = unified_diff(server_path, current, b"") if current else ""
        else:
            diff = ""
        if self.dry_run:
            return FileChange(server_path, "would be restored", diff)
        existed = os.path.lexists(host)
        created = []
        if self.journal is not None:
            self.journal.add([server_path])
        try:
            if kind == "file":
                if os.path.islink(host):
                    os.unlink(host)
                host, created = self._host(server_path, create=True)
                atomic_write(host, original, mode=meta["mode"], uid=meta["uid"], gid=meta["gid"])
            elif kind == "symlink":
                host, created = self._host(server_path, create=True)
                _replace_with_link(host, meta["target"])
            elif os.path.lexists(host):
                os.unlink(host)
                fsync_dir(host.parent)
        except OSError as e:
            raise JobFailed(f"cannot restore {server_path}: {self._failed(e, server_path)}") from None
        note = ""
        if kind != "absent" and not existed:
            note = self._relabel(host, created)
        self._remove_created_dirs(server_path, meta.get("dirs") or [])
        self._drop_backup(server_path)
        return FileChange(server_path, "restored" if kind != "absent" else "removed", diff,
                          note=note)

    def _remove_created_dirs(self, server_path, dirs):
        """Remove the directories sunray created for ``server_path`` when they
        are empty; one still in use is handed to the record of another of
        sunray's files below it, so the last revert there removes it."""
        for server_dir in sorted(dirs, key=lambda d: d.count("/"), reverse=True):
            try:
                host_dir = self.root.makedirs(server_dir, create=False).host
                os.rmdir(host_dir)
            except FileNotFoundError:
                continue
            except (OSError, UsageError):
                self._hand_over_dir(server_path, server_dir)

    def _hand_over_dir(self, server_path, server_dir):
        own = self._backup_paths(server_path)[1]
        rel = server_dir.lstrip("/")
        meta_dir = self.root.makedirs(
            posixpath.join(self.state_dir, "backup", "meta", rel), create=False).host
        for meta_path in sorted(meta_dir.rglob("*.json")) if meta_dir.is_dir() else ():
            if meta_path == own or meta_path.is_symlink():
                continue
            try:
                meta = self._load_meta(meta_path)
            except SunrayError:
                continue
            if server_dir not in meta.setdefault("dirs", []):
                meta["dirs"].append(server_dir)
                store_meta(meta_path, meta)
            return


def _replace_with_link(host, target):
    """Atomically make ``host`` a symlink to ``target`` (a temp link renamed over it)."""
    tmp = host.with_name(temp_name(host.name))
    os.symlink(target, tmp)
    try:
        os.rename(tmp, host)
    except BaseException:
        os.unlink(tmp)
        raise
    fsync_dir(host.parent)
