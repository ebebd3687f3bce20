"""fleet --push and ~/.ssh/config, against real OpenSSH servers on loopback.

The hosts are Debian's /usr/sbin/sshd started as root (tests/fleet_support.py)
with no sunray on them: the remote program is a path that does not exist,
so the host's exit 127 makes fleet send the pyz (built here by
packaging/build_pyz.py, as ./bootstrap dist does) and run it with the pyenv
Python 3.6 copy of this checkout (.python36), the server floor. The pyz is
kept in a directory of the test, never in the machine's /var/lib/sunray.
"""

import json
import stat
import sys
import zipfile

import pytest
from conftest import assert_clean_error, need, need_root, run_sunray
from fleet_support import REPO, SshHost, fleet_config, healthy_server, keygen, ssh_fleet

from sunray import fleet
from sunray.core.config import defaults

sys.path.insert(0, str(REPO / "packaging"))
import build_pyz  # noqa: E402

pytestmark = [pytest.mark.workstation, pytest.mark.system]

PYTHON36 = REPO / ".python36" / "bin" / "python3.6"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """Two sshd hosts (127.0.0.1 with a server tree, 127.0.0.2 as a jump
    host with DEBUG logs), the pyz, and a fleet config sending it."""
    need_root()
    need("ssh-keygen")
    if not PYTHON36.exists():
        pytest.fail(f"{PYTHON36} missing: run ./bootstrap (the target Python)")
    work = tmp_path_factory.mktemp("push")
    # No 3.6 byte code (python36=""): the same program, built faster.
    pyz = build_pyz.build(work / "dist", REPO / "build" / "pyz-downloads", python36="")
    with ssh_fleet(work, ["127.0.0.1", "127.0.0.2"], [healthy_server, healthy_server]) as lab:
        lab["pyz"] = pyz
        yield lab


def config(lab, name, **extra):
    settings = dict(program="/nonexistent/bin/sunray", pyz=str(lab["pyz"]),
                    pyz_dir=str(lab["dir"] / name / "kept"), python=str(PYTHON36), ssh_config="")
    settings.update(extra)
    return fleet_config(lab["dir"] / f"{name}.yaml", lab["key"], lab["known"], **settings)


def settings_of(path):
    import yaml

    data = defaults()
    data["fleet"].update(yaml.safe_load(path.read_text())["sunray"]["fleet"])
    return data


def count_copies(monkeypatch):
    """Count the pyz transfers (the one call that sends bytes) and their size."""
    from sunray.fleet import ssh

    sent = []
    real = ssh.run_with_input

    def counting(conn, command, data, timeout):
        sent.append(len(data))
        return real(conn, command, data, timeout)

    monkeypatch.setattr(ssh, "run_with_input", counting)
    return sent


def test_a_host_without_sunray_gets_the_pyz_once(lab, monkeypatch):
    h1, root = lab["hosts"][0], lab["roots"][0]
    # the inventory names the host's Python: a wrapper that logs, then runs 3.6
    log = lab["dir"] / "python.log"
    wrapper = lab["dir"] / "python36-logged"
    wrapper.write_text(f"#!/bin/sh\necho \"$3\" >> {log}\nexec {PYTHON36} \"$@\"\n")
    wrapper.chmod(0o755)
    inv = lab["dir"] / "once-inventory.yaml"
    inv.write_text(f"groups:\n  lab:\n    - host: {h1.spec}\n      root: {root}\n"
                   f"      python: {wrapper}\n")
    cfg = config(lab, "once", python="python-not-used")
    kept = lab["dir"] / "once" / "kept" / "sunray.pyz"
    sent = count_copies(monkeypatch)

    first = fleet.run(settings_of(cfg), inventory=str(inv))
    (host,) = first.hosts
    assert host.status == "ok", host
    assert host.pyz["action"] == "sent" and host.pyz["bytes"] == lab["pyz"].stat().st_size
    assert host.result["root"] == str(root) and host.result["summary"]["fail"] == 0
    assert "sunray.pyz sent" in host.summary
    assert sent == [lab["pyz"].stat().st_size]
    assert kept.read_bytes() == lab["pyz"].read_bytes()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o644
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o755 and kept.parent.stat().st_uid == 0
    assert [p.name for p in kept.parent.iterdir()] == ["sunray.pyz"]  # no temporary left
    assert log.read_text().split() == ["run", "install", "run"]
    before = kept.stat()

    second = fleet.run(settings_of(cfg), inventory=str(inv), push=True)
    (host,) = second.hosts
    assert host.status == "ok" and host.pyz["action"] == "kept" and host.pyz["bytes"] == 0
    assert sent == [lab["pyz"].stat().st_size]  # nothing more sent
    assert (kept.stat().st_ino, kept.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert log.read_text().split() == ["run", "install", "run", "run"]  # one command


def test_a_changed_pyz_is_sent_again_and_dry_run_sends_nothing(lab, monkeypatch):
    h1, root = lab["hosts"][0], lab["roots"][0]
    cfg = config(lab, "changed")
    kept = lab["dir"] / "changed" / "kept" / "sunray.pyz"
    proc = run_sunray("-f", cfg, "fleet", "--hosts", h1.spec, "--root", root, "--task", "apply",
                      "--dry-run", "--push", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    (host,) = json.loads(proc.stdout)["hosts"]
    assert host["status"] == "would-push" and host["pyz"]["action"] == "would-send"
    assert "would send sunray.pyz" in host["summary"]
    assert not kept.parent.exists()  # not even the directory

    proc = run_sunray("-f", cfg, "fleet", "--hosts", h1.spec, "--root", root, "--push",
                      "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["hosts"][0]["pyz"]["action"] == "sent"
    newer = lab["dir"] / "changed" / "sunray-newer.pyz"
    newer.write_bytes(lab["pyz"].read_bytes())
    with zipfile.ZipFile(newer, "a") as zf:
        zf.writestr("NEWS.txt", "a newer build\n")
    sent = count_copies(monkeypatch)
    report = fleet.run(settings_of(cfg), hosts=h1.spec, root=str(root), push=True, pyz=str(newer))
    assert report.hosts[0].status == "ok" and report.hosts[0].pyz["action"] == "sent"
    assert sent == [newer.stat().st_size]
    assert kept.read_bytes() == newer.read_bytes()


def test_ansible_python_interpreter_runs_the_pyz(lab):
    h1, root = lab["hosts"][0], lab["roots"][0]
    ini = lab["dir"] / "hosts.ini"
    ini.write_text(f"[srss]\nsr1 ansible_host={h1.address} ansible_port={h1.port} "
                   f"ansible_python_interpreter={PYTHON36}\n[srss:vars]\nansible_user=root\n")
    cfg = config(lab, "ansible", python="/nonexistent/python3")
    proc = run_sunray("-f", cfg, "fleet", "--inventory", ini, "--root", root, "--push",
                      "--format", "json")
    assert proc.returncode == 0, proc.stderr
    (host,) = json.loads(proc.stdout)["hosts"]
    assert host["status"] == "ok" and host["pyz"]["action"] == "sent"
    # without the inventory's interpreter: the missing Python is named
    proc = run_sunray("-f", cfg, "fleet", "--hosts", h1.spec, "--root", root, "--push",
                      "--format", "json")
    (host,) = json.loads(proc.stdout)["hosts"]
    assert proc.returncode == 1 and host["exit_code"] == 127
    assert "python not found on the host" in host["summary"]


def test_push_refuses_an_unsafe_kept_directory(lab):
    h1, root = lab["hosts"][0], lab["roots"][0]
    cfg = config(lab, "unsafe")
    kept_dir = lab["dir"] / "unsafe" / "kept"
    kept_dir.mkdir(parents=True)
    kept_dir.chmod(0o777)
    data = json.loads(run_sunray("-f", cfg, "fleet", "--hosts", h1.spec, "--root", root,
                                 "--push", "--format", "json").stdout)
    host = data["hosts"][0]
    assert host["status"] == "push-failed" and "writable by others" in host["summary"]
    assert list(kept_dir.iterdir()) == []


def test_push_usage_errors_before_connecting(lab, tmp_path):
    spec = lab["hosts"][0].spec
    cfg = config(lab, "usage", pyz=None)
    assert_clean_error(run_sunray("-f", cfg, "fleet", "--hosts", spec, "--push"), 2, "--pyz FILE")
    assert_clean_error(run_sunray("-f", cfg, "fleet", "--hosts", spec, "--pyz", tmp_path / "no.pyz"),
                       2, "no such file")
    (tmp_path / "x.pyz").write_text("#!/usr/bin/env python3\nprint(1)\n")
    assert_clean_error(run_sunray("-f", cfg, "fleet", "--hosts", spec, "--pyz", tmp_path / "x.pyz"),
                       2, "not a zip")
    for bad, needle in [(dict(pyz_dir="/var/lib/sun ray"), "pyz_dir"),
                        (dict(python="python3; reboot"), "python"),
                        (dict(push="sometimes"), "sunray.fleet.push"),
                        (dict(ssh_config=str(tmp_path / "none")), "ssh_config")]:
        cfg = config(lab, "usage", **bad)
        assert_clean_error(run_sunray("-f", cfg, "fleet", "--hosts", spec, "--push"), 2, needle)


def test_ssh_config_alias_hostname_port_user_identity(lab):
    h1, root = lab["hosts"][0], lab["roots"][0]
    ssh_config = lab["dir"] / "ssh_config"
    ssh_config.write_text(f"Host srv-*\n  HostName {h1.address}\n  Port {h1.port}\n  User root\n"
                          f"  IdentityFile {lab['key']}\n")
    # sunray.fleet's own key is one the server refuses: ssh_config's wins
    other = keygen(lab["dir"] / "refused_key")
    cfg = fleet_config(lab["dir"] / "sshcfg.yaml", other, lab["known"], user="nobody",
                       program="/nonexistent/bin/sunray", pyz=str(lab["pyz"]),
                       pyz_dir=str(lab["dir"] / "sshcfg"), python=str(PYTHON36),
                       ssh_config=str(ssh_config))
    proc = run_sunray("-f", cfg, "fleet", "--hosts", "srv-one", "--root", root, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    (host,) = json.loads(proc.stdout)["hosts"]
    assert host["host"] == "srv-one" and host["status"] == "ok"
    # the host string wins over ssh_config: its port (where nothing listens)
    proc = run_sunray("-f", cfg, "fleet", "--hosts", "srv-one:1", "--format", "json")
    assert json.loads(proc.stdout)["hosts"][0]["status"] == "unreachable"
    # and its user (the server accepts no key for "nobody")
    proc = run_sunray("-f", cfg, "fleet", "--hosts", "nobody@srv-one", "--format", "json")
    assert json.loads(proc.stdout)["hosts"][0]["status"] == "auth-failed"
    # a bad value in ssh_config is refused before connecting
    ssh_config.write_text("Host srv-*\n  HostName 'a;b'\n")
    assert_clean_error(run_sunray("-f", cfg, "fleet", "--hosts", "srv-one"), 2, "bad host name")


def test_ssh_config_proxyjump_through_a_second_sshd(lab, tmp_path):
    h1, jump_dir = lab["hosts"][0], tmp_path / "jump"
    # a jump host logging its forwardings (DEBUG1: "direct-tcpip")
    jump = SshHost(jump_dir, lab["key"], address="127.0.0.4")
    jump.config.write_text(jump.config.read_text().replace("LogLevel VERBOSE", "LogLevel DEBUG1"))
    known = tmp_path / "known_hosts"
    known.write_text(lab["known"].read_text() + jump.known_hosts_line())
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text(f"Host target\n  HostName {h1.address}\n  Port {h1.port}\n"
                          "  ProxyJump bastion\n"
                          f"Host bastion\n  HostName {jump.address}\n  Port {jump.port}\n"
                          f"Host *\n  User root\n  IdentityFile {lab['key']}\n")
    cfg = fleet_config(tmp_path / "jump.yaml", lab["key"], known, ssh_config=str(ssh_config),
                       program="/nonexistent/bin/sunray", pyz=str(lab["pyz"]),
                       pyz_dir=str(tmp_path / "kept"), python=str(PYTHON36))
    jump.start()
    try:
        proc = run_sunray("-f", cfg, "fleet", "--hosts", "target", "--root", lab["roots"][0],
                          "--format", "json")
    finally:
        jump.stop()
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["hosts"][0]["status"] == "ok"
    log = jump.log.read_text()
    assert "Accepted publickey for root" in log
    assert "direct-tcpip" in log and f"{h1.address} port {h1.port}" in log, log[-2000:]
    # the jump host's key is checked like any other
    known.write_text(lab["known"].read_text())
    jump = SshHost(tmp_path / "jump2", lab["key"], address="127.0.0.4").start()
    try:
        ssh_config.write_text(f"Host target\n  HostName {h1.address}\n  Port {h1.port}\n"
                              f"  ProxyJump root@{jump.address}:{jump.port}\n"
                              f"Host *\n  User root\n  IdentityFile {lab['key']}\n")
        proc = run_sunray("-f", cfg, "fleet", "--hosts", "target", "--format", "json")
    finally:
        jump.stop()
    assert json.loads(proc.stdout)["hosts"][0]["status"] == "host-key"
