"""export-dkms: the SRSS module sources as a DKMS tree, for sites that use DKMS.

Writes /usr/src/sunray-ut-VERSION/ under the root: each module directory
(sources only, no build products), a top-level Kbuild that makes kbuild
descend into all of them in one pass, and a dkms.conf (AUTOINSTALL on, one
BUILT_MODULE_NAME entry per .ko). Then ``dkms add/build/install -m sunray-ut
-v VERSION`` takes over. Configured patches are not exported (DKMS applies
PATCH[] from the top of the tree, ours apply per module directory): the
export warns when there are any.
"""

import os
import re
from pathlib import Path
from typing import Any, Dict, List, Pattern, Tuple

from ..core.errors import UsageError
from ..core.fileedit import FileEditor
from ..core.report import Report
from ..core.rootfs import Root
from ..core.templating import render
from .discover import discover_modules, is_build_product, module_objects
from .settings import ModuleSettings

PACKAGE = "sunray-ut"
_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+~_-]{0,63}$")
# dkms *sources* dkms.conf as root: no text we render into it may end a line
# (a comment) or a quoted value. Module and object names are plain words
# (checked by discover_modules and module_objects); the rest is checked here.
_NO_CONTROL = re.compile(r"[^\x00-\x1f\x7f]*")
_QUOTABLE = re.compile(r"[A-Za-z0-9_.+/-]+")


def _version(module_settings: ModuleSettings) -> str:
    version = str(module_settings.dkms_version or "")
    if not _VERSION_RE.match(version):
        raise UsageError(f"modules.dkms_version {version!r}: expected e.g. 1.0")
    return version


def _fit_for_dkms_conf(value: str, what: str, pattern: Pattern, expected: str) -> str:
    """``value`` if it matches all of ``pattern``, else a UsageError."""
    if not pattern.fullmatch(value):
        raise UsageError(f"{what} {value!r}: {expected}")
    return value


def _quotable(value: str, what: str) -> str:
    """A value dkms.conf carries in single quotes: plain path characters only."""
    return _fit_for_dkms_conf(value, what, _QUOTABLE,
                              "only letters, digits and _ . + / - may go into dkms.conf")


def _source_files(directory: Path) -> List[Tuple[str, str]]:
    """(relative path, host path) of the source files below directory."""
    out = []
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(d for d in dirnames if not is_build_product(d))
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if is_build_product(name) or os.path.islink(path) or not os.path.isfile(path):
                continue
            out.append((os.path.relpath(path, directory), path))
    return out


def export(root: Root, settings: Dict[str, Any], dry_run: bool = False) -> Report:
    """Write the DKMS tree of the module sources (see the module docstring)."""
    module_settings = ModuleSettings.from_settings(settings)
    version = _version(module_settings)
    _fit_for_dkms_conf(module_settings.src, "modules.src", _NO_CONTROL,
                       "control characters (a newline?) are not allowed")
    base = f"/usr/src/{PACKAGE}-{version}"
    modules = discover_modules(root, module_settings)
    if not modules:
        raise UsageError(f"no module sources under {module_settings.src}")
    report = Report(task="export-dkms", root=str(root.top), dry_run=dry_run)
    editor = FileEditor(root, dry_run=dry_run, state_dir=settings.get("state_dir", "/var/lib/sunray"))
    # Everything dkms.conf will say is checked before the first file is written.
    entries = [{"name": ko, "dir": _quotable(name, "module directory")}
               for name, srcdir in modules for ko in module_objects(srcdir)]
    dest = module_settings.dest if module_settings.dest.split("/")[0] in ("extra", "updates", "kernel") \
        else "extra/sunray"
    _quotable(dest, "modules.dest")
    for name, srcdir in modules:
        for rel, host in _source_files(srcdir):
            mode = os.stat(host).st_mode & 0o755
            with open(host, "rb") as f:
                report.add(editor.write(f"{base}/{name}/{rel}", f.read(), mode=mode | 0o644))
    report.add(editor.write(f"{base}/Kbuild", render(
        "Kbuild-subdirs.j2", dirs=[name for name, _ in modules])))
    report.add(editor.write(f"{base}/dkms.conf", render(
        "dkms.conf.j2", package=PACKAGE, version=version, modules=entries, dest=dest,
        src=module_settings.src)))
    if module_settings.patches:
        report.warnings.append("modules.patches are not part of the DKMS export; "
                               "apply them to the exported sources if DKMS must build them")
    report.notes.append(f"DKMS tree {base} ({', '.join(e['name'] for e in entries)}); next: "
                        f"dkms install -m {PACKAGE} -v {version}")
    report.data["dkms"] = {"path": base, "package": PACKAGE, "version": version,
                           "modules": [e["name"] for e in entries]}
    return report
