"""Small helpers shared by the tests' *_support modules."""

import os

from sunray.core.config import defaults
from sunray.core.rootfs import Root


def write_file(path, text, mode=0o644):
    """Write ``text`` to ``path`` (a pathlib.Path), parents made, with ``mode``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)


def only(check, sandbox, **kwargs):
    """The one row a doctor check gives for the tree at ``sandbox`` (default settings)."""
    rows = check(Root(sandbox), defaults(), **kwargs)
    assert len(rows) == 1
    return rows[0]


def process_running(pid):
    """Whether process ``pid`` is alive and not a zombie (read from
    /proc/PID/stat here, not through the code under test)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except OSError:
        return False


def path_without_python(directory):
    """A PATH (one directory of links) with every program of /usr/sbin,
    /usr/bin, /sbin and /bin except Python: a server where the launcher
    finds no Python, which this Debian machine cannot be otherwise."""
    bindir = directory / "no-python-bin"
    bindir.mkdir(parents=True, exist_ok=True)
    for system_dir in ("/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        if not os.path.isdir(system_dir):
            continue
        for name in os.listdir(system_dir):
            link = bindir / name
            if name.startswith("python") or os.path.lexists(link):
                continue
            link.symlink_to(os.path.join(system_dir, name))
    return str(bindir)


def packaged_launcher(path, pyz="/usr/share/sunray-toolkit/sunray.pyz"):
    """packaging/sunray.launcher as the RPM and the .deb install it
    (@PYZ@ filled in), written to ``path``."""
    from pathlib import Path

    source = Path(__file__).resolve().parent.parent / "packaging" / "sunray.launcher"
    write_file(path, source.read_text().replace("@PYZ@", pyz), mode=0o755)
    return path


def demo_server_tree(top):
    """The demo's CentOS 6 shaped server tree under ``top`` (tmpwatch job,
    rc.d, SRSS module sources, a stale /tmp/.esd file), without kernels or
    their header links; returns ``top``."""
    from pathlib import Path

    from sunray.demo import manifest

    checkout = Path(__file__).resolve().parent.parent
    top = Path(top)
    for entry in manifest():
        dest = top / entry.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        if entry.target:
            dest.symlink_to(entry.target)
        else:
            dest.write_bytes((checkout / "sunray" / entry.source).read_bytes())
    for d in ("var/lib", "var/log", "lib/modules", "run"):
        (top / d).mkdir(parents=True, exist_ok=True)
    os.chmod(top / "tmp", 0o1777)
    return top
