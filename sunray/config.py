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
    "boot": {
        # SRSS services the boot hook must run before (systemd unit names;
        # the SysV script uses the same names without ".service").
        "before": ["utsvc.service", "utstorage.service"],
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
