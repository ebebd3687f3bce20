"""What there is to build with: kernels, their headers, the module sources,
the .ko names a module's Makefile builds, and the digests that tell whether
any of it changed since the last build. Read-only."""

import hashlib
import os
import re
import stat
from pathlib import Path
from typing import List, Optional, Tuple, Union

from ..core.errors import UsageError
from ..core.kernelname import KERNEL_RE
from ..core.rootfs import Root
from .settings import NAME_RE, ModuleSettings, check_name

# Build products an admin's `make` in the source tree may have left behind:
# never copied (kbuild would reuse them), never exported, and not part of the
# source digest.
_BUILD_PRODUCT_RE = re.compile(
    r"(\.o|\.ko|\.mod|\.mod\.c|\.cmd|\.a|\.order|\.symvers|\.tmp|\.d)$"
    r"|^(Module\.symvers|modules\.order|Module\.markers|\.tmp_versions)$"
)

# What identifies a headers tree for the up-to-date check (cheap stats).
_HEADERS_IDENTITY = ("include/generated/utsrelease.h", ".config", "Module.symvers")

# A module object's name ends up in dkms.conf, which dkms *sources* as root:
# plain names only, checked where they are read from Oracle's Makefile.
_OBJECT_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")

PathLike = Union[str, Path]


def is_build_product(name: str) -> bool:
    """Whether a file or directory name is something a build left in a source tree."""
    return bool(_BUILD_PRODUCT_RE.search(name))


def version_key(kernel: str) -> List[Tuple[int, int, str]]:
    """Sort key that orders kernel versions as versions (6.1.0-9 before 6.1.0-10)."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", kernel) if t]


def installed_kernels(root: Root) -> List[str]:
    """Kernel versions under DIR/lib/modules (valid names only), oldest first."""
    base = root.path("/lib/modules")
    try:
        names = [e.name for e in os.scandir(base) if e.is_dir()]
    except FileNotFoundError:
        return []
    return sorted((n for n in names if KERNEL_RE.match(n) and ".." not in n), key=version_key)


def headers_dir(root: Root, kernel: str) -> Optional[Path]:
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


def headers_package(root: Root, kernel: str) -> str:
    """The package that provides kernel K's headers on this root's distribution."""
    if root.path("/etc/redhat-release").exists():
        return f"kernel-devel-{kernel}"
    if root.path("/etc/debian_version").exists():
        return f"linux-headers-{kernel}"
    return f"linux-headers-{kernel} (Debian, Ubuntu) or kernel-devel-{kernel} (RHEL)"


def discover_modules(root: Root, module_settings: ModuleSettings) -> List[Tuple[str, Path]]:
    """[(name, host dir)] of the module sources to build."""
    src = root.path(module_settings.src)
    wanted = module_settings.wanted
    if wanted in ("auto", None, ""):
        try:
            entries = sorted(os.scandir(src), key=lambda e: e.name)
        except FileNotFoundError:
            return []
        found = []
        for e in entries:
            if not e.is_dir(follow_symlinks=False) or not NAME_RE.match(e.name):
                continue
            files = os.listdir(e.path)
            if "Makefile" in files and any(f.endswith(".c") for f in files):
                found.append((e.name, Path(e.path)))
        return found
    if isinstance(wanted, str):
        wanted = wanted.split()
    found = []
    for name in wanted:
        check_name(name, "module")
        d = src / name
        if not (d / "Makefile").is_file():
            raise UsageError(f"module {name}: no Makefile in {module_settings.src}/{name}")
        found.append((name, d))
    return found


def _check_object(name: str, where: str) -> str:
    if not _OBJECT_RE.fullmatch(name):
        raise UsageError(f"{where}: module name {name!r} refused: expected letters, "
                         "digits, '_' and '-' only")
    return name


def module_objects(srcdir: PathLike) -> List[str]:
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


def digest_tree(directory: PathLike) -> str:
    """sha256 over the relative names and contents of the source files."""
    h = hashlib.sha256()
    base = str(directory)
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if not is_build_product(d))
        for name in sorted(filenames):
            if is_build_product(name):
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


def file_digest(path: PathLike) -> str:
    """sha256 of one file's content."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def headers_identity(headers: Path) -> str:
    """The headers tree's path and the size and mtime of the files that say
    which kernel it builds for: a changed tree changes this text."""
    parts = [str(headers)]
    for rel in _HEADERS_IDENTITY:
        try:
            st = os.stat(headers / rel)
            parts.append(f"{rel}:{st.st_size}:{st.st_mtime_ns}")
        except FileNotFoundError:
            parts.append(f"{rel}:-")
    return "|".join(parts)
