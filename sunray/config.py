"""Settings: the ``sunray:`` section of Invoke's configuration.

Defaults live here, in code. Invoke layers ``/etc/invoke.yaml``,
``~/.invoke.yaml``, ``./invoke.yaml``, ``INVOKE_SUNRAY_*`` environment
variables and ``-f FILE`` on top, as Invoke users expect. Each concern reads
its own subsection (``sunray.tmp``, ``sunray.modules``, ...).
"""

import copy

DEFAULTS = {
    # Tree to work on, as if it were "/"; every task's --root overrides it.
    "root": "/",
    # Where the toolkit keeps backups, records and locks (under the root).
    "state_dir": "/var/lib/sunray",
    # Where build logs go (under the root).
    "log_dir": "/var/log/sunray",
    "tmp": {
        # Paths the daily /tmp cleaners must never remove.
        "protect": ["/tmp/SUNWut", "/tmp/.esd"],
    },
    "esd": {
        # esound 0.2.36-0.2.38 put their sockets below this directory.
        "dir": "/tmp/.esd",
    },
    # The sunray program that hooks (kernel postinst.d, kernel-install) call;
    # empty: the `sunray` found on PATH when the hook is installed, else
    # /usr/bin/sunray.
    "program": "",
    "modules": {
        # SRSS module sources: one directory per module below src.
        "src": "/usr/src/SUNWut",
        # "auto": every directory below src with a Makefile and .c files;
        # or a list of directory names.
        "modules": "auto",
        # Where the .ko files go, relative to /lib/modules/KERNEL.
        "dest": "extra/sunray",
        # Per-kernel-range patches: [{file: PATH, kernel_regex: RE,
        # module: NAME (optional: every module)}], applied with patch -p1 in
        # the scratch copy when RE matches the kernel version (re.search, like
        # DKMS's PATCH_MATCH). A relative file is relative to src.
        "patches": [],
        # Secure Boot signing with the kernel's own scripts/sign-file.
        "sign": {"enabled": False, "key": "", "cert": "", "hash": "sha256"},
        # Seconds a second run waits for the build lock before giving up.
        "lock_timeout": 900,
        # Parallel (kernel, module) builds; 0: the number of CPUs.
        "jobs": 0,
        # The kernel `boot` checks on a root other than / (empty: the newest
        # kernel with headers); on / it is always the running kernel.
        "running_kernel": "",
        # PACKAGE_VERSION of the tree export-dkms writes.
        "dkms_version": "1.0",
        # true: kernel hooks exit non-zero when the build fails (which stops
        # the kernel package's configuration); false: they warn and exit 0.
        "hook_strict": False,
    },
    "boot": {
        # SRSS services the boot hook must run before (systemd unit names;
        # the SysV script uses the same names without ".service").
        "before": ["utsvc.service", "utstorage.service"],
    },
}


def defaults():
    """A fresh deep copy of the defaults (callers may mutate it)."""
    return copy.deepcopy(DEFAULTS)


def section(ctx, name=None):
    """The ``sunray`` config section (or one subsection) as plain Python data.

    ``ctx`` is an Invoke Context; ``None`` gives the defaults, which is what
    library callers and tests without a Context get.
    """
    data = defaults()
    if ctx is not None:
        data = _merge(data, _plain(ctx.config.get("sunray", {})))
    if name is None:
        return data
    return data.get(name, {})


def _plain(value):
    """Invoke's DataProxy objects to dicts and lists, recursively."""
    if hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _merge(base, override):
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = _merge(base[key], value)
        else:
            base[key] = value
    return base
