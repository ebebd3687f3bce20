"""Safe file changes: atomic, owner- and mode-keeping, backed up, revertible.

Every file the toolkit writes onto a server goes through ``FileEditor``:

* the new content goes to a temporary file in the same directory, is fsynced
  and renamed over the old one, so a crash leaves the old file or the new one,
  never half of either;
* an existing file keeps its mode and owner;
* before the first change the original state (content, mode, owner, or "did
  not exist") is saved under ``<state_dir>/backup/`` in the root, and
  ``revert()`` puts exactly that back;
* writing the content a file already has changes nothing (idempotence);
* with ``dry_run`` nothing is touched and the change carries a unified diff.

Existing symlinks are never written through: the toolkit refuses to edit a
file that is a symlink, because a rename would silently replace the link.
"""

import difflib
import json
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import JobFailed, UsageError


@dataclass
class FileChange:
    """What happened (or would happen) to one file on the server."""

    path: str
    action: str  # created, modified, removed, restored, unchanged (dry run: "would ...")
    diff: str = ""
    note: str = ""

    @property
    def changed(self):
        return self.action not in ("unchanged",)

    def to_dict(self):
        return {"path": self.path, "action": self.action, "diff": self.diff, "note": self.note}


def read_text(root, server_path, what="file"):
    """Text of a file under the root, or a UsageError naming the problem.

    Refuses files that are not regular, not readable, or not text: config
    files and scripts are untrusted input.
    """
    return read_text_with_encoding(root, server_path, what)[0]


def read_text_with_encoding(root, server_path, what="file"):
    """``(text, encoding)`` of a file under the root, read once, with the
    same checks as ``read_text``. The encoding is "utf-8", or "latin-1" for
    older files that are not valid UTF-8; ``text.encode(encoding)`` gives the
    file's bytes back, so an edit leaves every other byte as it was.
    """
    host = root.path(server_path)
    try:
        st = os.stat(host)
    except FileNotFoundError:
        raise UsageError(f"{server_path}: no such {what}") from None
    except OSError as e:
        raise UsageError(f"{server_path}: cannot read {what}: {e.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{server_path}: not a regular file")
    try:
        data = host.read_bytes()
    except OSError as e:
        raise UsageError(f"{server_path}: cannot read {what}: {e.strerror}") from None
    if b"\0" in data:
        raise UsageError(f"{server_path}: binary data, not a text {what}")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"  # latin-1 decodes any bytes


def check_writable(root, server_paths, what):
    """Refuse (JobFailed, one line) before the first write when a file cannot
    be replaced, so a read-only or immutable file system never leaves a job
    half done.

    For each server path: the file itself when it is there as a regular file,
    and the nearest directory that exists on its way up (where the new file,
    and any missing directories, would be created). ``what`` completes
    "cannot ...", e.g. "install the boot hook".
    """
    for server_path in server_paths:
        host = root.path(server_path)
        directory = host.parent
        while not directory.exists() and directory != root.top:
            directory = directory.parent
        if not directory.is_dir():
            raise JobFailed(f"cannot {what}: {root.server_path(directory)} is not a directory; "
                            "nothing was changed")
        probes = [(directory, os.W_OK | os.X_OK)]
        if os.path.isfile(host) and not os.path.islink(host):
            probes.insert(0, (host, os.W_OK))
        for probe, mode in probes:
            if not os.access(probe, mode):
                raise JobFailed(f"cannot {what}: {root.server_path(probe)} is not writable "
                                "(read-only or immutable?); nothing was changed")


def stat_input(path, label=None):
    """``os.stat`` of an input file named by the admin (an SRPM, a tarball, a
    proposal): a UsageError unless it exists and is a regular file."""
    label = label or str(path)
    try:
        st = os.stat(path)
    except OSError as e:
        raise UsageError(f"{label}: {e.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{label}: not a regular file")
    return st


def unified_diff(server_path, old, new):
    """A unified diff of two texts (or bytes) for ``--dry-run`` and reports."""
    if isinstance(old, bytes) or isinstance(new, bytes):
        try:
            old = old.decode() if isinstance(old, bytes) else old
            new = new.decode() if isinstance(new, bytes) else new
        except UnicodeDecodeError:
            return f"Binary file {server_path} differs\n"
    name = server_path.lstrip("/")
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"a/{name}" if old else "/dev/null",
            tofile=f"b/{name}" if new else "/dev/null",
        )
    )


def atomic_write(host_path, data, mode=0o644, uid=None, gid=None):
    """Replace ``host_path`` by ``data`` atomically (temp file, fsync, rename)."""
    host_path = Path(host_path)
    directory = host_path.parent
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{host_path.name}.", suffix=".sunray-tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), stat.S_IMODE(mode))
            if uid is not None and (os.geteuid() == 0 or uid == os.geteuid()):
                os.fchown(f.fileno(), uid, gid if gid is not None else -1)
                # chown clears set-id bits: put the mode back afterwards.
                os.fchmod(f.fileno(), stat.S_IMODE(mode))
            os.fsync(f.fileno())
        os.rename(tmp, host_path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(directory)


def fsync_dir(directory):
    try:
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


class FileEditor:
    """Writes, links and removes files under a root, with backups and revert."""

    def __init__(self, root, dry_run=False, state_dir="/var/lib/sunray"):
        self.root = root
        self.dry_run = dry_run
        self.state_dir = state_dir

    # -- backups -----------------------------------------------------------
    def _backup_paths(self, server_path):
        base = self.root.path(self.state_dir) / "backup"
        rel = server_path.lstrip("/")
        return base / "files" / rel, base / "meta" / (rel + ".json")

    def has_backup(self, server_path):
        return self._backup_paths(server_path)[1].exists()

    def _save_backup(self, server_path, host):
        """Record the original state of ``server_path`` once (first change wins)."""
        data_path, meta_path = self._backup_paths(server_path)
        if meta_path.exists():
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
                data_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                atomic_write(data_path, host.read_bytes(), mode=0o600)
        meta_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(meta_path, (json.dumps(meta) + "\n").encode(), mode=0o600)

    def _drop_backup(self, server_path):
        for p in self._backup_paths(server_path):
            try:
                p.unlink()
            except FileNotFoundError:
                pass

    # -- changes -----------------------------------------------------------
    def _target(self, server_path):
        host = self.root.path(server_path)
        if host.parent.exists():
            self.root.inside(host)
        return host

    def write(self, server_path, content, mode=0o644, uid=0, gid=0):
        """Make ``server_path`` hold ``content`` (str or bytes).

        A new file gets ``mode`` and ``uid``/``gid``; an existing one keeps its
        own mode and owner.
        """
        data = content.encode() if isinstance(content, str) else content
        host = self._target(server_path)
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
        if exists and old == data:
            return FileChange(server_path, "unchanged")
        action = "modified" if exists else "created"
        diff = unified_diff(server_path, old, data)
        if self.dry_run:
            return FileChange(server_path, "would be " + action, diff)
        try:
            host.parent.mkdir(parents=True, exist_ok=True)
            self.root.inside(host)
            self._save_backup(server_path, host)
            atomic_write(host, data, mode=mode, uid=uid, gid=gid)
        except OSError as e:
            raise JobFailed(f"cannot write {server_path}: {e.strerror}") from None
        return FileChange(server_path, action, diff)

    def symlink(self, server_path, target):
        """Make ``server_path`` a symlink to ``target`` (as the server sees it)."""
        host = self._target(server_path)
        try:
            current = os.readlink(host)
        except FileNotFoundError:
            current = None
        except OSError:
            raise UsageError(f"{server_path} exists and is not a symlink") from None
        if current == target:
            return FileChange(server_path, "unchanged")
        action = "modified" if current is not None else "created"
        note = f"-> {target}"
        if self.dry_run:
            return FileChange(server_path, "would be " + action, note=note)
        try:
            host.parent.mkdir(parents=True, exist_ok=True)
            self.root.inside(host)
            self._save_backup(server_path, host)
            tmp = host.with_name(f".{host.name}.sunray-tmp")
            try:
                tmp.unlink()
            except FileNotFoundError:
                pass
            os.symlink(target, tmp)
            os.rename(tmp, host)
            fsync_dir(host.parent)
        except OSError as e:
            raise JobFailed(f"cannot create link {server_path}: {e.strerror}") from None
        return FileChange(server_path, action, note=note)

    def remove(self, server_path):
        """Remove a file or symlink (after backing it up)."""
        host = self._target(server_path)
        if not os.path.lexists(host):
            return FileChange(server_path, "unchanged")
        if os.path.isdir(host) and not os.path.islink(host):
            raise UsageError(f"{server_path} is a directory; refusing to remove it")
        old = b"" if os.path.islink(host) else host.read_bytes()
        diff = unified_diff(server_path, old, b"") if old else ""
        if self.dry_run:
            return FileChange(server_path, "would be removed", diff)
        try:
            self._save_backup(server_path, host)
            os.unlink(host)
            fsync_dir(host.parent)
        except OSError as e:
            raise JobFailed(f"cannot remove {server_path}: {e.strerror}") from None
        return FileChange(server_path, "removed", diff)

    def revert(self, server_path):
        """Put back the state saved before the toolkit first changed the file."""
        data_path, meta_path = self._backup_paths(server_path)
        if not meta_path.exists():
            return FileChange(server_path, "unchanged", note="no backup: nothing to revert")
        meta = json.loads(meta_path.read_text())
        host = self._target(server_path)
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
        try:
            if kind == "file":
                if os.path.islink(host):
                    os.unlink(host)
                host.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(host, original, mode=meta["mode"], uid=meta["uid"], gid=meta["gid"])
            elif kind == "symlink":
                tmp = host.with_name(f".{host.name}.sunray-tmp")
                if os.path.lexists(tmp):
                    os.unlink(tmp)
                os.symlink(meta["target"], tmp)
                os.rename(tmp, host)
            elif os.path.lexists(host):
                os.unlink(host)
                fsync_dir(host.parent)
        except OSError as e:
            raise JobFailed(f"cannot restore {server_path}: {e.strerror}") from None
        self._drop_backup(server_path)
        return FileChange(server_path, "restored" if kind != "absent" else "removed", diff)
