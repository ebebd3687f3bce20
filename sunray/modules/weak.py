"""RHEL's weak-updates links to sunray's modules.

``weak-modules --add-kernel`` (run by RHEL's kernel package) links
kABI-compatible modules of other kernels' ``extra/`` into the new kernel's
``/lib/modules/NEW/weak-updates/``; sunray installs into
``extra/sunray`` (``sunray.modules.dest``), so a new kernel may pick up an
old kernel's build by a symlink. Sunray leaves such links alone, with two
exceptions: doctor lists them (which kernel's build, whether it still
resolves), and ``remove-modules --kernel OLD`` removes the links that
point at the modules it removes (weak-modules would otherwise leave them
dangling). A kernel's own build wins over a weak link by depmod's search
order (RHEL: ``updates extra built-in weak-updates``), so rebuild-modules
builds for a kernel whatever weak links it has.
"""

import os
import posixpath
from pathlib import Path
from typing import Any, Dict, List, Optional

from ..core.rootfs import Root

WEAK_DIR = "weak-updates"


def _kernels(root: Root) -> List[str]:
    base = root.path("/lib/modules")
    try:
        return sorted(d.name for d in base.iterdir() if d.is_dir() and not d.is_symlink())
    except OSError:
        return []


def server_target(link_server_path: str, target: str) -> str:
    """Where a link points, as a server path (an absolute or a relative target)."""
    if not target.startswith("/"):
        target = posixpath.join(posixpath.dirname(link_server_path), target)
    return posixpath.normpath(target)


def links(root: Root, dest: str, kernel: Optional[str] = None) -> List[Dict[str, Any]]:
    """Every symlink under /lib/modules/*/weak-updates (or one kernel's) that
    points into some kernel's ``dest`` (sunray's modules): kernel, link,
    target (server paths), source_kernel, resolves."""
    found = []
    for k in [kernel] if kernel else _kernels(root):
        top = root.path(f"/lib/modules/{k}/{WEAK_DIR}")
        if top.is_symlink() or not top.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(str(top)):
            for name in dirnames + filenames:
                host = Path(dirpath) / name
                if not host.is_symlink():
                    continue
                link = root.server_path(host)
                target = server_target(link, os.readlink(str(host)))
                parts = target.split("/")
                # /lib/modules/SOURCE/<dest>/NAME.ko
                if len(parts) < 5 or parts[1:3] != ["lib", "modules"]:
                    continue
                source = parts[3]
                if not target.startswith(f"/lib/modules/{source}/{dest}/"):
                    continue
                resolved = root.path(target)
                found.append({"kernel": k, "link": link, "target": target, "source_kernel": source,
                              "resolves": resolved.is_file() and not resolved.is_symlink()})
    return found


def pointing_at(root: Root, dest: str, targets: List[str]) -> List[Dict[str, Any]]:
    """The weak links (any kernel's) that point at one of ``targets`` (server paths)."""
    wanted = set(targets)
    return [link for link in links(root, dest) if link["target"] in wanted]
