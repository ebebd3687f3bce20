"""The Ansible collection sunray.server, for real: built with ansible-galaxy,
installed from its tarball, run by ansible-playbook (ansible-core 2.16 from
PyPI and Debian's 2.14) over OpenSSH against sshd on loopback, the targets'
interpreters Python 3.6 and 3.11 with no sunray installed (the action
plugin sends the bundle), each on sandbox server trees via ``root``.

One playbook run per controller does every step on both hosts (forks: 2);
the tests read its json-callback output. ansible-test sanity (the tests
that need no container) and ansible-lint run on the installed collection.
"""

import difflib
import json
import shutil
import subprocess

import pytest
from ansible_support import (
    CONTROLLERS,
    PYTHON36,
    PYTHON311,
    VENV,
    ansible_env,
    build_and_install,
    ini_inventory,
    playbook,
    results,
)
from conftest import IN_CI, REPO, need, need_root
from fleet_support import SUNRAY, broken_server, ssh_fleet
from support import demo_server_tree

import sunray

pytestmark = [pytest.mark.system, pytest.mark.workstation]

COLLECTION = REPO / "packaging/ansible/ansible_collections/sunray/server"

# A tree's state as JSON: {path: [kind, mode, sha256 or link target]}.
SNAPSHOT = r"""
import hashlib, json, os, stat, sys
top = sys.argv[1]; out = {}
for d, dirs, files in os.walk(top):
    for n in dirs + files:
        p = os.path.join(d, n); st = os.lstat(p); rel = os.path.relpath(p, top)
        if stat.S_ISLNK(st.st_mode): what = ["link", os.readlink(p)]
        elif stat.S_ISREG(st.st_mode): what = ["file", hashlib.sha256(open(p, "rb").read()).hexdigest()]
        else: what = ["dir", ""]
        out[rel] = what + [st.st_mode]
print(json.dumps(out))
"""

PLAYBOOK = """
- hosts: srss
  gather_facts: false
  tasks:
    - name: snapshot before
      ansible.builtin.command:
        argv: ["{{ ansible_python_interpreter }}", "-c", "{{ snapshot }}", "{{ srv_root }}"]
      check_mode: false
      changed_when: false
    - name: check
      sunray.server.task: {name: apply, root: "{{ srv_root }}", pyz_dir: "{{ pyz_dir }}"}
      check_mode: true
      diff: true
    - name: kept after check
      ansible.builtin.stat: {path: "{{ pyz_dir }}/sunray.pyz"}
    - name: snapshot after check
      ansible.builtin.command:
        argv: ["{{ ansible_python_interpreter }}", "-c", "{{ snapshot }}", "{{ srv_root }}"]
      check_mode: false
      changed_when: false
    - name: first
      sunray.server.task: {name: apply, root: "{{ srv_root }}", pyz_dir: "{{ pyz_dir }}"}
      diff: true
    - name: second
      sunray.server.task: {name: apply, root: "{{ srv_root }}", pyz_dir: "{{ pyz_dir }}"}
    - name: doctor
      sunray.server.doctor: {root: "{{ srv_root }}", pyz_dir: "{{ pyz_dir }}", fail_on: warn}
      ignore_errors: true
    - name: revert
      sunray.server.task:
        name: apply
        revert: true
        root: "{{ srv_root }}"
        pyz_dir: "{{ pyz_dir }}"
    - name: snapshot after revert
      ansible.builtin.command:
        argv: ["{{ ansible_python_interpreter }}", "-c", "{{ snapshot }}", "{{ srv_root }}"]
      check_mode: false
      changed_when: false
    - name: installed doctor
      sunray.server.doctor:
        root: "{{ srv_root }}"
        use_installed: true
        program: "{{ installed }}"
        fail_on: never
    - name: role
      ansible.builtin.include_role:
        name: sunray.server.srss
      vars:
        srss_root: "{{ role_root }}"
        srss_pyz_dir: "{{ pyz_dir }}"
        srss_settings: {tmp: {protect: [/tmp/SUNWut, /tmp/.esd, /tmp/site]}}
    - name: failing
      sunray.server.task:
        name: patch-tmpwatch
        root: "{{ broken_root }}"
        pyz_dir: "{{ pyz_dir }}"
        settings: {tmp: {protect: [/tmp/SUNWut]}}
    - name: never reached
      ansible.builtin.command: "true"
"""


def demo_tree(top):
    """The demo's CentOS 6 shaped server tree, without kernels: apply has no
    module to build."""
    return demo_server_tree(top)


def need_ansible():
    need_root()
    need("ssh-keygen", "ansible-playbook")
    for python in (VENV / "ansible-playbook", PYTHON36, PYTHON311):
        if not python.exists():
            message = f"needs {python} (./bootstrap test makes it)"
            if IN_CI:
                pytest.fail(message)
            pytest.skip(message)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    need_ansible()
    work = tmp_path_factory.mktemp("collection")
    pyz, tarball, collections = build_and_install(work)
    return {"work": work, "pyz": pyz, "tarball": tarball, "collections": collections}


@pytest.fixture(scope="module")
def lab(tmp_path_factory, built):
    with ssh_fleet(tmp_path_factory.mktemp("ansible-lab"), ["127.0.0.1", "127.0.0.2"],
                   [demo_tree, demo_tree]) as lab:
        yield lab


@pytest.fixture(scope="module", params=sorted(CONTROLLERS))
def run(request, built, lab):
    """One playbook run of every step on both hosts, by one ansible-core."""
    controller = request.param
    work = lab["dir"] / f"run-{controller}"
    work.mkdir()
    hosts, trees = [], {}
    for n, (name, python) in enumerate((("py36", PYTHON36), ("py311", PYTHON311))):
        root, role_root = demo_tree(work / f"{name}-root"), demo_tree(work / f"{name}-role")
        broken = broken_server(work / f"{name}-broken")
        trees[name] = {"root": root, "role": role_root, "broken": broken,
                       "broken_bytes": (broken / "etc/cron.daily/tmpwatch").read_bytes(),
                       "pyz_dir": work / f"{name}-kept"}
        hosts.append((name, lab["hosts"][n], python, {
            "srv_root": root, "role_root": role_root, "broken_root": broken,
            "pyz_dir": trees[name]["pyz_dir"], "installed": SUNRAY}))
    inventory = ini_inventory(work / "hosts.ini", lab, hosts)
    book = work / "site.yml"
    book.write_text(PLAYBOOK)
    proc, data = playbook(controller, work, built["collections"], inventory, book,
                          "-e", json.dumps({"snapshot": SNAPSHOT}))
    assert data is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {"controller": controller, "proc": proc, "data": data, "results": results(data),
            "trees": trees}


def _by_host(run, task):
    return run["results"][task]


def test_collection_metadata_matches_sunray():
    galaxy = (COLLECTION / "galaxy.yml").read_text()
    assert f"\nversion: {sunray.__version__}\n" in galaxy
    assert (COLLECTION / "meta/runtime.yml").read_text().count('requires_ansible: ">=2.14.0"') == 1


def test_the_tarball_carries_the_pyz(built):
    import tarfile

    with tarfile.open(built["tarball"]) as tar:
        pyz = tar.extractfile("files/sunray.pyz").read()
        manifest = json.loads(tar.extractfile("MANIFEST.json").read())
    assert pyz == built["pyz"].read_bytes()
    assert manifest["collection_info"]["version"] == sunray.__version__
    installed = built["collections"] / "ansible_collections/sunray/server/files/sunray.pyz"
    assert installed.read_bytes() == pyz


def test_check_mode_changes_nothing_and_shows_the_diff(run):
    for host in ("py36", "py311"):
        check = _by_host(run, "check")[host]
        assert check["changed"] is True and not check.get("failed"), check
        assert check["report"]["dry_run"] is True and check["pyz_transferred"] is True
        assert _by_host(run, "snapshot before")[host]["stdout"] == \
            _by_host(run, "snapshot after check")[host]["stdout"]
        assert _by_host(run, "kept after check")[host]["stat"]["exists"] is False
        by_file = {d.get("after_header"): d for d in check["diff"]}
        tmpwatch = by_file["/etc/cron.daily/tmpwatch"]
        original = (REPO / "sunray/demo_fixtures/server/etc/cron.daily/tmpwatch").read_text()
        assert tmpwatch["before"] == original
        assert "-x /tmp/SUNWut -x /tmp/.esd" in tmpwatch["after"]
        assert "-x /tmp/SUNWut" not in tmpwatch["before"]
        created = by_file["/etc/rc.d/init.d/sunray-boot"]
        assert created["before"] == "" and created["after"].startswith("#!")


def test_first_run_changes_second_does_not_and_sends_nothing(run):
    for host in ("py36", "py311"):
        first, second = _by_host(run, "first")[host], _by_host(run, "second")[host]
        assert first["changed"] is True and first["rc"] == 0, first
        assert first["pyz_transferred"] is True
        assert second["changed"] is False and second["pyz_transferred"] is False, second
        assert [s["step"] for s in first["report"]["steps"]][0] == "patch-tmpwatch"
        # the real run's diff (rebuilt backwards from the file) is the check's
        diff = {d.get("after_header"): d for d in first["diff"]}["/etc/cron.daily/tmpwatch"]
        planned = {d.get("after_header"): d for d in _by_host(run, "check")[host]["diff"]}
        assert diff == planned["/etc/cron.daily/tmpwatch"]
        kept = run["trees"][host]["pyz_dir"] / "sunray.pyz"
        assert kept.stat().st_mode & 0o777 == 0o755


def test_revert_restores_the_original_bytes(run):
    for host in ("py36", "py311"):
        revert = _by_host(run, "revert")[host]
        assert revert["changed"] is True and revert["rc"] == 0, revert
        before = json.loads(_by_host(run, "snapshot before")[host]["stdout"])
        after = json.loads(_by_host(run, "snapshot after revert")[host]["stdout"])
        keep = lambda snap: {k: v for k, v in snap.items()  # noqa: E731
                             if not k.startswith(("var/lib/sunray", "var/log/sunray"))}
        assert keep(after) == keep(before), set(keep(after).items()) ^ set(keep(before).items())


def test_doctor_returns_the_checks(run):
    for host in ("py36", "py311"):
        doctor = _by_host(run, "doctor")[host]
        assert doctor["changed"] is False
        names = {c["name"]: c for c in doctor["checks"]}
        assert names["tmp-cleaner-tmpwatch"]["status"] == "ok"
        assert set(doctor["counts"]) == {"ok", "warn", "fail", "skip"}
        assert sum(doctor["counts"].values()) == len(doctor["checks"])
        # fail_on: warn fails the task exactly when a check warns or fails
        flagged = doctor["counts"]["warn"] + doctor["counts"]["fail"]
        assert bool(doctor.get("failed")) == bool(flagged)
        installed = _by_host(run, "installed doctor")[host]
        assert not installed.get("failed") and "pyz_transferred" not in installed
        # after the revert, the installed sunray sees the tmpwatch job unprotected again
        by_name = {c["name"]: c["status"] for c in installed["checks"]}
        assert by_name["tmp-cleaner-tmpwatch"] == "fail"
        assert "sunray patch-tmpwatch" in {c["name"]: c for c in installed["checks"]}[
            "tmp-cleaner-tmpwatch"]["fix"]


def test_the_role_applies_then_checks(run):
    for host in ("py36", "py311"):
        tmpwatch = (run["trees"][host]["role"] / "etc/cron.daily/tmpwatch").read_text()
        assert "-x /tmp/site" in tmpwatch and "-x /tmp/SUNWut" in tmpwatch
        assert (run["trees"][host]["role"] / "etc/rc.d/init.d/sunray-boot").is_file()
        applied = run["results"]["sunray.server.srss : Apply every sunray fix"][host]
        checked = run["results"]["sunray.server.srss : Check the server with the doctor"][host]
        assert applied["changed"] is True and not applied.get("failed"), applied
        assert checked["counts"]["fail"] == 0 and not checked.get("failed"), checked


def test_a_failing_task_fails_the_play_with_its_message(run):
    proc = run["proc"]
    assert proc.returncode == 2, proc.stderr[-2000:]
    for host in ("py36", "py311"):
        failing = _by_host(run, "failing")[host]
        assert failing["failed"] is True and failing["rc"] == 2  # sunray: "cannot do this"
        assert failing["msg"].startswith("sunray: /etc/cron.daily/tmpwatch: no tmpwatch call found")
        assert (run["trees"][host]["broken"] / "etc/cron.daily/tmpwatch").read_bytes() == \
            run["trees"][host]["broken_bytes"]
        assert run["data"]["stats"][host]["failures"] == 1
    assert "never reached" not in run["results"]


def test_diff_of_a_modified_file_is_rebuilt_both_ways():
    """The module's diff rebuilding (runner.py) on difflib's output."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(
        "runner", COLLECTION / "plugins/module_utils/runner.py")
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    old = "".join(f"line {i}\n" for i in range(40))
    new = old.replace("line 3\n", "line 3\nadded\n").replace("line 30\n", "") + "end"
    diff = "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), "a/x", "b/x"))
    diff = diff.replace("+end", "+end\n\\ No newline at end of file")
    _, _, hunks = runner._parse(diff)
    assert runner._apply(old, hunks) == new
    assert runner._apply(new, hunks, reverse=True) == old
    assert runner._apply("something else\n", hunks) is None
    assert sys.version_info >= (3, 6)


# --- sanity and lint -----------------------------------------------------------------


def _sanity_tree(built, tmp_path):
    """A copy of the installed collection at .../ansible_collections/sunray/server."""
    tree = tmp_path / "ansible_collections/sunray/server"
    shutil.copytree(built["collections"] / "ansible_collections/sunray/server", tree)
    return tree


def _ansible_test_home():
    """HOME for ansible-test: its sanity venvs are cached in build/ (not in
    root's home), with the stand-in for get-pip.py (see ansible_get_pip.py)."""
    home = REPO / "build" / "ansible-test-home"
    cache = home / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    for version in ("23_1_2", "21_3_1"):  # ansible-core 2.16's pins (3.7+, 3.6)
        shutil.copyfile(REPO / "tests" / "ansible_get_pip.py", cache / f"get_pip_{version}.py")
    return home


def test_ansible_test_sanity(built, tmp_path):
    tree = _sanity_tree(built, tmp_path)
    env = ansible_env(tmp_path, HOME=str(_ansible_test_home()))
    env["PATH"] = f"{PYTHON36.parent}:{VENV}:{env['PATH']}"
    for args in (["--test", "validate-modules", "--python", "3.11"],
                 ["--test", "compile", "--python", "3.6"],
                 ["--test", "compile", "--python", "3.11"],
                 ["--test", "yamllint", "--test", "pep8", "--test", "ansible-doc",
                  "--python", "3.11"]):
        proc = subprocess.run([str(VENV / "ansible-test"), "sanity", "--color", "no", *args],
                              capture_output=True, text=True, cwd=str(tree), env=env, timeout=600)
        assert proc.returncode == 0, (args, proc.stdout[-3000:], proc.stderr[-3000:])


def test_ansible_lint_on_the_role(built, tmp_path):
    tree = _sanity_tree(built, tmp_path)
    env = ansible_env(tmp_path, tmp_path, HOME=str(tmp_path))  # its caches too
    env["PATH"] = f"{VENV}:{env['PATH']}"
    proc = subprocess.run([str(VENV / "ansible-lint"), "--offline", "--nocolor", "roles/srss"],
                          capture_output=True, text=True, cwd=str(tree), env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
