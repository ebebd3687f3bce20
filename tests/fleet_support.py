"""Helpers for the doctor and fleet tests and the fleet bench.

* ``healthy_server(root)`` / ``broken_server(root)``: sandbox server trees the
  doctor judges all-ok or failing;
* ``SshHost``: a real OpenSSH server (Debian's /usr/sbin/sshd) on a loopback
  address, with a host key and an authorized key generated here, run as
  root from a private config; nothing of the machine's own ssh setup is used;
* ``ssh_fleet(...)``: several such hosts, each with its own server tree, a
  known_hosts file and a fleet config for them (the fleet tests and bench).
"""

import contextlib
import os
import socket
import subprocess
import time
from pathlib import Path

from support import write_file

REPO = Path(__file__).resolve().parent.parent
SUNRAY = REPO / ".venv" / "bin" / "sunray"
MODULES = ("utadem", "utdisk", "utio")


def healthy_server(root):
    """A server tree with SRSS sources, the boot hook (systemd) and kernel hooks."""
    root = Path(root)
    for m in MODULES:
        write_file(root / f"usr/src/SUNWut/{m}/Makefile", f"obj-m := {m}.o\n")
        write_file(root / f"usr/src/SUNWut/{m}/{m}.c", "/* stand-in */\n")
    write_file(root / "etc/fstab", "/dev/sda1 / ext4 defaults 0 1\n"
               "tmpfs /tmp tmpfs mode=1777,nosuid 0 0\n")
    unit = "etc/systemd/system/sunray-boot.service"
    write_file(root / unit, "[Unit]\nDescription=stand-in\n")
    link = root / "etc/systemd/system/multi-user.target.wants/sunray-boot.service"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to("/" + unit)
    for hook in ("etc/kernel/postinst.d/sunray-modules", "etc/kernel/postrm.d/sunray-modules",
                 "etc/kernel/install.d/85-sunray.install"):
        write_file(root / hook, "#!/bin/sh\nexit 0\n", 0o755)
    esd = root / "tmp/.esd"
    esd.mkdir(parents=True, exist_ok=True)
    os.chmod(esd, 0o1777)  # the tests run as root: root-owned
    return root


def broken_server(root):
    """A RHEL7-like tree: /tmp nodev in fstab, no hooks, no SRSS sources."""
    root = Path(root)
    write_file(root / "etc/fstab", "tmpfs /tmp tmpfs mode=1777,nosuid,nodev 0 0\n")
    write_file(root / "etc/cron.daily/tmpwatch", "#! /bin/sh\n")
    write_file(root / "etc/cron.daily/tmpwatch.rpmnew", "#! /bin/sh\n")
    return root


def free_port(address="127.0.0.1"):
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def keygen(path):
    """An ed25519 key pair at ``path`` / ``path``.pub (no passphrase)."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "sunray-test",
                    "-f", str(path)], check=True)
    return Path(path)


class SshHost:
    """One sshd on ``address``:``port``, accepting ``client_key`` for root."""

    def __init__(self, workdir, client_key, address="127.0.0.1", port=None, plain_shell=True):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.address = address
        self.port = port or free_port(address)
        self.host_key = keygen(self.dir / "host_key")
        self.log = self.dir / "sshd.log"
        authorized = self.dir / "authorized_keys"
        write_file(authorized, Path(str(client_key) + ".pub").read_text(), 0o600)
        self.config = self.dir / "sshd_config"
        self.config.write_text(
            f"ListenAddress {address}:{self.port}\n"
            f"HostKey {self.host_key}\n"
            f"PidFile {self.dir / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {authorized}\n"
            "PermitRootLogin prohibit-password\n"
            "PubkeyAuthentication yes\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "UsePAM no\n"
            "StrictModes no\n"
            "UseDNS no\n"
            "MaxStartups 100\n"
            "LogLevel VERBOSE\n"
            # bash started by sshd sources ~/.bashrc unless SHLVL says it is
            # nested; this machine's root .bashrc runs `pyenv init` (0.3 s of
            # CPU per command), which a server's root does not.
            + ("SetEnv SHLVL=1\n" if plain_shell else "")
        )
        self.proc = None

    @property
    def spec(self):
        return f"root@{self.address}:{self.port}"

    def known_hosts_line(self):
        key = Path(str(self.host_key) + ".pub").read_text().split()
        return f"[{self.address}]:{self.port} {key[0]} {key[1]}\n"

    def start(self):
        # sshd's privilege separation needs this empty directory.
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self.proc = subprocess.Popen(
            ["/usr/sbin/sshd", "-D", "-f", str(self.config), "-E", str(self.log)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {self.log.read_text() if self.log.exists() else ''}")
            try:
                with socket.create_connection((self.address, self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"sshd on {self.address}:{self.port} did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def fleet_config(path, client_key, known_hosts, **extra):
    """An Invoke config file for ``sunray -f FILE fleet``: only our key, our known_hosts."""
    import yaml

    fleet = {"identity": str(client_key), "use_agent": False,
             "known_hosts": str(known_hosts), "strict_host_keys": True,
             "program": str(SUNRAY), "connect_timeout": 5,
             "ssh_config": ""}  # not the machine's ~/.ssh/config
    fleet.update(extra)
    Path(path).write_text(yaml.safe_dump({"sunray": {"fleet": fleet}}))
    return Path(path)


@contextlib.contextmanager
def ssh_fleet(workdir, addresses, servers, plain_shell=True, **config):
    """Start one sshd per loopback address, each host with the server tree
    that the matching builder in ``servers`` makes (``healthy_server``,
    ``broken_server``), all under ``workdir``.

    Yields a dict: dir, key (the client key), hosts (``SshHost``), roots,
    known (a known_hosts file listing every host) and config (a
    ``fleet_config`` file; ``config`` adds keys to it). The hosts stop when
    the block ends.
    """
    d = Path(workdir)
    key = keygen(d / "client_key")
    hosts = [SshHost(d / f"host{n}", key, address=address, plain_shell=plain_shell)
             for n, address in enumerate(addresses, 1)]
    try:
        for h in hosts:
            h.start()
        known = d / "known_hosts"
        known.write_text("".join(h.known_hosts_line() for h in hosts))
        roots = [make(d / f"root{n}") for n, make in enumerate(servers, 1)]
        yield {"dir": d, "key": key, "hosts": hosts, "roots": roots, "known": known,
               "config": fleet_config(d / "sunray.yaml", key, known, **config)}
    finally:
        for h in hosts:
            h.stop()
