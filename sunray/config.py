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
    # Absolute path of the sunray program that hooks run (boot hook, kernel
    # hooks). Empty: the running `sunray` (argv[0] or PATH), else /usr/bin/sunray.
    "program": "",
    "tmp": {
        # Paths the daily /tmp cleaners must never remove.
        "protect": ["/tmp/SUNWut", "/tmp/.esd"],
    },
    "esd": {
        # esound 0.2.36-0.2.38 put their sockets below this directory.
        "dir": "/tmp/.esd",
    },
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
        # Seconds `sunray boot` may take before the hook gives up, so a hung
        # step can never keep SRSS from starting.
        "timeout": 600,
    },
    "doctor": {
        # Files whose .rpmnew/.rpmsave/.dpkg-dist siblings the doctor reports
        # (globs, server paths). Empty: the built-in list (sunray.doctor).
        "watched_files": [],
    },
    "fleet": {
        # The program run on every host (a path, or a name found in the
        # remote PATH); the inventory may set "program:" per host.
        "program": "sunray",
        # Hosts at once (--parallel overrides).
        "parallel": 8,
        # Seconds to wait for a host to accept the connection.
        "connect_timeout": 10,
        # Seconds a remote task may run (rebuild-modules can take minutes).
        "command_timeout": 1800,
        # Remote user when a host string has no "user@" (null: your login name).
        "user": None,
        # Private key to use (null: the keys in ~/.ssh and the ssh agent).
        "identity": None,
        # Ask the ssh agent for keys.
        "use_agent": True,
        # Host keys are checked against this file; with strict_host_keys an
        # unknown host is refused (never trusted silently).
        "known_hosts": "~/.ssh/known_hosts",
        "strict_host_keys": True,
        # Prefix the remote command with `sudo -n` (log in as a normal user).
        "sudo": False,
    },
    "esound": {
        # build-esound: appended to the Release ("2.el5" -> "2.el5.oss").
        "suffix": "oss",
        # build-esound: where the built RPMs and the new SRPM are copied.
        "output": "./dist",
        # rpmbuild --nodeps: auto (only when the host's rpm database cannot
        # know the build requirements, e.g. Debian), yes or no.
        "nodeps": "auto",
        # build-esound as root: the user rpmbuild (the SRPM's build scripts)
        # runs as; never root unless --allow-root-build.
        "build_user": "nobody",
    },
    "savings": {
        # Preset the savings task starts from: "home" or "office".
        "preset": "office",
        # Inputs that override the preset on every run (e.g. your price and
        # currency, or country: NLD); the keys are the savings task's inputs.
        "defaults": {},
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
