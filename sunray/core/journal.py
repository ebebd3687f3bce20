"""One journal per run: a killed run is finished or rolled back by the next.

Every task that writes wraps its writes in ``Journal(...)``, entered once
its input is checked and its plan made (bad input leaves nothing behind),
never in a dry run. Entering it

1. takes the one lock (``sunray.core.runlock.RunLock``, making the state
   directory if need be);
2. looks for ``<state_dir>/journal.json``: one left there is an unfinished
   run (its holder is gone, since we hold the lock). The processes it
   started that still run are stopped (``sunray.core.runprocs``), and its
   temporary files (``.NAME.<random>.sunray-tmp``) are removed from the
   directories it names, from ours and from the state directory;
3. writes our own journal (task, run id, boot, argv, pid and its start
   time, the planned targets and the directories our temporary files go
   to) before the first write; every process the run starts from then on
   carries the run id.

Leaving it removes our temporary files (none, unless a step failed oddly)
and the journal, then drops the lock; a revert also removes the state
directory when nothing of sunray's remains in it.

What each write means is recorded ahead of it where the write happens
(``FileEditor``'s backup records, the boot hook's record), so the journal
only has to say that a run was under way and where it left its temporary
files: a rerun does its own work, which finishes what the killed run began,
and a revert undoes both.

``apply`` holds one journal for all its steps; a step's journal then adds
its targets to it.
"""

import fcntl
import json
import os
import posixpath
import re
import sys
import time
from typing import Any, Dict, Iterable, List, Optional, Tuple

from . import runprocs, statedir, tasklist
from .errors import JobFailed, SunrayError, UsageError
from .kernelname import check_kernel
from .report import Check
from .rootfs import Root
from .runlock import LOCK_NAME, RunLock
from .safeio import atomic_write, is_temp_name, remove_temp_files

JOURNAL = "journal.json"

# The outermost journal of this process, when one is open (apply).
_OPEN: List["Journal"] = []


class Journal:
    """A run's journal and lock (a context manager; inactive in a dry run)."""

    def __init__(self, root: Root, settings: Dict[str, Any], task: str,
                 targets: Iterable[str] = (), dry_run: bool = False,
                 revert: bool = False, hold: bool = False) -> None:
        self.root = root
        self.settings = settings
        self.state_dir = settings.get("state_dir", statedir.DEFAULT)
        self.task = task + (" --revert" if revert else "")
        self.targets = list(dict.fromkeys(targets))
        self.active = not dry_run
        self.revert = revert
        self.hold = hold  # lock even with no targets (apply, for its steps)
        self.notes: List[str] = []  # what was cleaned up after a killed run
        self.lock: Optional[RunLock] = None
        self.outer: Optional["Journal"] = None
        self.entry: Dict[str, Any] = {}
        self.env_before: Optional[str] = None  # SUNRAY_RUN before ours (runprocs)

    # -- entering ----------------------------------------------------------
    def __enter__(self) -> "Journal":
        if not self.active:
            return self
        nothing_planned = self.revert or not (self.targets or self.hold)
        if nothing_planned and not _OPEN \
                and self.root.makedirs(self.state_dir, create=False).created:
            # No state directory and nothing to write: nothing of sunray's to
            # lock, recover or revert here (but a run killed while making the
            # state directory may have left its temporary copy).
            statedir.leftover_temp_trees(self.root, self.state_dir)
            self.active = False
            return self
        # Nothing to write (a run that finds everything done): the lock and
        # the journal are a courtesy, not worth failing for on a read-only
        # image.
        light = not (self.targets or self.hold or self.revert or _OPEN)
        self.lock = RunLock(self.root, self.settings)
        try:
            self.lock.__enter__()
        except SunrayError:
            if not light:
                raise
            self.active, self.lock = False, None
            return self
        try:
            self._begin()
        except BaseException as e:
            self.lock.__exit__(None, None, None)
            if light and isinstance(e, (JobFailed, OSError)):
                self.active, self.lock = False, None
                return self
            raise
        return self

    def _begin(self) -> None:
        """Join the outer journal, or clean up after a killed run and write ours."""
        if _OPEN:
            self.outer = _OPEN[-1]
            self.outer.add(self.targets)
            return
        previous = self._load()
        if previous:
            self.notes.append(
                f"an interrupted run was found ({previous.get('task', '?')}, pid "
                f"{previous.get('pid', '?')}, started {previous.get('started', '?')}); "
                "its temporary files were removed and this run finishes its work")
            self._stop_processes(previous)
        self._clean(previous.get("dirs", []))
        run_id = runprocs.new_run_id()
        self.entry = {
            "task": self.task,
            "pid": os.getpid(),
            "pid_start": runprocs.start_time(os.getpid()),
            "boot": runprocs.boot_id(),
            "run": run_id,
            "argv": [str(a) for a in sys.argv],
            "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "targets": [],
            "dirs": [],
        }
        self.add(list(previous.get("targets", [])) + self.targets,
                 list(previous.get("dirs", [])))
        # Every process started from now on carries the run's id (runprocs).
        self.env_before = os.environ.get(runprocs.ENV)
        os.environ[runprocs.ENV] = run_id
        _OPEN.append(self)

    def _stop_processes(self, previous: Dict[str, Any]) -> None:
        """Stop what a killed run left running (make, depmod) before its
        leftovers are cleaned up and this run starts its own work."""
        run_id, why_not = _leftover_run(previous)
        if why_not:
            self.notes.append(why_not)
        if run_id is None:
            return
        try:
            stopped = runprocs.stop_run(run_id)
        except TimeoutError as e:
            raise JobFailed(f"processes of the interrupted run did not stop: {e}; "
                            "nothing was changed") from None
        if stopped:
            self.notes.append("stopped what the interrupted run had left running: "
                              + ", ".join(stopped))

    def add(self, targets: Iterable[str], dirs: Iterable[str] = ()) -> None:
        """Add planned targets (and the directories of their temporary
        files) to the journal, written before the first write to them."""
        if self.outer is not None:
            self.outer.add(targets, dirs)
            return
        if not self.active:
            return
        entry = self.entry
        new_targets = [t for t in targets if t not in entry["targets"]]
        wanted = list(dirs) + [posixpath.dirname(t) for t in new_targets]
        new_dirs = [d for d in dict.fromkeys(wanted) if d not in entry["dirs"]]
        if not new_targets and not new_dirs and self._path_exists():
            return
        entry["targets"] += new_targets
        entry["dirs"] += new_dirs
        self._store()

    # -- leaving -----------------------------------------------------------
    def __exit__(self, *exc: Any) -> None:
        if not self.active or self.lock is None:
            return
        try:
            if self.outer is None:
                _OPEN.remove(self)
                if self.env_before is None:
                    os.environ.pop(runprocs.ENV, None)
                else:
                    os.environ[runprocs.ENV] = self.env_before
                self._clean(self.entry.get("dirs", []))
                try:
                    os.unlink(self._path())
                except FileNotFoundError:
                    pass
                if self.revert and self.lock.outermost:
                    statedir.remove_if_unused(self.root, self.state_dir)
                if exc and isinstance(exc[1], SunrayError) and self.lock.created:
                    # Refused (a revert checks under the lock): the lock file
                    # this run made goes again, the tree is as it was.
                    self.lock.remove()
        finally:
            self.lock.__exit__(None, None, None)

    # -- the file ----------------------------------------------------------
    def _path(self) -> str:
        assert self.lock is not None and self.lock.path is not None
        return str(self.lock.path.parent / JOURNAL)

    def _path_exists(self) -> bool:
        return os.path.exists(self._path())

    def _load(self) -> Dict[str, Any]:
        try:
            with open(self._path(), "rb") as f:
                entry = parse_entry(f.read())
        except FileNotFoundError:
            return {}
        except OSError:
            entry = None
        return {"task": "unknown (damaged journal)"} if entry is None else entry

    def _store(self) -> None:
        data = (json.dumps(self.entry, indent=1, sort_keys=True) + "\n").encode()
        try:
            atomic_write(self._path(), data, mode=0o600)
        except OSError as e:
            raise JobFailed(f"cannot write the run journal {self.state_dir}/{JOURNAL}: "
                            f"{e.strerror}; nothing was changed") from None

    def _clean(self, dirs: Iterable[str]) -> None:
        """Remove sunray's temporary files from ``dirs`` (server paths) and,
        recursively, from the state directory."""
        for server_dir in dict.fromkeys(dirs):
            try:
                made = self.root.makedirs(server_dir, create=False)
            except (UsageError, OSError):  # a path gone bad since: nothing of ours
                continue
            if not made.created:
                self._note_removed(server_dir, remove_temp_files(made.host))
        state = self.lock.path.parent if self.lock and self.lock.path else None
        if state is not None:
            for dirpath, dirnames, filenames in os.walk(str(state)):
                if any(is_temp_name(n) for n in filenames + dirnames):
                    here = self.root.server_path(dirpath)
                    self._note_removed(here, remove_temp_files(dirpath))

    def _note_removed(self, server_dir: str, names: List[str]) -> None:
        for name in names:
            self.notes.append(f"removed {posixpath.join(server_dir, name)}, "
                              "left by an interrupted run")


def _leftover_run(entry: Dict[str, Any]) -> Tuple[Optional[str], str]:
    """The id of the killed run whose processes a rerun stops (None: none
    to look for), and why not when worth saying. The journal is a file:
    its id, boot and process are checked (sunray.core.runprocs)."""
    run_id = runprocs.valid_run_id(entry.get("run"))
    if run_id is None or entry.get("boot") != runprocs.boot_id():
        return None, ""  # an older version's or a damaged journal; or nothing of it runs now
    if runprocs.alive(entry.get("pid"), entry.get("pid_start")):
        # Its run is alive: this tree is a copy of one a live run works on.
        return None, (f"the interrupted run's process {entry['pid']} is alive (is this tree "
                      "a copy?): its processes were left alone")
    if not runprocs.proc_is_ours():
        return None, ("/proc is not this PID namespace's: what the interrupted run may have "
                      "left running was not looked for")
    return run_id, ""


def parse_entry(raw: bytes) -> Optional[Dict[str, Any]]:
    """A journal's content, its ``targets`` and ``dirs`` lists of absolute
    paths (anything else in them dropped); None when it is not a JSON object.
    Read by the next run and by the doctor: untrusted either way."""
    try:
        entry = json.loads(raw)
    except ValueError:  # UnicodeDecodeError included
        return None
    if not isinstance(entry, dict):
        return None
    for key in ("targets", "dirs"):
        paths = entry.get(key)
        entry[key] = [p for p in paths if isinstance(p, str) and p.startswith("/")] \
            if isinstance(paths, list) else []
    return entry


# --- the doctor's check ---------------------------------------------------------

# A journal is read by the doctor without the lock: at most this much of it.
_MAX_JOURNAL_BYTES = 1 << 20


def check_journal(root: Root, settings: Dict[str, Any]) -> List[Check]:
    """Warn about a run that was killed and not yet rerun or reverted; a run
    under way (its lock held) is fine. Changes nothing, takes no lock."""
    state_dir = settings.get("state_dir", statedir.DEFAULT)
    title = "no interrupted run"
    made = root.makedirs(state_dir, create=False)
    if made.created:  # no state directory: no run has left anything
        return [Check("journal", title, "ok", "no state directory")]
    path = os.path.join(str(made.host), JOURNAL)
    server_path = posixpath.join(root.server_path(made.host), JOURNAL)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return [Check("journal", title, "ok", "no unfinished run")]
    except OSError:  # a symlink (ELOOP) or worse: not ours to follow
        return [Check("journal", title, "warn", f"{server_path}: not a regular file",
                      f"look at {server_path} (sunray's run journal belongs there), "
                      "then run the task again")]
    try:
        raw = os.read(fd, _MAX_JOURNAL_BYTES)
    except OSError:  # a directory
        raw = b""
    finally:
        os.close(fd)
    entry = parse_entry(raw) or {}
    task = _known_task(entry.get("task"))
    when = entry.get("started")
    started = re.sub(r"[^0-9A-Za-z:.+-]", "?", when)[:40] if isinstance(when, str) else "?"
    if _lock_held(os.path.join(str(made.host), LOCK_NAME)):
        return [Check("journal", title, "ok", f"a run of {task or 'a task'} is under way "
                      f"(since {started})")]
    run_id, _ = _leftover_run(entry)
    left = runprocs.running(run_id) if run_id else []
    still = f"; still running: {', '.join(left)} (the next run stops them)" if left else ""
    if task is None:
        return [Check("journal", title, "warn",
                      f"{server_path}: an interrupted run left its journal (task unknown){still}",
                      "run the task you last ran again (or its --revert); the run cleans up")]
    finish, undo = _fixes(task, _kernels(entry))
    fix = f"{finish} (finishes it)" + (f", or {undo} (undoes it)" if undo else "")
    return [Check("journal", title, "warn",
                  f"{server_path}: a run of `sunray {task}` started {started} was "
                  f"interrupted{still}", fix)]


# Tasks whose --revert undoes them (the others are undone by another task).
_REVERTIBLE = ("patch-tmpwatch", "esd-dir", "install-boot-hook", "install-kernel-hooks",
               "apply")


def _fixes(task: str, kernels: List[str]) -> Tuple[str, str]:
    """The commands that finish and that undo a killed run of ``task`` (a
    known task, maybe with --revert); the undo may be empty."""
    name = task.partition(" ")[0]
    kernel = f"--kernel {kernels[0]}" if len(kernels) == 1 else "--kernel KERNEL"
    if name == "rebuild-modules":
        return "sunray rebuild-modules", f"sunray remove-modules {kernel}"
    if name == "remove-modules":  # journalled as a revert
        return f"sunray remove-modules {kernel}", f"sunray rebuild-modules {kernel}"
    if task.endswith(" --revert"):  # a killed revert: run it again
        return f"sunray {task}", ""
    return f"sunray {task}", (f"sunray {task} --revert" if name in _REVERTIBLE else "")


def _kernels(entry: Dict[str, Any]) -> List[str]:
    """The kernels a modules run's journal names in its targets (checked:
    they become arguments of a fix line)."""
    found = []
    for target in entry.get("targets", [])[:1000]:  # absolute paths (parse_entry)
        parts = target.split("/")
        if len(parts) > 3 and parts[:3] == ["", "lib", "modules"]:
            try:
                kernel = check_kernel(parts[3])
            except UsageError:
                continue
            if kernel not in found:
                found.append(kernel)
    return found


def _known_task(value: Any) -> Optional[str]:
    """The journal's task when it names one of ours (it becomes a fix line)."""
    if not isinstance(value, str):
        return None
    name, _, rest = value.partition(" ")
    if rest not in ("", "--revert") or name not in {info.name for info in tasklist.TASKS}:
        return None
    return value


def _lock_held(lock_path: str) -> bool:
    """Whether another process holds the run lock: a flock on the lock
    file's inode in /proc/locks (read, not taken: a run starting this very
    moment must not find it busy). Without /proc, a shared probe lock."""
    try:
        st = os.stat(lock_path, follow_symlinks=False)
    except OSError:
        return False
    inode = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        with open("/proc/locks") as f:
            for line in f:  # "1: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE 0 EOF"
                fields = [x for x in line.split() if x != "->"]  # "->": a waiter
                if len(fields) > 5 and fields[1] == "FLOCK" and fields[5] == inode:
                    return True
            return False
    except OSError:
        pass
    try:
        fd = os.open(lock_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing drops a probe lock we got
    return False


CHECKS = (check_journal,)
