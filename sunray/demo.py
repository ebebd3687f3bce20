"""The built-in demo: a sandbox Sun Ray server made from shipped fixtures.

``sunray demo`` lays out a CentOS 6 shaped tree (the stock tmpwatch cron job,
stand-ins for SRSS's init scripts and module sources, SRSS state in
/tmp/SUNWut, a stale file where /tmp/.esd belongs, kernel header links to the
host's installed headers) and runs ``apply`` on it: the toolkit's main job,
for real, on a tree nobody depends on. The tree ships as package data
(sunray/demo_fixtures, listed in its MANIFEST), so the demo runs from a
checkout, an installed copy or the pyz alike; the module builds need kernel
headers (Debian's linux-headers-*).
"""

import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

from .core.errors import UsageError
from .core.resources import read

if TYPE_CHECKING:
    from .apply import ApplyReport
    from .core.rootfs import Root

MARKER = ".sunray-demo"
LAUNCHER = "/usr/bin/sunray"
# The demo tree, as a resource directory inside the sunray package.
FIXTURES = "demo_fixtures"


class TreeEntry(NamedTuple):
    """One MANIFEST line: a file (``source`` set, ``mode``) or a link (``target`` set)."""

    path: str                    # where it goes, relative to the sandbox root
    mode: int = 0o644
    source: Optional[str] = None  # resource name of a file's content
    target: Optional[str] = None  # a link's target


def manifest() -> List[TreeEntry]:
    """The demo tree's entries, from ``demo_fixtures/MANIFEST``."""
    entries = []
    text = read(f"{FIXTURES}/MANIFEST").decode("utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "link" and len(words) == 3:
            entries.append(TreeEntry(words[1], target=words[2]))
        elif len(words) == 2 and "/" in words[1] and words[0] in ("644", "755"):
            source = words[1]
            entries.append(TreeEntry(source.split("/", 1)[1], int(words[0], 8),
                                     source=f"{FIXTURES}/{source}"))
        else:
            raise ValueError(f"sunray/{FIXTURES}/MANIFEST: line {number}: not an entry: {line!r}")
    return entries


def _lay_out(path: Path) -> None:
    """Write the demo tree into the new directory ``path``."""
    path.mkdir(parents=True)
    for entry in manifest():
        dest = path / entry.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        if entry.target is not None:
            dest.symlink_to(entry.target)
        elif entry.source is not None:
            dest.write_bytes(read(entry.source))
            os.chmod(dest, entry.mode)


def build(path: Union[str, Path]) -> Tuple["Root", List[str]]:
    """Create the sandbox server at ``path`` (replacing an earlier demo there)."""
    from .core.rootfs import Root

    path = Path(path).absolute()
    if os.path.lexists(path):
        if path.is_symlink() or not (path / MARKER).is_file():
            raise UsageError(f"{path} exists and is not a sunray demo; choose another --path")
        shutil.rmtree(path)
    _lay_out(path)
    for n in range(7):
        (path / f"etc/rc.d/rc{n}.d").mkdir(parents=True, exist_ok=True)
    for d in ("var/lib", "var/log", "var/tmp", "lib/modules", "run"):
        (path / d).mkdir(parents=True, exist_ok=True)
    os.chmod(path / "tmp", 0o1777)
    os.chmod(path / "var/tmp", 0o1777)
    (path / MARKER).write_text("made by `sunray demo`; safe to delete\n")
    _install_launcher(path)
    root = Root(path)
    kernels = sandbox_kernels(root)
    return root, kernels


def _install_launcher(path):
    """/usr/bin/sunray in the sandbox, so the hooks apply installs can run."""
    from .core.templating import render

    launcher = path / LAUNCHER.lstrip("/")
    launcher.parent.mkdir(parents=True, exist_ok=True)
    launcher.write_text(render("demo-launcher.sh.j2", program=_program()))
    os.chmod(launcher, 0o755)


def _program() -> str:
    """The command (shell words) that runs this toolkit: this Python and the
    pyz when it runs from one, else the running sunray program (the one
    beside this Python, as a venv has it), else ``sunray`` on PATH."""
    import sunray

    archive = getattr(getattr(sunray, "__loader__", None), "archive", None)  # zipimport's
    if archive:
        return f"{shlex.quote(sys.executable)} {shlex.quote(archive)}"
    argv0 = sys.argv[0] if sys.argv else ""
    beside = os.path.join(os.path.dirname(sys.executable), "sunray")
    for program in (argv0 if os.path.basename(argv0) == "sunray" else "", beside):
        if program and os.path.isfile(program) and os.access(program, os.X_OK):
            return shlex.quote(os.path.abspath(program))
    return shlex.quote(shutil.which("sunray") or beside)


def _command() -> str:
    """How the admin types this program in the next steps: ``sunray`` when
    that is what PATH finds, else its full path (``./bootstrap demo`` runs
    .venv/bin/sunray, which is not on PATH)."""
    program = _program()
    found = shutil.which("sunray")
    if found and os.path.realpath(found) == os.path.realpath(shlex.split(program)[0]) \
            and len(shlex.split(program)) == 1:
        return "sunray"
    return program


def run(path: Union[str, Path], settings: Dict[str, Any]) -> "ApplyReport":
    """Build the sandbox server and run ``apply`` on it."""
    from . import apply

    root, kernels = build(path)
    report = apply.run(root, settings)
    command, top = _command(), shlex.quote(str(root.top))
    report.notes = [
        f"demo server: {root.top} (CentOS 6 shaped; kernels: {', '.join(kernels) or 'none'})",
        f"look around, then: {command} doctor --root {top}",
        f"again (changes nothing): {command} apply --root {top}",
        "",
    ]
    if not kernels:
        report.warnings.append(
            "no kernel headers found on this machine (install linux-headers-$(uname -r) "
            "or any linux-headers-* package): the modules step had nothing to build"
        )
    return report


def sandbox_kernels(root: Union["Root", str], kernels: Optional[Sequence[str]] = None) -> List[str]:
    """Point DIR/lib/modules/K/build at the host's headers for K (demo, tests, bench).

    kernels: versions to link (default: every /usr/src/linux-headers-*
    directory with a Makefile and a Module.symvers on the host). Returns the
    kernels linked.
    """
    from .core.kernelname import check_kernel
    from .core.rootfs import Root

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


def host_header_kernels() -> List[str]:
    """Kernel versions with headers installed on the host, oldest first."""
    from .core.kernelname import KERNEL_RE
    from .modules.discover import version_key

    found = []
    for p in Path("/usr/src").glob("linux-headers-*"):
        kernel = p.name[len("linux-headers-"):]
        if (p / "Makefile").is_file() and (p / "Module.symvers").is_file() \
                and KERNEL_RE.match(kernel):
            found.append(kernel)
    return sorted(found, key=version_key)
