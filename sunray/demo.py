"""The built-in demo: a sandbox Sun Ray server made from the test fixtures.

``sunray demo`` lays out a CentOS 6 shaped tree (the stock tmpwatch cron job,
stand-ins for SRSS's init scripts and module sources, SRSS state in
/tmp/SUNWut, a stale file where /tmp/.esd belongs, kernel header links to the
host's installed headers) and runs ``apply`` on it: the toolkit's main job,
for real, on a tree nobody depends on. It needs a source checkout (the
fixtures live in tests/fixtures) and, for the module builds, kernel headers
(Debian's linux-headers-*).
"""

import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple, Union

from .errors import UsageError

if TYPE_CHECKING:
    from .apply import ApplyReport
    from .rootfs import Root

MARKER = ".sunray-demo"
LAUNCHER = "/usr/bin/sunray"
_CHECKOUT = Path(__file__).resolve().parent.parent
FIXTURES = _CHECKOUT / "tests" / "fixtures"


def build(path: Union[str, Path]) -> Tuple["Root", List[str]]:
    """Create the sandbox server at ``path`` (replacing an earlier demo there)."""
    from .rootfs import Root

    demo_tree = FIXTURES / "demo"
    srss_tree = FIXTURES / "srss" / "usr" / "src" / "SUNWut"
    if not demo_tree.is_dir() or not srss_tree.is_dir():
        raise UsageError("the demo needs a source checkout (tests/fixtures is missing)")
    path = Path(path).absolute()
    if os.path.lexists(path):
        if path.is_symlink() or not (path / MARKER).is_file():
            raise UsageError(f"{path} exists and is not a sunray demo; choose another --path")
        shutil.rmtree(path)
    shutil.copytree(demo_tree, path, symlinks=True)
    (path / "README").unlink()
    shutil.copytree(srss_tree, path / "usr" / "src" / "SUNWut", symlinks=True)
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
    from .templating import render

    launcher = path / LAUNCHER.lstrip("/")
    launcher.parent.mkdir(parents=True, exist_ok=True)
    program = shutil.which("sunray") or os.path.join(os.path.dirname(sys.executable), "sunray")
    launcher.write_text(render("demo-launcher.sh.j2", program=shlex.quote(program)))
    os.chmod(launcher, 0o755)


def run(path: Union[str, Path], settings: Dict[str, Any]) -> "ApplyReport":
    """Build the sandbox server and run ``apply`` on it."""
    from . import apply

    root, kernels = build(path)
    report = apply.run(root, settings)
    report.notes = [
        f"demo server: {root.top} (CentOS 6 shaped; kernels: {', '.join(kernels) or 'none'})",
        f"look around, then: sunray doctor --root {root.top}",
        f"again (changes nothing): sunray apply --root {root.top}",
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
    from .modules.settings import check_kernel
    from .rootfs import Root

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
    from .modules.discover import version_key
    from .modules.settings import KERNEL_RE

    found = []
    for p in Path("/usr/src").glob("linux-headers-*"):
        kernel = p.name[len("linux-headers-"):]
        if (p / "Makefile").is_file() and (p / "Module.symvers").is_file() \
                and KERNEL_RE.match(kernel):
            found.append(kernel)
    return sorted(found, key=version_key)
