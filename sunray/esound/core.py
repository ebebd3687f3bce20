"""build-esound and check-esound: an OSS-only esound RPM, built and verified.

The distribution's esd links ALSA and crashes on a Sun Ray server, whose
audio is SRSS's emulated OSS device. ``build()`` rebuilds the distribution's
own esound source RPM (or an upstream tarball, with our spec template) with
``--disable-alsa`` in a private rpmbuild tree, verifies the result and copies
it to the output directory. ``check_rpms()`` and ``check_installed()`` prove
that an RPM or an installed esd/libesd has no trace of libasound.
"""

import glob
import os
import posixpath
import re
import shutil
import stat
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..config import as_bool
from ..errors import JobFailed, UsageError
from ..fileedit import stat_input
from ..report import Report

PACKAGE = "esound"
ESD = "/usr/bin/esd"
ALSA_LIB = "libasound.so"
INSTALLED_PATTERNS = (ESD, "/usr/lib*/libesd.so*", "/usr/lib/*-linux-gnu/libesd.so*")
_SUFFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_+]{0,31}$")
_VERSION = re.compile(r"^[0-9]+(\.[0-9]+){0,4}$")
_TARBALL = re.compile(r"^esound-([0-9][0-9.]*)\.(tar\.gz|tgz|tar\.bz2|tar\.xz)$")
LOG_TAIL_LINES = 25
RPMBUILD_DIRS = (
    ("_sourcedir", "SOURCES"), ("_specdir", "SPECS"), ("_builddir", "BUILD"),
    ("_buildrootdir", "BUILDROOT"), ("_rpmdir", "RPMS"), ("_srcrpmdir", "SRPMS"),
    ("_tmppath", "tmp"),
)


# --- reports ----------------------------------------------------------------


@dataclass
class FileCheck:
    """One checked ELF file: where, what it needs, whether that is ALSA."""

    path: str
    needed: list = field(default_factory=list)
    alsa: bool = False
    source: str = ""      # the RPM it came from ("" for installed files)
    error: str = ""

    def to_dict(self):
        return {"path": self.path, "source": self.source or None, "needed": self.needed,
                "alsa": self.alsa, "error": self.error or None}


class CheckReport(Report):
    """check-esound's result: ALSA requirements and ELF files found."""

    def to_text(self):
        lines = list(self.notes)
        for req in self.data.get("alsa_requires", []):
            lines.append(f"ALSA  {req['rpm']}: requires {req['requires']}")
        for f in self.data.get("files", []):
            where = f"{f['source']}: " if f.get("source") else ""
            if f.get("error"):
                lines.append(f"??    {where}{f['path']}: {f['error']}")
            elif f["alsa"]:
                alsa = [n for n in f["needed"] if n.startswith(ALSA_LIB)]
                lines.append(f"ALSA  {where}{f['path']} needs {', '.join(alsa)}")
            else:
                lines.append(f"ok    {where}{f['path']} (needs {', '.join(f['needed']) or 'nothing'})")
        if self.failure:
            lines.append(f"FAIL: {self.failure}")
        elif self.data.get("installed", True):
            lines.append("OK: no ALSA in esound")
        return "\n".join(lines)


class BuildReport(Report):
    def to_text(self):
        lines = []
        if self.dry_run:
            lines.append(self.data.get("spec_diff", "").rstrip("\n"))
        lines.extend(self.notes)
        for path in self.data.get("outputs", []):
            lines.append(f"wrote  {path}")
        tail = self.data.get("log_tail")
        if tail:
            lines.append("--- last lines of the build log ---")
            lines.append(tail.rstrip("\n"))
        check = self.data.get("check")
        if check:
            lines.append(check)
        return "\n".join(line for line in lines if line is not None)


# --- check ---------------------------------------------------------------------


def _elf_check(path, data_or_path, source=""):
    from . import elf as elfdeps

    try:
        if isinstance(data_or_path, (bytes, bytearray)):
            info = elfdeps.parse(data_or_path)
        else:
            info = elfdeps.parse_file(data_or_path)
    except elfdeps.ElfError as e:
        return FileCheck(path=path, source=source, error=str(e))
    return FileCheck(path=path, needed=info.needed, alsa=info.needs(ALSA_LIB), source=source)


def _is_esound_elf(name):
    return name == ESD or posixpath.basename(name).startswith("libesd.so")


def check_rpms(paths):
    """Check binary esound RPMs: no libasound requirement, no libasound in
    the DT_NEEDED of their ELF files, and /usr/bin/esd among them."""
    from . import elf as elfdeps
    from .rpm import RpmPackage

    if not paths:
        raise UsageError("check-esound: give RPM files or --installed")
    report = CheckReport(task="check-esound", data={"files": [], "alsa_requires": [], "rpms": []})
    has_esd, offenders = False, []
    for path in paths:
        with RpmPackage(path) as rpm:
            label = os.path.basename(str(path))
            if rpm.is_source:
                raise UsageError(f"{label}: a source RPM; check-esound checks binary RPMs")
            report.data["rpms"].append({"path": str(path), "nvr": rpm.nvr, "arch": rpm.arch})
            for req in rpm.requires:
                if req.startswith(ALSA_LIB) or req.startswith("alsa-lib"):
                    report.data["alsa_requires"].append({"rpm": label, "requires": req})
                    offenders.append(f"{label} requires {req}")
            for member in rpm.members():
                if member.kind != "file" or member.name.startswith("/usr/lib/debug/"):
                    continue
                if member.name == ESD:
                    has_esd = True
                # Every ELF file is checked, not just esd and libesd: an esd
                # helper (esdplay, ...) linking ALSA is just as wrong.
                data = rpm.read(member)
                if not elfdeps.is_elf(data):
                    continue
                result = _elf_check(member.name, data, source=label)
                report.data["files"].append(result.to_dict())
                if result.alsa:
                    offenders.append(f"{member.name} in {label} needs libasound")
                elif result.error and _is_esound_elf(member.name):
                    offenders.append(f"{member.name} in {label}: {result.error}")
    if offenders:
        report.failure = "ALSA found: " + "; ".join(offenders)
    elif not has_esd:
        report.failure = f"{ESD} is in none of the RPMs checked: not an esound build"
    return report


def check_installed(root):
    """Check the installed esd and libesd under ``root`` (a rootfs.Root).

    Exit status through the report: failure when a file needs libasound (or
    cannot be read as ELF). esound not installed at all is not a failure:
    ``data["installed"]`` is False and a note says so (nothing can crash).
    """
    report = CheckReport(task="check-esound", root=str(root.top), data={"files": [], "installed": True})
    seen, offenders = set(), []
    for pattern in INSTALLED_PATTERNS:
        # Escape the root itself: only the pattern part may be a glob.
        base = "" if root.is_host else glob.escape(str(root.top))
        for host in sorted(glob.glob(base + pattern)):
            server = root.server_path(host)
            target = host
            if os.path.islink(host):
                # Follow a library link only inside the root (an image's
                # absolute link must not lead us to the build host's files).
                real = os.path.realpath(host)
                if not root.contains(real):
                    report.warnings.append(f"{server}: link leads outside the root, skipped")
                    continue
                target = real
                server = root.server_path(real)
            if target in seen:
                continue
            seen.add(target)
            try:
                if not stat.S_ISREG(os.stat(target).st_mode):
                    continue
            except OSError:
                report.warnings.append(f"{server}: dangling link, skipped")
                continue
            result = _elf_check(server, target)
            report.data["files"].append(result.to_dict())
            if result.alsa:
                offenders.append(f"{server} needs libasound")
            elif result.error:
                offenders.append(f"{server}: {result.error}")
    if not os.path.lexists(root.path(ESD)):
        report.data["installed"] = False
        report.notes.append(f"esound is not installed under {root.top} ({ESD} not found): nothing to check")
    if offenders:
        report.failure = "ALSA found: " + "; ".join(offenders)
    return report


# --- build ---------------------------------------------------------------------


def _validate_suffix(suffix):
    if not isinstance(suffix, str) or not _SUFFIX.match(suffix):
        raise UsageError(
            f"--suffix {suffix!r}: expected letters, digits, '_' or '+' (at most 32), e.g. oss"
        )
    return suffix


def _needs_nodeps(setting):
    """Whether rpmbuild must skip its BuildRequires check.

    On Debian (and any host whose rpm database does not even know the rpm
    package itself) the database cannot know the build requirements, so
    rpmbuild would refuse every BuildRequires: use --nodeps there only.
    """
    if setting != "auto":
        return as_bool(setting, "sunray.esound.nodeps")
    if shutil.which("rpm") is None:
        return True
    probe = subprocess.run(["rpm", "-q", "--quiet", "rpm"], capture_output=True)
    return probe.returncode != 0


def _read_srpm(path):
    """Validate the esound SRPM; return (rpm facts, {member: bytes}, spec name)."""
    from .rpm import RpmPackage

    with RpmPackage(path) as rpm:
        label = os.path.basename(str(path))
        if not rpm.is_source:
            raise UsageError(f"{label}: a binary RPM ({rpm.nvr}.{rpm.arch}); give the esound source RPM (.src.rpm)")
        if rpm.name != PACKAGE:
            raise UsageError(f"{label}: the source RPM of {rpm.name!r}, not of {PACKAGE}")
        rpm.verify_payload_digest()
        files = rpm.read_all()
        facts = {"name": rpm.name, "version": rpm.version, "release": rpm.release}
    specs = [name for name in files if name.endswith(".spec")]
    if len(specs) != 1:
        raise UsageError(f"{label}: expected one .spec file in the source RPM, found {len(specs)}")
    return facts, files, specs[0]


def _decode_spec(data, label):
    if b"\0" in data:
        raise UsageError(f"{label}: the spec file is binary data")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _read_tarball(path, suffix, when):
    """Validate an upstream tarball; return (facts, {name: bytes}, spec name, spec text)."""
    from ..templating import packaging_dir, render
    from .spec import changelog_date

    label = os.path.basename(str(path))
    m = _TARBALL.match(label)
    if not m or not _VERSION.match(m.group(1)):
        raise UsageError(f"{label}: expected an upstream tarball named esound-VERSION.tar.gz (or .tar.bz2, .tar.xz)")
    version = m.group(1)
    stat_input(path)
    topdir = f"esound-{version}"
    try:
        with tarfile.open(path, "r:*") as tar:
            has_configure = False
            for member in tar:
                _check_tar_member(member, topdir, label)
                if member.name.rstrip("/") == f"{topdir}/configure" and member.isfile():
                    has_configure = True
    except tarfile.TarError:
        raise UsageError(f"{label}: not a readable tar archive (gzip, bzip2 or xz)") from None
    except (EOFError, OSError, ValueError) as e:
        raise UsageError(f"{label}: corrupt or truncated tar archive ({type(e).__name__})") from None
    if not has_configure:
        raise UsageError(f"{label}: no {topdir}/configure in the tarball: not an esound release tarball")
    with open(path, "rb") as f:
        data = f.read()
    spec = render(
        "esound.spec.j2",
        directory=packaging_dir(),
        version=version,
        suffix=suffix,
        source=label,
        topdir=topdir,
        date=changelog_date(when),
        packager="sunray build-esound",
    )
    facts = {"name": PACKAGE, "version": version, "release": f"1.{suffix}"}
    return facts, {label: data}, "esound.spec", spec


def _check_tar_member(member, topdir, label):
    name = member.name
    parts = name.split("/")
    if name.startswith("/") or ".." in parts or parts[0] != topdir:
        raise UsageError(f"{label}: unsafe or unexpected member {name!r} (everything must be under {topdir}/)")
    if member.isdev() or member.isfifo():
        raise UsageError(f"{label}: device or fifo member {name!r}")
    if member.issym() or member.islnk():
        # Symlink targets are relative to the link's directory, hard link
        # targets to the archive's top; both must stay in the source tree.
        target = member.linkname
        base = "" if member.islnk() else posixpath.dirname(name)
        resolved = posixpath.normpath(posixpath.join(base, target))
        if target.startswith("/") or not (resolved == topdir or resolved.startswith(topdir + "/")):
            raise UsageError(f"{label}: link {name!r} -> {target!r} leaves the source tree")


def _output_dir(output):
    out = Path(output)
    if out.is_symlink():
        raise UsageError(f"--output {output}: is a symlink; give the real directory")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--output {output}: exists and is not a directory")
    return out


def _tail(log_path, lines=LOG_TAIL_LINES):
    try:
        with open(log_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _copy_atomic(src, dest_dir):
    """Copy ``src`` into ``dest_dir`` atomically; never through a symlink."""
    from ..fileedit import atomic_write

    target = dest_dir / os.path.basename(src)
    with open(src, "rb") as f:
        atomic_write(target, f.read(), mode=0o644)
    return target


# --- who runs rpmbuild ----------------------------------------------------------

# A login name as useradd accepts it: it becomes an argument, never shell text.
_USER = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")


@dataclass
class BuildUser:
    """Whom rpmbuild runs as; ``dropped``: root switches to uid/gid (and no
    supplementary groups) for it, and uid/gid own the private build tree."""

    name: str
    uid: int
    gid: int
    dropped: bool


def build_user(conf, allow_root_build=False):
    """Whom build-esound runs the SRPM's build scripts as.

    As a normal user: that user, nothing to drop. As root:
    ``sunray.esound.build_user`` (default nobody); the switch happens in
    Python at exec time (``_run_build``), so no setpriv or runuser is needed.
    build_user root only when ``allow_root_build`` says so; a bad or unknown
    name is a UsageError.
    """
    import pwd

    euid = os.geteuid()
    if euid != 0:
        entry = pwd.getpwuid(euid)
        return BuildUser(entry.pw_name, euid, os.getegid(), dropped=False)
    name = conf.get("build_user") or "nobody"
    if not isinstance(name, str) or not _USER.fullmatch(name):
        raise UsageError(f"sunray.esound.build_user {name!r}: expected a user name, e.g. nobody")
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise UsageError(f"sunray.esound.build_user {name!r}: no such user on this host") from None
    if entry.pw_uid != 0:
        return BuildUser(name, entry.pw_uid, entry.pw_gid, dropped=True)
    if not allow_root_build:
        raise UsageError(f"build-esound: sunray.esound.build_user {name!r} is root; refusing "
                         "to run the source RPM's build scripts as root (give "
                         "--allow-root-build to do it anyway)")
    return BuildUser(name, 0, entry.pw_gid, dropped=False)


def _reachable_by_others(directory):
    """Whether every directory on the way to ``directory`` lets others pass."""
    path = os.path.realpath(directory)
    while True:
        try:
            if not os.stat(path).st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
        if path == "/":
            return True
        path = os.path.dirname(path)


def _work_dir(user):
    """A fresh root-owned directory for one build (removed by the caller).

    The build tree ``top`` inside it belongs to the build user; the log and
    the copied-out results stay beside it, where that user cannot reach.
    """
    base = tempfile.gettempdir()
    if user.dropped and not _reachable_by_others(base):
        base = "/var/tmp"  # a private TMPDIR the build user could not enter
    work = tempfile.mkdtemp(prefix="sunray-esound-", dir=base)
    if user.dropped:
        os.chmod(work, 0o711)  # the build user may pass to top/, not list or write
    return work


def _give_tree(topdir, user):
    """chown the freshly made build tree (ours, nothing foreign in it yet)."""
    if not user.dropped:
        return
    for dirpath, dirnames, filenames in os.walk(topdir):
        for name in [dirpath] + [os.path.join(dirpath, n) for n in dirnames + filenames]:
            os.chown(name, user.uid, user.gid, follow_symlinks=False)


# The build's whole environment: nothing of the caller's (root's) leaks in.
BUILD_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def _build_env(topdir, user):
    """A minimal environment, HOME and TMPDIR inside the build tree (not
    root's ~/.rpmmacros, not a shared /tmp)."""
    return {
        "PATH": BUILD_PATH,
        "HOME": topdir,
        "TMPDIR": f"{topdir}/tmp",
        "LANG": "C",
        "USER": user.name,
        "LOGNAME": user.name,
    }


def _run_build(cmd, topdir, user, log):
    """Run ``cmd`` (the rpmbuild argv) for the untrusted build scripts.

    In a new session: no controlling terminal, so nothing in the SRPM can
    open /dev/tty and push keystrokes (TIOCSTI) into the admin's shell;
    stdin is /dev/null. As root, Python switches to the build user between
    fork and exec (groups cleared). When rpmbuild ends, whatever it left
    running in its session's process group is killed. Returns the exit code.
    """
    import signal

    drop = {"user": user.uid, "group": user.gid, "extra_groups": []} if user.dropped else {}
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, cwd=topdir, env=_build_env(topdir, user),
                            start_new_session=True, **drop)
    try:
        # Wait for rpmbuild to end but leave it a zombie: its pid, which is
        # the session's process group id, cannot be reused until reaped, so
        # killpg below reaches only what the build left behind.
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    return proc.returncode


_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def _take_results(topdir, staging):
    """Copy the built RPMs (RPMS/ARCH/*.rpm) and SRPMs (SRPMS/*.src.rpm) out
    of the build user's tree into root's ``staging``, through fds that never
    follow a link: that user could have swapped anything in there for a link
    to a secret. Returns (binary RPM paths, source RPM paths) in staging."""

    def entries(dir_fd, subdir):
        try:
            fd = os.open(subdir, _OPEN_DIR, dir_fd=dir_fd)
        except FileNotFoundError:
            return None, []
        except OSError:
            raise JobFailed(f"build tree: {subdir} is not a plain directory; "
                            "nothing copied") from None
        return fd, sorted(os.listdir(fd))

    def copy(dir_fd, name, where):
        try:
            fd = os.open(name, _OPEN_FILE, dir_fd=dir_fd)
        except OSError:
            raise JobFailed(f"build tree: {where}/{name} is not a plain file; nothing copied") from None
        with os.fdopen(fd, "rb") as src:
            st = os.fstat(src.fileno())
            # a hard link could be someone else's file (no protected_hardlinks on RHEL 6)
            if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
                raise JobFailed(f"build tree: {where}/{name} is not a plain file; nothing copied")
            target = os.path.join(staging, name)
            with open(target, "xb") as dest:
                shutil.copyfileobj(src, dest)
        return target

    top_fd = os.open(topdir, _OPEN_DIR)
    built, sources = [], []
    try:
        rpms_fd, arches = entries(top_fd, "RPMS")
        if rpms_fd is not None:
            try:
                for arch in arches:
                    arch_fd, names = entries(rpms_fd, arch)
                    try:
                        built += [copy(arch_fd, n, f"RPMS/{arch}") for n in names if n.endswith(".rpm")]
                    finally:
                        os.close(arch_fd)
            finally:
                os.close(rpms_fd)
        srpms_fd, names = entries(top_fd, "SRPMS")
        if srpms_fd is not None:
            try:
                sources = [copy(srpms_fd, n, "SRPMS") for n in names if n.endswith(".src.rpm")]
            finally:
                os.close(srpms_fd)
    finally:
        os.close(top_fd)
    return sorted(built), sorted(sources)


def build(settings, srpm=None, tarball=None, output=None, suffix=None, dry_run=False, when=None,
          allow_root_build=False):
    """Build the OSS-only esound RPMs from ``srpm`` or ``tarball``.

    ``settings`` is the sunray config section (``settings["esound"]`` holds
    suffix, output, nodeps and build_user). As root, rpmbuild (and with it
    the source RPM's %prep/%build/%install) runs as build_user; see
    ``build_user()``. Returns a BuildReport; raises UsageError for bad input
    (nothing written) and JobFailed when rpmbuild fails.
    """
    from ..fileedit import unified_diff
    from . import spec as specedit

    conf = settings.get("esound", {})
    suffix = _validate_suffix(suffix or conf.get("suffix") or "oss")
    output = output or conf.get("output") or "./dist"
    if bool(srpm) == bool(tarball):
        raise UsageError("build-esound: give exactly one of --srpm FILE or --tarball FILE")
    when = time.time() if when is None else when

    if srpm:
        facts, files, spec_name = _read_srpm(srpm)
        old_spec = _decode_spec(files.pop(spec_name), os.path.basename(str(srpm)))
        edit = specedit.rewrite(old_spec, suffix, facts["version"], facts["release"], when=when)
        new_spec = edit.text
        changes = edit.changes
    else:
        facts, files, spec_name, new_spec = _read_tarball(tarball, suffix, when)
        old_spec = ""
        changes = [f"spec from packaging/esound.spec.j2 for esound {facts['version']}"]

    report = BuildReport(task="build-esound", dry_run=dry_run)
    report.data.update({
        "input": str(srpm or tarball),
        "version": facts["version"],
        "spec_changes": changes,
        "spec_diff": unified_diff(f"SPECS/{spec_name}", old_spec, new_spec),
        "outputs": [],
    })
    report.notes.extend(f"spec: {line}" for line in changes)
    user = build_user(conf, allow_root_build)
    report.data["build_user"] = user.name
    if os.geteuid() == 0 and not user.dropped:
        report.warnings.append("rpmbuild runs as root (--allow-root-build): the source "
                               "RPM's build scripts can do anything to this host")
    if dry_run:
        report.notes.append("dry run: nothing built")
        return report

    out_dir = _output_dir(output)
    nodeps = _needs_nodeps(conf.get("nodeps", "auto"))
    if shutil.which("rpmbuild") is None:
        raise JobFailed("rpmbuild not found: install rpm-build (RHEL) or rpm (Debian)")
    work = _work_dir(user)
    try:
        topdir = os.path.join(work, "top")
        os.mkdir(topdir, 0o700)
        for _macro, sub in RPMBUILD_DIRS:
            os.mkdir(os.path.join(topdir, sub), 0o700)
        from .rpm import extract_flat

        extract_flat(files, os.path.join(topdir, "SOURCES"))
        spec_path = os.path.join(topdir, "SPECS", spec_name)
        with open(spec_path, "w", encoding="utf-8") as f:
            f.write(new_spec)
        _give_tree(topdir, user)
        log_path = os.path.join(work, "build.log")
        # found on the caller's PATH: the build's own PATH is minimal
        cmd = [shutil.which("rpmbuild"), "-ba", "--define", f"_topdir {topdir}"]
        # Every directory explicitly, so a ~/.rpmmacros cannot send parts of
        # the build elsewhere.
        for macro, sub in RPMBUILD_DIRS:
            cmd += ["--define", f"{macro} {topdir}/{sub}"]
        if nodeps:
            cmd.append("--nodeps")
            report.notes.append(
                "rpmbuild --nodeps: this host's rpm database does not know the "
                "build requirements (Debian, or an empty rpmdb)"
            )
        cmd.append(spec_path)
        report.notes.append(f"rpmbuild runs as {user.name} (uid {user.uid}) in a new "
                            "session: no terminal, minimal environment")
        with open(log_path, "wb") as log:
            returncode = _run_build(cmd, topdir, user, log)
        staging = os.path.join(work, "results")
        os.mkdir(staging, 0o700)
        built, sources = _take_results(topdir, staging)
        if returncode != 0 or not built:
            kept = _keep_log(log_path, out_dir, facts, suffix)
            report.data["log_tail"] = _tail(log_path)
            report.data["log"] = str(kept)
            report.failure = f"rpmbuild failed (exit {returncode}); full log: {kept}"
            return report

        check = check_rpms(built)
        report.data["check"] = check.to_text()
        report.data["check_result"] = check.to_dict()
        if check.failure:
            kept = _keep_log(log_path, out_dir, facts, suffix)
            report.failure = f"built RPMs still use ALSA, not copied: {check.failure} (build log: {kept})"
            return report

        targets = [out_dir / os.path.basename(p) for p in built + sources]
        for target in targets:
            if target.is_symlink():
                raise UsageError(f"{target}: is a symlink; refusing to write through it")
        out_dir.mkdir(parents=True, exist_ok=True)
        from ..fileedit import FileChange

        for src in built + sources:
            existed = (out_dir / os.path.basename(src)).exists()
            target = str(_copy_atomic(src, out_dir))
            report.data["outputs"].append(target)
            report.add(FileChange(path=target, action="replaced" if existed else "created"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return report


def _keep_log(log_path, out_dir, facts, suffix):
    """Copy the build log next to the results, where the admin can read it."""
    from ..fileedit import atomic_write

    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"esound-{facts['version']}.{suffix}.build.log"
    if target.is_symlink():
        raise UsageError(f"{target}: is a symlink; refusing to write through it")
    with open(log_path, "rb") as f:
        atomic_write(target, f.read(), mode=0o644)
    return target
