"""Settings: the ``sunray:`` section of Invoke's configuration.

Defaults live here, in code. Invoke layers ``/etc/invoke.yaml``,
``~/.invoke.yaml``, ``INVOKE_SUNRAY_*`` environment variables and
``-f FILE`` on top (``invoke`` in a checkout also reads the checkout's
``invoke.yaml``). Each concern reads its own subsection (``sunray.tmp``,
``sunray.modules``, ...).

``section()`` checks the merged section against the shapes of DEFAULTS
(a value of the wrong type, an unknown key) and every number against its
range in RANGES, so no task meets a wrong type or an absurd number; each
concern still checks what its values mean (paths, names).
"""

import copy
import math
from typing import TYPE_CHECKING, Any, Dict, Optional

from .errors import UsageError, shown

if TYPE_CHECKING:
    import invoke

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
        # (globs, server paths). Empty: the built-in list (sunray.tmpclean.checks).
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
        # The ssh client configuration read for Host aliases, HostName, User,
        # Port, IdentityFile and ProxyJump ("": read none). The host string
        # and the inventory win over it; it wins over user and identity here.
        "ssh_config": "~/.ssh/config",
        # The sunray pyz sent by `fleet --push` (null: the pyz this program
        # runs from; --pyz wins). When it is sent: "missing" (to hosts
        # without the program: exit 127), "always" (like --push), "never".
        "pyz": None,
        "push": "missing",
        # Where a host keeps the pyz (the sunray.server collection's place).
        "pyz_dir": "/var/lib/sunray",
        # The Python that runs the pyz on a host (the inventory's python: or
        # ansible_python_interpreter wins).
        "python": "python3",
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
        # build-esound: the maintainer of its %changelog entry, in rpm's
        # "Name <address>" form (rpmlint checks it).
        "packager": "sunray build-esound <root@localhost>",
    },
    "savings": {
        # Preset the savings task starts from: "home" or "office".
        "preset": "office",
        # Inputs that override the preset on every run (e.g. your price and
        # currency, or country: NLD); the keys are the savings task's inputs.
        "defaults": {},
        # Language of the savings report (en, de or nl) and paper size of its
        # html and pdf forms (a4 or letter).
        "lang": "en",
        "paper": "a4",
    },
}


def defaults() -> Dict[str, Any]:
    """A fresh deep copy of the defaults (callers may mutate it)."""
    return copy.deepcopy(DEFAULTS)


def section(ctx: Optional["invoke.Context"], name: Optional[str] = None) -> Dict[str, Any]:
    """The ``sunray`` config section (or one subsection) as plain Python data.

    ``ctx`` is an Invoke Context; ``None`` gives the defaults, which is what
    library callers and tests without a Context get.
    """
    data = defaults()
    if ctx is not None:
        merged = _plain(ctx.config.get("sunray", {}))
        if not isinstance(merged, dict):
            raise UsageError(_wrong("sunray", merged, "a mapping of settings"))
        data = validate(merge_into(data, merged))
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


def merge_into(base: Dict[str, Any], override: Dict[str, Any]) -> Dict[str, Any]:
    """``override`` merged into ``base`` (changed in place and returned):
    mappings key by key, anything else replaced."""
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = merge_into(base[key], value)
        else:
            base[key] = value
    return base


# --- checking the merged section --------------------------------------------

# Keys that take another shape than their default's (the default is [] or a
# word). Every other key takes the type of its default; a None default takes
# None or a string; an empty {} default takes any mapping (its keys are the
# concern's own, e.g. savings.defaults).
_KINDS = {
    "sunray.modules.modules": ("str", "list of str"),  # "auto" or names
    "sunray.modules.patches": ("list of mappings",),
    "sunray.modules.lock_timeout": ("number",),  # seconds, fractions fine
    "sunray.boot.timeout": ("number",),
    "sunray.boot.before": ("str or list of str",),
    "sunray.esound.nodeps": ("word",),
    "sunray.modules.dkms_version": ("version",),
    "sunray.fleet.connect_timeout": ("number",),
    "sunray.fleet.command_timeout": ("number",),
}

# Every number setting's range: lowest, highest, and what it counts (the
# error says it). A timeout of 1e26 s would reach the systemd unit, where
# systemd ignores it. tests/test_core_config.py checks that no number is missing.
RANGES = {
    "sunray.modules.lock_timeout": (0, 86400, "seconds"),
    "sunray.modules.jobs": (0, 256, "builds at once; 0: one per CPU"),
    "sunray.boot.timeout": (1, 86400, "seconds"),
    "sunray.fleet.parallel": (1, 256, "hosts at once"),
    "sunray.fleet.connect_timeout": (1, 3600, "seconds"),
    "sunray.fleet.command_timeout": (1, 86400, "seconds"),
}

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


class _Mismatch(Exception):
    """A value is not of one kind (validate() tries the next, or reports)."""


def validate(data: Dict[str, Any], shape: Dict[str, Any] = DEFAULTS,
             where: str = "sunray") -> Dict[str, Any]:
    """``data`` (the merged section) checked against ``shape``'s types.

    Returns the data with words for booleans and digits for numbers (what an
    environment variable gives) turned into real bools and numbers. Raises
    UsageError naming the key path, the value and the type (and range) it
    should have.
    """
    checked: Dict[str, Any] = {}
    for key, value in data.items():
        path = f"{where}.{key}"
        if key not in shape:
            raise UsageError(f"config: {path}: unknown setting{_did_you_mean(key, shape)}")
        default = shape[key]
        if isinstance(default, dict) and default:
            if not isinstance(value, dict):
                raise UsageError(_wrong(path, value, "a mapping of settings"))
            checked[key] = validate(value, default, path)
            continue
        if value is None and default is not None:
            checked[key] = copy.deepcopy(default)  # null: "use the default"
            continue
        kinds = _KINDS.get(path) or (_kind_of(default),)
        for kind in kinds:
            try:
                checked[key] = _CHECKS[kind](value)
                break
            except _Mismatch:
                pass
        else:
            raise UsageError(_wrong(path, value, _expected(path, kinds)))
        span = RANGES.get(path)
        if span is not None and not span[0] <= checked[key] <= span[1]:
            raise UsageError(_wrong(path, checked[key], _expected(path, kinds)))
    return checked


def _expected(path, kinds):
    """What a key takes, in words: its kinds, and its range if it has one."""
    span = RANGES.get(path)
    if span is None:
        return " or ".join(_NAMES[k] for k in kinds)
    low, high, unit = span
    number = "a whole number" if kinds == ("int",) else "a number"
    return f"{number} from {low} to {high} ({unit})"


def as_bool(value: Any, path: str = "value") -> bool:
    """A real bool from a bool or a word (true/false, yes/no, on/off, 1/0)."""
    try:
        return _bool(value)
    except _Mismatch:
        raise UsageError(_wrong(path, value, _NAMES["bool"])) from None


def _kind_of(default):
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "number"
    if isinstance(default, list):
        return "list of str"
    if isinstance(default, dict):
        return "mapping"
    return "str or null" if default is None else "str"


def _bool(value):
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise _Mismatch


def _number(value, integer):
    """A finite, non-negative int (or float); digits in a string are fine
    (environment variables are strings); a bool is not a number here."""
    if isinstance(value, str):
        try:
            value = int(value.strip()) if integer else float(value.strip())
        except ValueError:
            raise _Mismatch from None
    if integer and isinstance(value, float) and value.is_integer():
        value = int(value)  # YAML's 600.0
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        raise _Mismatch
    if isinstance(value, float) and not math.isfinite(value):  # an int is finite, however big
        raise _Mismatch
    if value < 0:
        raise _Mismatch
    return value


def _str(value):
    if not isinstance(value, str):
        raise _Mismatch
    return value


def _word(value):
    """yes/no/auto style words: YAML reads a bare ``yes`` as a bool."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _str(value)


def _version(value):
    """A version string: YAML reads a bare ``2.0`` as a number."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return _str(value)


def _str_list(value):
    """A list of strings; one string alone is a list of one."""
    if isinstance(value, str):
        return [value]
    return _list_of(str)(value)


def _list_of(item_type):
    def check(value):
        if not isinstance(value, list) or not all(isinstance(v, item_type) for v in value):
            raise _Mismatch
        return value

    return check


def _of_type(value_type):
    def check(value):
        if not isinstance(value, value_type):
            raise _Mismatch
        return value

    return check


_CHECKS = {
    "bool": _bool,
    "int": lambda value: _number(value, integer=True),
    "number": lambda value: _number(value, integer=False),
    "str": _str,
    "str or null": lambda value: value if value is None else _str(value),
    "list of str": _list_of(str),
    "str or list of str": _str_list,
    "word": _word,
    "version": _version,
    "list of mappings": _list_of(dict),
    "mapping": _of_type(dict),
}

_NAMES = {
    "bool": "true or false (yes/no, on/off, 1/0)",
    "int": "a whole number >= 0",
    "number": "a finite number >= 0",
    "str": "a string",
    "str or null": "a string or null",
    "list of str": "a list of strings",
    "str or list of str": "a string or a list of strings",
    "word": "a word (yes, no or auto)",
    "version": "a version string",
    "list of mappings": "a list of mappings",
    "mapping": "a mapping",
}


def _wrong(path, value, expected):
    return f"config: {path}: {shown(value)} is not {expected}"


def _did_you_mean(key, shape):
    import difflib

    close = difflib.get_close_matches(str(key), list(shape), n=1)
    known = ", ".join(shape)
    return f" (did you mean {close[0]!r}?)" if close else f" (known: {known})"
