"""What a modules task is told: the ``sunray.modules`` settings, checked.

``ModuleSettings`` is that section, checked where a bad value could do harm
(a destination outside /lib/modules/K, a relative source path, half a signing
setup); ``Job`` carries one run's inputs (the tree, the ``sunray:`` settings
and their checked ``modules`` part) to everything that needs more than one of
them. Module names are checked here too (kernel versions in
``sunray.core.kernelname``): both end up in paths and command lines.
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Pattern

from ..core.errors import UsageError
from ..core.rootfs import Root

NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}$")
_DEST_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+/-]*$")


def check_name(name: str, what: str) -> str:
    """A module (directory) name, or UsageError naming ``what`` it is."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise UsageError(f"{what} {name!r}: expected letters, digits and . _ + - only")
    return name


def valid_dest(dest: object) -> bool:
    """A plain relative path below /lib/modules/K (the settings' or a record's)."""
    return isinstance(dest, str) and bool(_DEST_RE.match(dest)) and ".." not in dest.split("/")


@dataclass(frozen=True)
class Signing:
    """``modules.sign``: sign every .ko with the kernel's own scripts/sign-file.
    ``key`` and ``cert`` are server paths, checked only when enabled."""

    enabled: bool
    hash: str
    key: str
    cert: str


@dataclass(frozen=True)
class PatchRule:
    """One ``modules.patches`` entry: ``file`` (relative to ``src`` unless
    absolute) applies where ``kernel_regex`` matches the kernel version, to
    ``module`` only, or to every module when it is None."""

    file: str
    kernel_regex: Pattern
    module: Optional[str]


@dataclass(frozen=True)
class ModuleSettings:
    """The ``sunray.modules`` section, checked (see config.DEFAULTS for the keys)."""

    src: str
    dest: str
    wanted: Any  # modules.modules: "auto", a list of names or a space-separated string
    patches: Any  # as configured; patch_rules() checks them when a plan needs them
    sign: Signing
    lock_timeout: float
    jobs: Any  # checked by parallel_jobs()
    running_kernel: Any  # checked by check_kernel() when set
    dkms_version: Any  # checked by the DKMS export

    @classmethod
    def from_settings(cls, settings: Dict[str, Any]) -> "ModuleSettings":
        """The ``modules`` part of ``settings``, checked (UsageError names the bad key)."""
        section = dict(settings.get("modules", {}))
        dest = section.get("dest", "extra/sunray")
        if not valid_dest(dest):
            raise UsageError(f"modules.dest {dest!r}: expected a relative path below /lib/modules/K")
        src = section.get("src", "/usr/src/SUNWut")
        if not isinstance(src, str) or not src.startswith("/"):
            raise UsageError(f"modules.src {src!r}: expected an absolute path")
        sign = dict(section.get("sign") or {})
        if sign.get("enabled"):
            if not re.match(r"^[a-z0-9]+$", str(sign.get("hash", ""))):
                raise UsageError(f"modules.sign.hash {sign.get('hash')!r}: expected e.g. sha256")
            for key in ("key", "cert"):
                if not isinstance(sign.get(key), str) or not sign[key].startswith("/"):
                    raise UsageError(f"modules.sign.{key}: expected an absolute path when signing")
        try:
            lock_timeout = float(section.get("lock_timeout", 900))
        except (TypeError, ValueError):
            raise UsageError("modules.lock_timeout: expected a number of seconds") from None
        return cls(
            src=src,
            dest=dest.strip("/"),
            wanted=section.get("modules", "auto"),
            patches=section.get("patches"),
            sign=Signing(enabled=bool(sign.get("enabled")), hash=str(sign.get("hash", "")),
                         key=str(sign.get("key") or ""), cert=str(sign.get("cert") or "")),
            lock_timeout=lock_timeout,
            jobs=section.get("jobs"),
            running_kernel=section.get("running_kernel"),
            dkms_version=section.get("dkms_version"),
        )

    def patch_rules(self) -> List[PatchRule]:
        """The configured patches, checked (UsageError names the bad entry)."""
        rules = []
        for i, entry in enumerate(self.patches or []):
            if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
                raise UsageError(f"modules.patches[{i}]: expected {{file: PATH, kernel_regex: RE}}")
            try:
                kernel_regex = re.compile(str(entry.get("kernel_regex", "")))
            except re.error as e:
                raise UsageError(f"modules.patches[{i}].kernel_regex: {e}") from None
            module = entry.get("module")
            if module is not None:
                check_name(module, f"modules.patches[{i}].module")
            rules.append(PatchRule(entry["file"], kernel_regex, module))
        return rules

    def parallel_jobs(self, requested: Any = None) -> int:
        """How many jobs a run may use: ``--jobs``, else ``modules.jobs``, else
        one per CPU; UsageError unless a whole number from 1 to 256."""
        value = requested if requested not in (None, 0, "0") else self.jobs or os.cpu_count() or 1
        try:
            value = int(value)
        except (TypeError, ValueError):
            raise UsageError(f"--jobs {value!r}: expected a whole number") from None
        if value < 1 or value > 256:
            raise UsageError(f"--jobs {value}: expected 1 to 256")
        return value


@dataclass(frozen=True)
class Job:
    """One run's inputs: the tree, the ``sunray:`` settings, and their
    ``modules`` part checked."""

    root: Root
    settings: Dict[str, Any]
    module_settings: ModuleSettings

    @classmethod
    def start(cls, root: Root, settings: Dict[str, Any]) -> "Job":
        """The job for ``settings`` on ``root`` (UsageError for bad module settings)."""
        return cls(root, settings, ModuleSettings.from_settings(settings))

    def kernel_dir(self, kernel: str) -> Path:
        """Host path of /lib/modules/K."""
        return self.root.path(f"/lib/modules/{kernel}")

    def dest_dir(self, kernel: str) -> Path:
        """Host path of the directory our .ko files go to for kernel K."""
        return self.root.path(f"/lib/modules/{kernel}/{self.module_settings.dest}")
