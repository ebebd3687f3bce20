"""fleet: host parsing, the remote command, and real runs against OpenSSH servers.

The SSH tests start Debian's /usr/sbin/sshd as root on loopback addresses
(127.0.0.1-3) with a host key and a client key generated here; the client
uses only that key and a known_hosts file written here (no ~/.ssh, no agent).
The remote program is this checkout's .venv/bin/sunray, each host with its
own --root sandbox.
"""

import json
import shlex
import threading
import time

import pytest
from conftest import assert_clean_error, need, need_root, run_sunray
from fleet_support import (
    SUNRAY,
    broken_server,
    fleet_config,
    free_port,
    healthy_server,
    keygen,
    ssh_fleet,
)

from sunray import fleet
from sunray.core.config import defaults
from sunray.core.errors import UsageError

# Savings and fleet run on an admin's workstation (Python 3.9+): not in the 3.6 tier.
pytestmark = pytest.mark.workstation

# --- hosts and the command ----------------------------------------------------------


@pytest.mark.parametrize("spec, expected", [
    ("srv1", (None, "srv1", None)),
    ("root@srv1.example.org:2222", ("root", "srv1.example.org", 2222)),
    ("admin@10.0.0.5", ("admin", "10.0.0.5", None)),
    ("[::1]:22", (None, "::1", 22)),
    ("u@[fe80::1]", ("u", "fe80::1", None)),
])
def test_parse_host(spec, expected):
    t = fleet.parse_host(spec)
    assert (t.user, t.host, t.port) == expected
    assert fleet.parse_host(t.name) == t


@pytest.mark.parametrize("spec", [
    "", "-oProxyCommand=x", "a b", "host:0", "host:70000", "host:22x", "ro ot@h",
    "h;rm -rf /", "[::1", "[zz]:22", "@host", "host:", "root\n@srv",
])
def test_parse_host_refuses(spec):
    with pytest.raises(UsageError):
        fleet.parse_host(spec)


def test_remote_argv_validated_and_quoted():
    config = defaults()["fleet"]
    t = fleet.parse_host("srv")
    assert fleet.remote_argv(t, "doctor", config) == ["sunray", "doctor", "--format", "json"]
    argv = fleet.remote_argv(t, "apply", dict(config, sudo=True), dry_run=True, root="/srv/img")
    assert argv == ["sudo", "-n", "--", "sunray", "apply", "--format", "json", "--dry-run",
                    "--root", "/srv/img"]
    inv = fleet.Target(None, "srv", None, root="/srv/own", program="/opt/sunray/bin/sunray")
    assert fleet.remote_argv(inv, "doctor", config, root="/srv/img")[-2:] == ["--root", "/srv/own"]
    assert shlex.split(shlex.join(argv)) == argv
    for bad in [dict(task="rm"), dict(task="doctor", dry_run=True),
                dict(task="doctor", root="/srv/x; reboot"), dict(task="doctor", root="rel"),
                dict(task="doctor", root="/a/../etc"), dict(task="doctor", root="/srv/img\n")]:
        with pytest.raises(UsageError):
            fleet.remote_argv(t, fleet_settings=config, **bad)
    with pytest.raises(UsageError):
        fleet.remote_argv(t, "doctor", dict(config, program="sunray --evil"))


def test_hosts_file_and_inventory(tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text("# lab\nsrv1\n\n  root@srv2:2222   # second\nsrv1\n")
    inv = tmp_path / "inv.yaml"
    inv.write_text("groups:\n  a: [srv1, srv3]\n  b:\n    - host: srv4\n      root: /srv/img\n"
                   "      program: /opt/s/bin/sunray\n")
    got = fleet.targets_of(hosts="srv0", hosts_file=hosts, inventory=inv)
    assert [t.name for t in got] == ["srv0", "srv1", "root@srv2:2222", "srv3", "srv4"]
    assert got[-1].root == "/srv/img" and got[-1].program == "/opt/s/bin/sunray"
    assert [t.name for t in fleet.targets_of(inventory=inv, groups=["b"])] == ["srv4"]
    with pytest.raises(UsageError, match="no group 'c'"):
        fleet.targets_of(inventory=inv, groups=["c"])
    hosts.write_text("ok\nbad host\n")
    with pytest.raises(UsageError, match=r"hosts:2: "):
        fleet.targets_of(hosts_file=hosts)
    for text, message in [("groups: [a]\n", "expected a mapping"),
                          ("groups:\n  a:\n    - host: x\n      shell: y\n", "unknown key"),
                          ("groups:\n  a:\n    - host: x\n      root: 'a b'\n", "root"),
                          ("groups: {a: [x\n", r"inv.yaml: line 2, column 1: expected ','"),
                          ("groups:\n  a: [x]\n  a: [y]\n", r"line 3, column 3: duplicate key 'a'")]:
        inv.write_text(text)
        with pytest.raises(UsageError, match=message):
            fleet.targets_of(inventory=inv)


def test_ansible_inventories_yaml_and_ini(tmp_path):
    yml = tmp_path / "hosts.yml"
    yml.write_text("all:\n  children:\n    srss:\n      vars: {ansible_user: root}\n"
                   "      hosts:\n        sr1: {ansible_host: 10.0.0.1, ansible_port: 2222}\n"
                   "        sr2: {ansible_user: admin, ansible_python_interpreter: /opt/py3}\n"
                   "    other:\n      hosts:\n        web1:\n")
    assert [t.name for t in fleet.targets_of(inventory=yml)] == [
        "root@10.0.0.1:2222", "admin@sr2", "web1"]
    assert [t.name for t in fleet.targets_of(inventory=yml, groups=["srss"])] == [
        "root@10.0.0.1:2222", "admin@sr2"]
    ini = tmp_path / "hosts"
    ini.write_text("# site\nsolo ansible_host=::1\n[srss]\nsr1 ansible_host=10.0.0.1 ansible_port=2222\n"
                   "sr2 ansible_user=admin ansible_python_interpreter=/opt/rh/py3 # old one\n"
                   "[srss:vars]\nansible_user=root\n[all_srss:children]\nsrss\n")
    assert [t.name for t in fleet.targets_of(inventory=ini)] == [
        "[::1]", "root@10.0.0.1:2222", "admin@sr2"]
    assert [t.name for t in fleet.targets_of(inventory=ini, groups=["all_srss"])] == [
        "root@10.0.0.1:2222", "admin@sr2"]
    with pytest.raises(UsageError, match="no group 'x'"):
        fleet.targets_of(inventory=ini, groups=["x"])
    for text, message in [("[srss]\nweb[1:3]\n", "ranges"), ("[srss]\nh ansible_port\n", "NAME=VALUE"),
                          ("[srss]\nh ansible_host='a;b'\n", "bad host name"),
                          ("[srss]\n[bad\nh\n", "expected \\[group\\]"),
                          ("[a:children]\nb\n[b:children]\na\n", "contains itself")]:
        ini.write_text(text)
        with pytest.raises(UsageError, match=message):
            fleet.targets_of(inventory=ini)


def test_judge_remote_outcomes():
    report = json.dumps({"summary": {"ok": 3, "warn": 1, "fail": 1},
                         "checks": [{"id": "boot-hook", "status": "fail"}]})
    assert fleet.judge("doctor", 1, report, "sunray: 1 check(s) failed") == (
        "failed", "3 ok, 1 warn, 1 fail: boot-hook", json.loads(report))
    assert fleet.judge("apply", 0, '{"changed": false}', "")[:2] == ("ok", "nothing to change")
    assert fleet.judge("doctor", 2, "", "sunray: root /x does not exist\n")[:2] == (
        "usage-error", "sunray: root /x does not exist")
    assert fleet.judge("doctor", 0, "hello\n", "")[0] == "bad-output"
    assert fleet.judge("doctor", 127, "", "sh: sunray: not found")[0] == "error"


def test_parallel_limit_is_honoured(monkeypatch):
    # The SSH side is replaced here (real runs are below): this counts how
    # many hosts are in flight at once.
    lock, state = threading.Lock(), {"now": 0, "max": 0}

    def fake_run_on_host(target, argv, task, config, **_):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return fleet.HostResult(target.name, "ok", 0, 0.05, "fine", {})

    monkeypatch.setattr(fleet, "run_on_host", fake_run_on_host)
    hosts = ",".join(f"h{i}" for i in range(10))
    report = fleet.run(defaults(), hosts=hosts, parallel=3)
    assert state["max"] == 3
    assert [h.host for h in report.hosts] == [f"h{i}" for i in range(10)]  # input order
    assert report.failure == ""


def test_fleet_usage_errors_exit_2(tmp_path):
    assert_clean_error(run_sunray("fleet"), 2, "no hosts")
    assert_clean_error(run_sunray("fleet", "--hosts", "a b"), 2, "bad host name")
    assert_clean_error(run_sunray("fleet", "--hosts", "a", "--task", "reboot"), 2, "--task")
    assert_clean_error(run_sunray("fleet", "--hosts", "a", "--dry-run"), 2, "--dry-run")
    assert_clean_error(run_sunray("fleet", "--hosts", "a", "--parallel", "0"), 2, "--parallel")
    assert_clean_error(run_sunray("fleet", "--hosts", "a", "--group", "x"), 2, "--inventory")
    assert_clean_error(run_sunray("fleet", "--hosts-file", tmp_path / "none"), 2, "no such")
    assert_clean_error(run_sunray("fleet", "--hosts", "a", "--format", "xml"), 2, "--format")
    bad = tmp_path / "bad.yaml"
    bad.write_text("sunray:\n  fleet:\n    connect_timeout: soon\n")
    assert_clean_error(run_sunray("-f", bad, "fleet", "--hosts", "a"), 2, "connect_timeout")
    bad.write_text(f"sunray:\n  fleet:\n    identity: {tmp_path / 'nokey'}\n")
    assert_clean_error(run_sunray("-f", bad, "fleet", "--hosts", "a"), 2, "no such key file")


# --- real SSH ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """Three sshd hosts on 127.0.0.1-3 and a port where nothing listens."""
    need_root()
    need("ssh-keygen")
    if not SUNRAY.exists():
        pytest.fail(f"{SUNRAY} missing: run ./bootstrap (the remote program)")
    with ssh_fleet(tmp_path_factory.mktemp("fleet"), [f"127.0.0.{i}" for i in (1, 2, 3)],
                   [healthy_server, broken_server, healthy_server]) as lab:
        lab["down"] = f"root@127.0.0.1:{free_port()}"
        yield lab


def inventory(lab, *extra):
    lines = ["groups:", "  lab:"]
    for h, root in zip(lab["hosts"], lab["roots"]):
        lines += [f"    - host: {h.spec}", f"      root: {root}"]
    lines += [f"    - {e}" for e in extra]
    path = lab["dir"] / "inventory.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.system
def test_fleet_doctor_over_ssh(lab):
    inv = inventory(lab, lab["down"])
    proc = run_sunray("-f", lab["config"], "fleet", "--inventory", inv, "--group", "lab",
                      "--format", "json")
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    by_host = {h["host"]: h for h in data["hosts"]}
    h1, h2, h3 = (by_host[h.spec] for h in lab["hosts"])
    assert h1["status"] == "ok" and h1["exit_code"] == 0
    assert h1["result"]["root"] == str(lab["roots"][0])
    assert h1["result"]["summary"]["fail"] == 0
    assert h2["status"] == "failed" and h2["exit_code"] == 1
    assert {c["id"] for c in h2["result"]["checks"] if c["status"] == "fail"} >= {
        "tmp-nodev", "boot-hook", "kernel-hooks"}
    assert h3["status"] == "ok"
    down = by_host[lab["down"]]
    assert down["status"] == "unreachable" and down["exit_code"] is None
    assert data["failed"] == [lab["hosts"][1].spec, lab["down"]]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("sunray: 2 of 4 host(s) failed") and "Traceback" not in proc.stderr


@pytest.mark.system
def test_fleet_reads_an_ansible_ini_inventory(lab):
    h1 = lab["hosts"][0]
    ini = lab["dir"] / "hosts.ini"
    ini.write_text(f"[srss]\nsr1 ansible_host={h1.address} ansible_port={h1.port}\n"
                   "[srss:vars]\nansible_user=root\n")
    proc = run_sunray("-f", lab["config"], "fleet", "--inventory", ini, "--group", "srss",
                      "--root", lab["roots"][0], "--format", "json")
    assert proc.returncode == 0, proc.stderr
    (host,) = json.loads(proc.stdout)["hosts"]
    assert host["host"] == h1.spec and host["status"] == "ok"


@pytest.mark.system
def test_fleet_text_table_and_all_healthy_exit_0(lab):
    h1, _, h3 = lab["hosts"]
    hosts_file = lab["dir"] / "hosts"
    hosts_file.write_text(f"# healthy ones\n{h1.spec}\n")
    proc = run_sunray("-f", lab["config"], "fleet", "--hosts", h3.spec,
                      "--hosts-file", hosts_file, "--root", lab["roots"][0])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["HOST", "STATUS", "EXIT", "TIME", "SUMMARY"]
    assert lines[1].startswith(h3.spec) and "OK" in lines[1] and "8 ok, 1 warn, 0 fail" in lines[1]
    assert lines[2].startswith(h1.spec)
    assert lines[-1].startswith("fleet doctor: 2 host(s), 2 ok, 0 failed")


@pytest.mark.system
def test_fleet_parallel_1_runs_one_host_after_another(lab):
    inv = inventory(lab)
    proc = run_sunray("-f", lab["config"], "fleet", "--inventory", inv, "--parallel", "1",
                      "--format", "json")
    data = json.loads(proc.stdout)
    assert data["parallel"] == 1
    assert data["seconds"] >= 0.95 * sum(h["seconds"] for h in data["hosts"])


@pytest.mark.system
def test_fleet_host_key_and_auth_failures(lab):
    h1, h2, _ = lab["hosts"]
    # a known_hosts without h2's key: refused, never trusted silently
    partial = lab["dir"] / "known_partial"
    partial.write_text(h1.known_hosts_line())
    other_key = keygen(lab["dir"] / "other_key")
    cfg = fleet_config(lab["dir"] / "partial.yaml", lab["key"], partial)
    data = json.loads(run_sunray("-f", cfg, "fleet", "--hosts", f"{h1.spec},{h2.spec}",
                                 "--root", lab["roots"][0], "--format", "json").stdout)
    assert [h["status"] for h in data["hosts"]] == ["ok", "host-key"]
    assert "unknown host key" in data["hosts"][1]["summary"]
    # a changed host key is named as such
    wrong = lab["dir"] / "known_wrong"
    wrong.write_text(h1.known_hosts_line().replace(h1.spec.split("@")[1].split(":")[1],
                                                   str(h2.port)).replace("127.0.0.1", "127.0.0.2"))
    cfg = fleet_config(lab["dir"] / "wrong.yaml", lab["key"], wrong)
    data = json.loads(run_sunray("-f", cfg, "fleet", "--hosts", h2.spec, "--format", "json").stdout)
    assert data["hosts"][0]["status"] == "host-key" and "CHANGED" in data["hosts"][0]["summary"]
    # a key the server does not accept
    cfg = fleet_config(lab["dir"] / "auth.yaml", other_key, lab["known"])
    proc = run_sunray("-f", cfg, "fleet", "--hosts", h1.spec, "--format", "json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["hosts"][0]["status"] == "auth-failed"


@pytest.mark.system
def test_fleet_remote_errors(lab):
    h1 = lab["hosts"][0]
    # the remote sunray refuses a root that does not exist: exit 2 on the host
    data = json.loads(run_sunray("-f", lab["config"], "fleet", "--hosts", h1.spec,
                                 "--root", "/nonexistent/sunray-root", "--format", "json").stdout)
    host = data["hosts"][0]
    assert host["status"] == "usage-error" and host["exit_code"] == 2
    assert "does not exist" in host["summary"]
    # a program that prints something other than a JSON report
    cfg = fleet_config(lab["dir"] / "echo.yaml", lab["key"], lab["known"], program="/bin/echo")
    data = json.loads(run_sunray("-f", cfg, "fleet", "--hosts", h1.spec, "--format", "json").stdout)
    assert data["hosts"][0]["status"] == "bad-output"
    # a program that is not there
    cfg = fleet_config(lab["dir"] / "none.yaml", lab["key"], lab["known"],
                       program="/nonexistent/bin/sunray")
    data = json.loads(run_sunray("-f", cfg, "fleet", "--hosts", h1.spec, "--format", "json").stdout)
    assert data["hosts"][0]["status"] == "error" and data["hosts"][0]["exit_code"] == 127


@pytest.mark.system
def test_fleet_unknown_host_accepted_only_when_not_strict(lab):
    h1 = lab["hosts"][0]
    empty = lab["dir"] / "known_empty"
    empty.write_text("")
    cfg = fleet_config(lab["dir"] / "lax.yaml", lab["key"], empty, strict_host_keys=False)
    proc = run_sunray("-f", cfg, "fleet", "--hosts", h1.spec, "--root", lab["roots"][0],
                      "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["hosts"][0]["status"] == "ok"
    assert "strict_host_keys is off" in proc.stderr
    assert empty.read_text() == ""  # nothing written into the admin's known_hosts


@pytest.mark.workstation
@pytest.mark.parametrize("hidden", ["fabric", "paramiko"])
def test_without_fabric_fleet_names_the_extra(tmp_path, hidden):
    """Before: "internal error: ... No module named 'paramiko'". Fabric (or
    paramiko) hidden by a module that fails to import, as where it is not
    installed (tests/test_plain_install.py runs a real plain install)."""
    shim = tmp_path / "shim" / hidden
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
    proc = run_sunray("fleet", "--hosts", "h", "--task", "doctor", env={"PYTHONPATH": str(shim.parent)})
    assert_clean_error(proc, 2, "sunray: fleet needs Fabric: pip install 'sunray-toolkit[fleet]'")
    assert len(proc.stderr.splitlines()) == 1
