"""SRSS kernel modules (utadem, utdisk, utdiskctl, utio), rebuilt for every kernel.

Oracle's Makefiles build for the *running* kernel only (``uname -r``). We
drive kbuild directly for exactly the kernel wanted::

    make -C /lib/modules/K/build M=<scratch copy> modules

The stock Makefile stays the kbuild file: it sets ``obj-m := $(COBJ)`` (from
``C_FILES``) unconditionally, which is what kbuild reads, so the same set of
.ko comes out as with ``make default`` on the running kernel, with Oracle's
own flags (EXTRA_CFLAGS, ccflags-y); its ``uname -r`` lines are evaluated but
unused in that pass. The built set is read back from kbuild's
``modules.order``.

Per kernel: copy the sources of the modules that need building to scratch
space, apply the configured patches, build them in one kbuild pass (a
generated Kbuild descends into each module directory), check vermagic (and
signature); only when every module of the kernel built, install that
kernel's set atomically, write the record, run depmod. When the pass fails,
each module is built again alone, so every module's status and log say
exactly what broke. A failure leaves the installed modules and the record as
they were. Kernels build side by side; ``--jobs`` is shared out as the
``-j`` of their makes, so nothing stacks ``-j``.

The record (DIR/var/lib/sunray/modules/K.json) says what each installed
module was built from; when nothing changed the pair is "up to date" and a
run costs a few stat calls and digests, no subprocess.
"""

import hashlib
import json
import os
import re
import shutil
import stat
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..errors import JobFailed, UsageError
from ..fileedit import atomic_write, fsync_dir
from ..report import Report

# Kernel versions end up in paths and command lines: letters, digits and
# . _ + ~ - only, starting with a letter or digit, no "..".
_KERNEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+~-]{0,127}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}$")
_DEST_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+/-]*$")

# Bump when the way we build changes: every record becomes stale.
RECIPE = "kbuild-m-1"

# Build products an admin's `make` in the source tree may have left behind:
# never copied (kbuild would reuse them) and not part of the source digest.
_PRODUCTS = re.compile(
    r"(\.o|\.ko|\.mod|\.mod\.c|\.cmd|\.a|\.order|\.symvers|\.tmp|\.d)$"
    r"|^(Module\.symvers|modules\.order|Module\.markers|\.tmp_versions)$"
)

# What identifies a headers tree for the up-to-date check (cheap stats).
_HEADERS_IDENTITY = ("include/generated/utsrelease.h", ".config", "Module.symvers")

# Environment variables that would make our make calls stack -j or inherit a
# parent make's state.
_MAKE_ENV = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "GNUMAKEFLAGS")

STATUS_BUILT = "built"
STATUS_CURRENT = "up to date"
STATUS_FAILED = "failed"
STATUS_SKIPPED = "skipped"
STATUS_WOULD = "would build"

LOG_TAIL_LINES = 20


# --- validation -----------------------------------------------------------


def check_kernel(kernel):
    """The kernel version, or UsageError: it becomes a path and an argument."""
    if not isinstance(kernel, str) or not _KERNEL_RE.match(kernel) or ".." in kernel:
        raise UsageError(
            f"kernel version {kernel!r} refused: expected letters, digits and . _ + ~ - "
            "only, starting with a letter or digit"
        )
    return kernel


def _check_name(name, what):
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise UsageError(f"{what} {name!r}: expected letters, digits and . _ + - only")
    return name


def _valid_dest(dest):
    """A plain relative path below /lib/modules/K (config or a record's)."""
    return isinstance(dest, str) and bool(_DEST_RE.match(dest)) and ".." not in dest.split("/")


def module_settings(config):
    """The ``modules`` subsection, checked (UsageError names the bad key)."""
    cfg = dict(config.get("modules", {}))
    dest = cfg.get("dest", "extra/sunray")
    if not _valid_dest(dest):
        raise UsageError(f"modules.dest {dest!r}: expected a relative path below /lib/modules/K")
    cfg["dest"] = dest.strip("/")
    src = cfg.get("src", "/usr/src/SUNWut")
    if not isinstance(src, str) or not src.startswith("/"):
        raise UsageError(f"modules.src {src!r}: expected an absolute path")
    sign = dict(cfg.get("sign") or {})
    if sign.get("enabled"):
        if not re.match(r"^[a-z0-9]+$", str(sign.get("hash", ""))):
            raise UsageError(f"modules.sign.hash {sign.get('hash')!r}: expected e.g. sha256")
        for key in ("key", "cert"):
            if not isinstance(sign.get(key), str) or not sign[key].startswith("/"):
                raise UsageError(f"modules.sign.{key}: expected an absolute path when signing")
    cfg["sign"] = sign
    try:
        cfg["lock_timeout"] = float(cfg.get("lock_timeout", 900))
    except (TypeError, ValueError):
        raise UsageError("modules.lock_timeout: expected a number of seconds") from None
    return cfg


def _patches(cfg):
    """The configured patches as (file, compiled regex, module or None)."""
    out = []
    for i, p in enumerate(cfg.get("patches") or []):
        if not isinstance(p, dict) or not isinstance(p.get("file"), str):
            raise UsageError(f"modules.patches[{i}]: expected {{file: PATH, kernel_regex: RE}}")
        try:
            rx = re.compile(str(p.get("kernel_regex", "")))
        except re.error as e:
            raise UsageError(f"modules.patches[{i}].kernel_regex: {e}") from None
        module = p.get("module")
        if module is not None:
            _check_name(module, f"modules.patches[{i}].module")
        out.append((p["file"], rx, module))
    return out


# --- what there is --------------------------------------------------------


def _version_key(kernel):
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", kernel) if t]


def installed_kernels(root):
    """Kernel versions under DIR/lib/modules (valid names only), oldest first."""
    base = root.path("/lib/modules")
    try:
        names = [e.name for e in os.scandir(base) if e.is_dir()]
    except FileNotFoundError:
        return []
    return sorted((n for n in names if _KERNEL_RE.match(n) and ".." not in n), key=_version_key)


def headers_dir(root, kernel):
    """Host path of kernel K's headers (the kbuild tree), or None.

    DIR/lib/modules/K/build is a directory or a link. A relative link is
    followed inside the tree. An absolute link target is looked up under DIR
    first, then, only when DIR is not /, on the host itself: image builders
    and sandboxes point build links at the build host's
    /usr/src/linux-headers-K. The headers are only read, never written.
    """
    link = root.path(f"/lib/modules/{kernel}/build")
    try:
        st = os.lstat(link)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        target = os.readlink(link)
        if os.path.isabs(target):
            norm = os.path.normpath(target)
            candidates = [root.top / norm.lstrip("/")]
            if not root.is_host:
                candidates.append(Path(norm))
        else:
            candidates = [link.parent / target]
    else:
        candidates = [link]
    for c in candidates:
        if (c / "Makefile").is_file():
            return Path(os.path.realpath(c))
    return None


def headers_package(root, kernel):
    """The package that provides kernel K's headers on this root's distribution."""
    if root.path("/etc/redhat-release").exists():
        return f"kernel-devel-{kernel}"
    if root.path("/etc/debian_version").exists():
        return f"linux-headers-{kernel}"
    return f"linux-headers-{kernel} (Debian, Ubuntu) or kernel-devel-{kernel} (RHEL)"


def discover_modules(root, cfg):
    """[(name, host dir)] of the module sources to build."""
    src = root.path(cfg["src"])
    wanted = cfg.get("modules", "auto")
    if wanted in ("auto", None, ""):
        try:
            entries = sorted(os.scandir(src), key=lambda e: e.name)
        except FileNotFoundError:
            return []
        found = []
        for e in entries:
            if not e.is_dir(follow_symlinks=False) or not _NAME_RE.match(e.name):
                continue
            files = os.listdir(e.path)
            if "Makefile" in files and any(f.endswith(".c") for f in files):
                found.append((e.name, Path(e.path)))
        return found
    if isinstance(wanted, str):
        wanted = wanted.split()
    found = []
    for name in wanted:
        _check_name(name, "module")
        d = src / name
        if not (d / "Makefile").is_file():
            raise UsageError(f"module {name}: no Makefile in {cfg['src']}/{name}")
        found.append((name, d))
    return found


# A module object's name ends up in dkms.conf, which dkms *sources* as root:
# plain names only, checked where they are read from Oracle's Makefile.
_OBJECT_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


def _check_object(name, where):
    if not _OBJECT_RE.fullmatch(name):
        raise UsageError(f"{where}: module name {name!r} refused: expected letters, "
                         "digits, '_' and '-' only")
    return name


def module_objects(srcdir):
    """The .ko names (without suffix) a stock SRSS Makefile builds.

    From ``C_FILES`` (Oracle's convention: one module per C file), else from
    literal ``obj-m`` entries, else one per .c file. A name that is not a
    plain word (letters, digits, _ and -) is refused with a UsageError naming
    the Makefile and the word.
    """
    makefile = Path(srcdir) / "Makefile"
    text = makefile.read_text(errors="replace").replace("\\\n", " ")
    for var, suffix in (("C_FILES", ".c"), ("obj-m", ".o")):
        m = re.search(rf"^[ \t]*{re.escape(var)}[ \t]*[:+?]?=[ \t]*(.*)$", text, re.M)
        if m:
            names = [_check_object(w[: -len(suffix)], f"{makefile} ({var} word {w!r})")
                     for w in m.group(1).split() if w.endswith(suffix) and "$" not in w]
            if names:
                return names
    return sorted(_check_object(p.stem, f"{p}") for p in Path(srcdir).glob("*.c"))


def _digest_tree(directory):
    """sha256 over the relative names and contents of the source files."""
    h = hashlib.sha256()
    base = str(directory)
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if not _PRODUCTS.search(d))
        for name in sorted(filenames):
            if _PRODUCTS.search(name):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, base)
            h.update(rel.encode() + b"\0")
            if os.path.islink(path):
                h.update(b"link:" + os.readlink(path).encode())
            else:
                with open(path, "rb") as f:
                    h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()


def _file_digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _headers_identity(headers):
    parts = [str(headers)]
    for rel in _HEADERS_IDENTITY:
        try:
            st = os.stat(headers / rel)
            parts.append(f"{rel}:{st.st_size}:{st.st_mtime_ns}")
        except FileNotFoundError:
            parts.append(f"{rel}:-")
    return "|".join(parts)


# --- the plan -------------------------------------------------------------


@dataclass
class Pair:
    """One (kernel, module) build and its outcome."""

    kernel: str
    module: str
    status: str = ""
    seconds: float = 0.0
    log: str = ""
    detail: str = ""
    log_tail: list = field(default_factory=list)
    # internal: inputs of the build
    srcdir: Optional[Path] = None
    headers: Optional[Path] = None
    input_digest: str = ""
    patches: list = field(default_factory=list)  # [(host path, digest)]
    built: list = field(default_factory=list)  # [(ko name, scratch path, digest)]
    current: bool = False  # the record matches the inputs and the .ko are intact

    def to_dict(self):
        d = {"kernel": self.kernel, "module": self.module, "status": self.status,
             "seconds": round(self.seconds, 2), "log": self.log or None,
             "detail": self.detail or None}
        if self.log_tail:
            d["log_tail"] = self.log_tail
        return d


@dataclass
class ModulesReport(Report):
    """Result of rebuild-modules: one row per (kernel, module) instead of
    file changes."""

    task: str = "rebuild-modules"
    pairs: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self):
        return any(p.status == STATUS_BUILT for p in self.pairs)

    def to_dict(self):
        return {"task": self.task, "root": self.root, "dry_run": self.dry_run,
                "changed": self.changed, "seconds": round(self.seconds, 2),
                "pairs": [p.to_dict() for p in self.pairs], "notes": list(self.notes),
                "warnings": list(self.warnings), "failure": self.failure or None}

    def to_text(self):
        lines = list(self.notes)
        if self.pairs:
            rows = [("KERNEL", "MODULE", "STATUS", "SECONDS", "LOG / DETAIL")]
            for p in self.pairs:
                secs = f"{p.seconds:.1f}" if p.status in (STATUS_BUILT, STATUS_FAILED) else "-"
                rows.append((p.kernel, p.module, p.status, secs, p.detail or p.log or ""))
            widths = [max(len(r[i]) for r in rows) for i in range(4)]
            for r in rows:
                lines.append("  ".join(
                    [r[0].ljust(widths[0]), r[1].ljust(widths[1]), r[2].ljust(widths[2]),
                     r[3].rjust(widths[3]), r[4]]).rstrip())
        for p in self.pairs:
            if p.log_tail:
                lines.append("")
                lines.append(f"--- {p.module} for {p.kernel} failed: {p.detail}")
                lines.append(f"--- last {len(p.log_tail)} lines of {p.log}:")
                lines.extend(p.log_tail)
        if not self.pairs and not self.failure:
            lines.append("no kernel with headers, nothing to build")
        return "\n".join(lines)


def _record_path(root, config, kernel):
    return root.state("modules", f"{kernel}.json", settings=config)


def _read_record(path):
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        return {"modules": {}}
    except (OSError, ValueError):
        # A damaged record only costs a rebuild.
        return {"modules": {}}
    if not isinstance(data, dict) or not isinstance(data.get("modules"), dict):
        return {"modules": {}}
    return data


def _log_dir(root, config, kernel):
    return root.path(config.get("log_dir", "/var/log/sunray")) / "modules" / kernel


def _log_path(root, config, kernel, module):
    return _log_dir(root, config, kernel) / f"{module}.log"


def _matching_patches(root, cfg, patches, kernel, module, digests):
    """(host path, digest) of the patches for this pair; ``digests`` caches
    each file's digest across the pairs of one plan."""
    out = []
    src = root.path(cfg["src"])
    for file, rx, only in patches:
        if only is not None and only != module:
            continue
        if not rx.search(kernel):
            continue
        host = root.path(file) if file.startswith("/") else src / file
        if ".." in Path(file).parts:
            raise UsageError(f"patch {file}: '..' is not allowed")
        if not host.is_file():
            raise UsageError(f"patch {file}: no such file")
        if host not in digests:
            digests[host] = _file_digest(host)
        out.append((host, digests[host]))
    return out


def _is_current(record_entry, input_digest, dest):
    """True when the record matches the inputs and every .ko is there intact."""
    if not record_entry or record_entry.get("input") != input_digest:
        return False
    files = record_entry.get("files") or {}
    if not files:
        return False
    for name, digest in files.items():
        path = dest / name
        try:
            if not path.is_file() or _file_digest(path) != digest:
                return False
        except OSError:
            return False
    return True


def _plan(root, config, cfg, kernels, explicit, report):
    """Pairs for every (kernel, module), each marked up to date, skipped or to build."""
    modules = discover_modules(root, cfg)
    if not modules:
        raise UsageError(f"no module sources under {cfg['src']} (directories with a Makefile and .c files)")
    patches = _patches(cfg)
    sign = cfg["sign"]
    sign_id = "sign:off"
    if sign.get("enabled"):
        # a new certificate (same path) must re-sign: hash its content
        cert = root.path(sign["cert"])
        sign_id = f"sign:{sign['hash']}:{_file_digest(cert) if cert.is_file() else '-'}"
    for _name, d in modules:
        module_objects(d)  # refuses a Makefile naming hostile modules, before any build
    src_digests = {name: _digest_tree(d) for name, d in modules}
    pairs = []
    patch_digests = {}
    for kernel in kernels:
        headers = headers_dir(root, kernel)
        if headers is None:
            package = headers_package(root, kernel)
            detail = f"no headers (/lib/modules/{kernel}/build): install {package}"
            for name, _ in modules:
                pairs.append(Pair(kernel, name, STATUS_FAILED if explicit else STATUS_SKIPPED,
                                  detail=detail))
            (report.notes if not explicit else report.warnings).append(
                f"{kernel}: {detail}")
            continue
        hid = _headers_identity(headers)
        record = _read_record(_record_path(root, config, kernel))
        dest = root.path(f"/lib/modules/{kernel}/{cfg['dest']}")
        for name, srcdir in modules:
            applied = _matching_patches(root, cfg, patches, kernel, name, patch_digests)
            h = hashlib.sha256()
            for part in (RECIPE, kernel, src_digests[name], hid, sign_id,
                         *(d for _, d in applied)):
                h.update(part.encode() + b"\0")
            pair = Pair(kernel, name, srcdir=srcdir, headers=headers,
                        input_digest=h.hexdigest(), patches=applied,
                        log=str(_log_path(root, config, kernel, name)))
            pairs.append(pair)
            pair.current = _is_current(record["modules"].get(name), pair.input_digest, dest)
    return pairs


# --- building -------------------------------------------------------------


def _tool(name):
    found = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/sbin/{name}", f"/usr/bin/{name}")
         if os.access(p, os.X_OK)), None)
    if not found:
        package = {"depmod": "kmod", "modinfo": "kmod"}.get(name, name)
        raise JobFailed(f"{name} not found: install the {package} package")
    return found


def _clean_env():
    env = {k: v for k, v in os.environ.items() if k not in _MAKE_ENV}
    env["LC_ALL"] = "C"
    return env


def _safe_dir(root, host_dir, create=True):
    """``host_dir`` (a path under the root) made, or only checked with
    create=False, by Root.makedirs: its real location, reached without a
    symlink out of the root (UsageError otherwise)."""
    return root.makedirs(root.server_path(host_dir), create=create).host


def _open_nofollow(path, flags):
    """open() opener: never write through a symlink at a log's name."""
    return os.open(path, flags | os.O_NOFOLLOW, 0o644)


def _scratch_base(root):
    """DIR/var/tmp when it really is inside the root, else the system's temp
    directory (scratch space is the one thing allowed outside the root)."""
    try:
        base = _safe_dir(root, root.path("/var/tmp"), create=False)
    except UsageError:
        return None
    return str(base) if base.is_dir() else None


def _copy_sources(srcdir, dest):
    shutil.copytree(srcdir, dest, symlinks=True,
                    ignore=lambda d, names: [n for n in names if _PRODUCTS.search(n)])


def _run_logged(cmd, log, cwd=None):
    """Run cmd (an argument list), appending stdout+stderr to the open log."""
    import subprocess

    log.write(f"$ {' '.join(cmd)}\n")
    log.flush()
    proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
                          env=_clean_env(), stdin=subprocess.DEVNULL)
    log.flush()
    return proc.returncode


def _modinfo(field_name, path):
    import subprocess

    proc = subprocess.run([_tool("modinfo"), "-F", field_name, str(path)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return None
    return proc.stdout.strip()


def _tail(path, n=LOG_TAIL_LINES):
    try:
        with open(path, errors="replace") as f:
            return [line.rstrip("\n") for line in f.readlines()[-n:]]
    except OSError:
        return []


def _open_log(pair, title):
    """The pair's log, written to a temp file and renamed by _close_log."""
    log_path = Path(pair.log)  # its directory was made by _build_all
    log = open(log_path.with_name(f".{log_path.name}.tmp"), "w", opener=_open_nofollow)
    log.write(f"# sunray rebuild-modules: {title} for {pair.kernel}\n"
              f"# headers: {pair.headers}\n# started: {time.ctime()}\n")
    return log


def _close_log(pair, log):
    log.close()
    os.replace(log.name, pair.log)


def _prepare(pair, work, log):
    """Copy the pair's sources to work and apply its patches; a problem or None."""
    _copy_sources(pair.srcdir, work)
    for patch_file, _ in pair.patches:
        rc = _run_logged([_tool("patch"), "-p1", "--batch", "--forward",
                          "-d", str(work), "-i", str(patch_file)], log)
        if rc != 0:
            return f"patch {patch_file.name} does not apply"
    return None


def _kbuild(pair, work, make_jobs, log):
    """kbuild for exactly pair.kernel in work; make's exit status."""
    return _run_logged([_tool("make"), f"-j{make_jobs}", "-C", str(pair.headers),
                        f"M={work}", "modules"], log)


def _check_built(root, cfg, pair, work, log):
    """Vermagic (and signing) of what kbuild built in work; fills pair.built.
    A problem or None."""
    kos = _built_modules(work)
    if not kos:
        return "kbuild built no module (no obj-m in the Makefile?)"
    for ko in kos:
        vermagic = _modinfo("vermagic", ko) or ""
        log.write(f"# {ko.name}: vermagic {vermagic}\n")
        if not (vermagic + " ").startswith(pair.kernel + " "):
            return f"{ko.name}: vermagic {vermagic!r} does not name {pair.kernel}"
        if cfg["sign"].get("enabled"):
            problem = _sign(root, pair, cfg["sign"], ko, log)
            if problem:
                return problem
    pair.built = [(ko.name, ko, _file_digest(ko)) for ko in kos]
    log.write(f"# done: {', '.join(k.name for k in kos)}\n")
    return None


def _build_pair(root, cfg, pair, scratch_root, make_jobs=1):
    """Build one module alone in its own scratch copy; fills pair.built or pair.detail."""
    start = time.monotonic()
    pair.built, pair.detail = [], ""
    work = Path(scratch_root) / f"{pair.kernel}--{pair.module}"
    log = _open_log(pair, pair.module)
    try:
        problem = _prepare(pair, work, log)
        if not problem:
            rc = _kbuild(pair, work, make_jobs, log)
            problem = f"make exited {rc}" if rc else _check_built(root, cfg, pair, work, log)
        if problem:
            pair.built, pair.detail = [], problem
            log.write(f"# failed: {problem}\n")
    except OSError as e:
        pair.detail = f"{e.strerror or e}: {e.filename or ''}".rstrip(": ")
    finally:
        pair.seconds += time.monotonic() - start
        _close_log(pair, log)


def _build_kernel(root, cfg, pairs, scratch_root, make_jobs):
    """Build the modules one kernel needs in ONE kbuild pass (kbuild's start-up
    and modpost cost more than compiling these small modules). When anything
    in that pass fails, each module is built again alone, so that the status
    and the log of every module say exactly what broke."""
    if len(pairs) == 1:
        _build_pair(root, cfg, pairs[0], scratch_root, make_jobs)
        return
    from ..templating import render

    start = time.monotonic()
    first = pairs[0]
    work = Path(scratch_root) / first.kernel
    work.mkdir()
    names = " ".join(p.module for p in pairs)
    log = _open_log(first, f"{names} (one kbuild pass)")
    problem = None
    try:
        for pair in pairs:
            problem = problem or _prepare(pair, work / pair.module, log)
        if not problem:
            (work / "Kbuild").write_text(render("Kbuild-subdirs.j2", dirs=[p.module for p in pairs]))
            rc = _kbuild(first, work, make_jobs, log)
            problem = f"make exited {rc}" if rc else None
        for pair in pairs:
            problem = problem or _check_built(root, cfg, pair, work / pair.module, log)
    except OSError as e:
        problem = f"{e.strerror or e}: {e.filename or ''}"
    finally:
        log.close()
    elapsed = time.monotonic() - start
    if problem:
        # Find out which module broke: each alone, with its own log.
        os.unlink(log.name)
        for pair in pairs:
            pair.seconds = elapsed / len(pairs)
            _build_pair(root, cfg, pair, scratch_root, make_jobs)
        return
    for pair in pairs:
        pair.seconds = elapsed
        if os.path.islink(pair.log):
            os.unlink(pair.log)  # copyfile would write through it
        shutil.copyfile(log.name, pair.log)
    os.unlink(log.name)


def _built_modules(work):
    """The .ko files kbuild built, from its modules.order."""
    order = work / "modules.order"
    names = []
    if order.is_file():
        for line in order.read_text().split():
            name = os.path.basename(line)
            if name.endswith(".o"):  # 5.x+ lists .o
                name = name[:-2] + ".ko"
            if name.endswith(".ko") and (work / name).is_file() and name not in names:
                names.append(name)
    if not names:
        names = sorted(p.name for p in work.glob("*.ko"))
    return [work / n for n in names]


def _sign(root, pair, sign, ko, log):
    """Sign ko with the kernel's own sign-file; a problem text, or None."""
    sign_file = pair.headers / "scripts" / "sign-file"
    if not os.access(sign_file, os.X_OK):
        return f"signing: {sign_file} not found (headers without scripts/sign-file)"
    key, cert = root.path(sign["key"]), root.path(sign["cert"])
    for what, p in (("key", key), ("cert", cert)):
        if not p.is_file():
            return f"signing: {what} {sign[what]} not found"
    rc = _run_logged([str(sign_file), sign["hash"], str(key), str(cert), str(ko)], log)
    if rc != 0:
        return f"signing {ko.name} failed (sign-file exited {rc})"
    signer = _modinfo("signer", ko)
    algo = _modinfo("sig_hashalgo", ko)
    log.write(f"# {ko.name}: signer {signer!r}, hash {algo!r}\n")
    if not signer:
        return f"{ko.name}: no signature after signing"
    if algo and algo != sign["hash"]:
        return f"{ko.name}: signed with {algo}, expected {sign['hash']}"
    return None


# --- installing -----------------------------------------------------------


def _make_dest(root, kernel, dest_rel):
    """Create /lib/modules/K/<dest> without following a symlink out of the root."""
    try:
        path = _safe_dir(root, root.path(f"/lib/modules/{kernel}"))
        for part in dest_rel.split("/"):
            path = path / part
            if path.is_symlink():
                raise JobFailed(f"{root.server_path(path)} is a symlink; "
                                "refusing to install through it")
            path = _safe_dir(root, path)
    except UsageError as e:
        raise JobFailed(str(e)) from None
    root.ensure_inside(path / "x")
    return path


def _install_kernel(root, config, cfg, kernel, pairs):
    """Install every built .ko of kernel's pairs, then record and depmod.

    Each file is staged next to its final name, then all are renamed: a
    crash leaves old or new files, never a partial one; the record is
    written last.
    """
    dest = _make_dest(root, kernel, cfg["dest"])
    record_path = _record_path(root, config, kernel)
    record = _read_record(record_path)
    staged = []
    try:
        for pair in pairs:
            for name, path, _ in pair.built:
                tmp = dest / f".{name}.sunray-tmp"
                if os.path.lexists(tmp):
                    os.unlink(tmp)
                with open(path, "rb") as src, open(tmp, "xb") as out:
                    shutil.copyfileobj(src, out)
                    os.fchmod(out.fileno(), 0o644)
                    os.fsync(out.fileno())
                staged.append((tmp, dest / name))
        for tmp, final in staged:
            os.replace(tmp, final)
        fsync_dir(dest)
    except OSError as e:
        for tmp, _ in staged:
            if tmp.exists():
                tmp.unlink()
        raise JobFailed(f"installing modules for {kernel}: {e.strerror}: {e.filename}") from None
    for pair in pairs:
        old = record["modules"].get(pair.module, {}).get("files", {})
        new = {name: digest for name, _, digest in pair.built}
        for gone in set(old) - set(new):
            try:
                (dest / gone).unlink()
            except FileNotFoundError:
                pass
        record["modules"][pair.module] = {
            "input": pair.input_digest, "files": new,
            "patches": [root.server_path(p) for p, _ in pair.patches],
            "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    record.update(kernel=kernel, dest=cfg["dest"], headers=str(pairs[0].headers))
    record_path = _safe_dir(root, record_path.parent) / record_path.name
    root.ensure_inside(record_path)
    atomic_write(record_path, (json.dumps(record, indent=2, sort_keys=True) + "\n").encode())
    return _depmod(root, config, kernel)


def _depmod(root, config, kernel):
    """depmod -b DIR K; its output goes to the kernel's depmod.log. None or a problem."""
    log_path = _safe_dir(root, _log_dir(root, config, kernel)) / "depmod.log"
    root.ensure_inside(log_path)
    with open(log_path, "w", opener=_open_nofollow) as log:
        rc = _run_logged([_tool("depmod"), "-b", str(root.top), kernel], log)
    if rc != 0:
        return f"depmod for {kernel} exited {rc} (see {log_path})"
    return None


# --- the lock -------------------------------------------------------------


class BuildLock:
    """flock on DIR/var/lib/sunray/modules.lock, waiting up to ``timeout`` s.

    The holder writes its pid and command into the file, so a waiting run can
    say who it waits for.
    """

    def __init__(self, root, config, timeout):
        self.root = root
        self.path = root.state("modules.lock", settings=config)
        self.server_path = root.server_path(self.path)
        self.timeout = timeout
        self.fd = None

    def __enter__(self):
        import fcntl

        self.path = _safe_dir(self.root, self.path.parent) / self.path.name
        self.root.ensure_inside(self.path)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        deadline = time.monotonic() + self.timeout
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = self.holder()
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise JobFailed(
                        f"{self.server_path} is held by {holder or 'another process'}; "
                        f"gave up after {self.timeout:g} s") from None
                if not told:
                    print(f"sunray: waiting for {self.server_path} (held by "
                          f"{holder or 'another process'})", file=sys.stderr, flush=True)
                    told = True
                time.sleep(0.1)
        command = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))
        command = re.sub(r"[\x00-\x1f]", "?", command)[:300]
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}: {command} (since {time.strftime('%H:%M:%S')})\n"
                  .encode(), 0)
        self.fd = fd
        return self

    def holder(self):
        try:
            with open(self.path, errors="replace") as f:
                return f.read(400).strip()
        except OSError:
            return ""

    def __exit__(self, *exc):
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            os.close(self.fd)  # closing drops the flock
            self.fd = None


# --- the tasks' entry points ----------------------------------------------


def _jobs(cfg, jobs):
    value = jobs if jobs not in (None, 0, "0") else cfg.get("jobs") or os.cpu_count() or 1
    try:
        value = int(value)
    except (TypeError, ValueError):
        raise UsageError(f"--jobs {value!r}: expected a whole number") from None
    if value < 1 or value > 256:
        raise UsageError(f"--jobs {value}: expected 1 to 256")
    return value


def rebuild(root, config, kernels=None, jobs=None, force=False, dry_run=False):
    """Build and install the SRSS modules for the given kernels (default:
    every kernel with headers). Returns a ModulesReport (failure set when any
    pair failed)."""
    started = time.monotonic()
    explicit = bool(kernels)
    kernels = [check_kernel(k) for k in kernels] if kernels else None
    cfg = module_settings(config)
    jobs = _jobs(cfg, jobs)
    report = ModulesReport(root=str(root.top), dry_run=dry_run)
    if kernels is None:
        kernels = installed_kernels(root)
        without = [k for k in kernels if headers_dir(root, k) is None]
        kernels = [k for k in kernels if k not in without]
        for k in without:
            report.notes.append(f"{k}: skipped, no headers: install {headers_package(root, k)}")
    else:
        kernels = list(dict.fromkeys(kernels))
    if dry_run:
        pairs = _plan(root, config, cfg, kernels, explicit, report)
        for p in pairs:
            if not p.status:
                p.status = STATUS_CURRENT if p.current and not force else STATUS_WOULD
        return _finish(report, pairs, started)
    with BuildLock(root, config, cfg["lock_timeout"]):
        pairs = _plan(root, config, cfg, kernels, explicit, report)
        todo = []
        for p in pairs:
            if p.status:
                continue
            if p.current and not force:
                p.status = STATUS_CURRENT
            else:
                todo.append(p)
        if todo:
            _build_all(root, config, cfg, todo, jobs, report)
    return _finish(report, pairs, started)


def _finish(report, pairs, started):
    report.pairs = pairs
    failed = [p for p in pairs if p.status == STATUS_FAILED]
    if failed and not report.failure:
        names = ", ".join(f"{p.module}/{p.kernel}" for p in failed)
        logged = next((p.log for p in failed if p.log_tail), "")
        report.failure = f"{len(failed)} module build(s) failed: {names}" + (
            f" (log: {logged})" if logged else "")
    report.seconds = time.monotonic() - started
    return report


def _build_all(root, config, cfg, todo, jobs, report):
    """Build the kernels side by side; install each as soon as its build is done."""
    import tempfile
    from concurrent.futures import ThreadPoolExecutor, as_completed

    by_kernel = {}
    for p in todo:
        by_kernel.setdefault(p.kernel, []).append(p)
    for pairs in by_kernel.values():
        # Every log directory exists, really inside the root, before any build.
        log_dir = _safe_dir(root, Path(pairs[0].log).parent)
        for p in pairs:
            p.log = str(log_dir / Path(p.log).name)
    # One owner of -j: `jobs` in all. Kernels build side by side, each make
    # gets its share of the jobs; MAKEFLAGS from outside is cleared.
    workers = min(jobs, len(by_kernel))
    make_jobs = max(1, jobs // workers)
    scratch = tempfile.mkdtemp(prefix="sunray-kbuild-", dir=_scratch_base(root))
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(_build_kernel, root, cfg, pairs, scratch, make_jobs): kernel
                       for kernel, pairs in by_kernel.items()}
            for future in as_completed(futures):
                kernel = futures[future]
                exc = future.exception()
                if exc is not None:
                    for p in by_kernel[kernel]:
                        p.built, p.detail = [], f"internal error: {type(exc).__name__}: {exc}"
                _settle_kernel(root, config, cfg, kernel, by_kernel[kernel], report)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _settle_kernel(root, config, cfg, kernel, pairs, report):
    """All of kernel's builds are done: install them all, or none."""
    failed = [p for p in pairs if not p.built]
    if failed:
        for p in failed:
            p.status = STATUS_FAILED
            p.log_tail = _tail(p.log)
        for p in pairs:
            if p.built:
                p.status = STATUS_SKIPPED
                p.detail = "built, not installed: another module for this kernel failed"
        return
    try:
        problem = _install_kernel(root, config, cfg, kernel, pairs)
    except JobFailed as e:
        for p in pairs:
            p.status, p.detail = STATUS_FAILED, str(e)
        return
    for p in pairs:
        p.status = STATUS_BUILT
    if problem:
        # The modules are in place; only the module index is behind.
        report.failure = problem


def remove(root, config, kernel, dry_run=False):
    """Delete our modules, record and logs for one kernel (kernel removal hooks)."""
    from ..fileedit import FileChange
    from ..report import Report

    kernel = check_kernel(kernel)
    cfg = module_settings(config)
    report = Report(task="remove-modules", root=str(root.top), dry_run=dry_run)
    record_path = _record_path(root, config, kernel)
    record = _read_record(record_path)
    dest_rel = record.get("dest") or cfg["dest"]
    if not _valid_dest(dest_rel):
        dest_rel = cfg["dest"]
    dest = root.path(f"/lib/modules/{kernel}/{dest_rel}")
    targets = [dest / name for m in record["modules"].values() for name in (m.get("files") or {})
               if _NAME_RE.match(name)]
    targets = [t for t in targets if t.is_file()]
    if record_path.exists():
        targets.append(record_path)
    logs = _log_dir(root, config, kernel)
    # Checked before anything is removed: rmtree must never start outside the root.
    logs = _safe_dir(root, logs, create=False)
    prefix = "would be " if dry_run else ""
    lock = BuildLock(root, config, cfg["lock_timeout"])
    if dry_run:
        for t in targets:
            report.add(FileChange(root.server_path(t), prefix + "removed"))
        return report
    with lock:
        for t in targets:
            root.ensure_inside(t)
            t.unlink()
            report.add(FileChange(root.server_path(t), "removed"))
        for d in (dest, *dest.parents):
            if d == root.path(f"/lib/modules/{kernel}"):
                break
            try:
                d.rmdir()
            except OSError:
                break
        kdir = root.path(f"/lib/modules/{kernel}")
        # Only while the kernel itself is still installed (its package
        # removes modules.dep on removal): keep its module index right.
        if any(t.suffix == ".ko" for t in targets) and (kdir / "modules.dep").exists():
            problem = _depmod(root, config, kernel)
            if problem:
                report.failure = problem
        if logs.is_dir() and not logs.is_symlink() and not report.failure:
            shutil.rmtree(logs)
    return report


def running_kernel(root, config):
    """The kernel boot_check looks after: the running one on /, else the
    configured modules.running_kernel, else the newest kernel with headers."""
    if root.is_host:
        return os.uname().release
    chosen = (config.get("modules") or {}).get("running_kernel")
    if chosen:
        return check_kernel(chosen)
    with_headers = [k for k in installed_kernels(root) if headers_dir(root, k)]
    return with_headers[-1] if with_headers else None


def boot_check(root, config):
    """At boot, before SRSS: make sure the running kernel's modules exist and
    are current (a no-op costing milliseconds when they are)."""
    if not discover_modules(root, module_settings(config)):
        report = ModulesReport(task="boot-modules", root=str(root.top))
        report.notes.append("no SRSS module sources: nothing to build")
        return report
    kernel = running_kernel(root, config)
    if kernel is None:
        report = ModulesReport(task="boot-modules", root=str(root.top))
        report.warnings.append("no kernel with headers under /lib/modules: SRSS modules not checked")
        return report
    if headers_dir(root, kernel) is None:
        report = ModulesReport(task="boot-modules", root=str(root.top))
        report.warnings.append(
            f"{kernel}: no headers, cannot build the SRSS modules: install "
            f"{headers_package(root, kernel)}")
        return report
    report = rebuild(root, config, kernels=[kernel])
    report.task = "boot-modules"
    return report


def status(root, config):
    """Read-only, for doctor: per kernel, headers, installed modules, whether
    they are current, and whether their vermagic names the kernel."""
    cfg = module_settings(config)
    report = ModulesReport()
    kernels = installed_kernels(root)
    try:
        pairs = _plan(root, config, cfg, kernels, False, report) if kernels else []
    except UsageError:
        pairs = []
    out = []
    for kernel in kernels:
        headers = headers_dir(root, kernel)
        record = _read_record(_record_path(root, config, kernel))
        dest = root.path(f"/lib/modules/{kernel}/{cfg['dest']}")
        installed = sorted(n for m in record["modules"].values() for n in (m.get("files") or {})
                           if (dest / n).is_file())
        mine = [p for p in pairs if p.kernel == kernel and not p.status]
        current = bool(mine) and all(p.current for p in mine)
        vermagic_ok = bool(installed) and all(
            ((_modinfo("vermagic", dest / n) or "") + " ").startswith(kernel + " ")
            for n in installed)
        out.append({"kernel": kernel, "headers": str(headers) if headers else None,
                    "headers_package": None if headers else headers_package(root, kernel),
                    "installed": installed, "current": current, "vermagic_ok": vermagic_ok})
    return out


def sandbox_kernels(root, kernels=None):
    """Point DIR/lib/modules/K/build at the host's headers for K (tests, demo).

    kernels: versions to link (default: every /usr/src/linux-headers-*
    directory with a Makefile on the host). Returns the kernels linked.
    """
    from ..rootfs import Root

    root = root if isinstance(root, Root) else Root(root)
    if kernels is None:
        kernels = host_header_kernels()
    done = []
    for kernel in kernels:
        check_kernel(kernel)
        headers = Path(f"/usr/src/linux-headers-{kernel}")
        if not (headers / "Makefile").is_file():
            raise UsageError(f"no host headers for {kernel} ({headers})")
        kdir = root.path(f"/lib/modules/{kernel}")
        kdir.mkdir(parents=True, exist_ok=True)
        link = kdir / "build"
        if os.path.lexists(link):
            link.unlink()
        link.symlink_to(headers)
        done.append(kernel)
    return done


def host_header_kernels():
    """Kernel versions with headers installed on the host, oldest first."""
    found = []
    for p in Path("/usr/src").glob("linux-headers-*"):
        kernel = p.name[len("linux-headers-"):]
        if (p / "Makefile").is_file() and (p / "Module.symvers").is_file() \
                and _KERNEL_RE.match(kernel):
            found.append(kernel)
    return sorted(found, key=_version_key)
