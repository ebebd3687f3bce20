"""Helpers for the Ansible collection tests and bench: build and install the
collection, write inventories, run ansible-playbook with nothing of the
machine's own Ansible or ssh setup (a private ANSIBLE_HOME, remote tmp,
control sockets, known_hosts and key).

Two controllers: ansible-core 2.16 from PyPI (.venv-ansible216, made by
./bootstrap: the last release that manages Python 3.6 targets) and Debian's
ansible-core 2.14 (/usr/bin).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from fleet_support import REPO

sys.path.insert(0, str(REPO / "packaging"))
import build_collection  # noqa: E402
import build_pyz  # noqa: E402

VENV = REPO / ".venv-ansible216" / "bin"
CONTROLLERS = {"2.16": VENV, "2.14": Path("/usr/bin")}
# Target interpreters: the server floor (a copy usable by any user) and a newer one.
PYTHON36 = REPO / ".python36" / "bin" / "python3.6"
PYTHON311 = Path("/root/.pyenv/versions/3.11.7/bin/python")


def build_and_install(workdir):
    """Build the pyz and the collection tarball under ``workdir``, install the
    tarball with ansible-galaxy; returns (pyz, tarball, collections path)."""
    workdir = Path(workdir)
    pyz = build_pyz.build(workdir / "dist", REPO / "build" / "pyz-downloads")
    tarball = build_collection.build(pyz, workdir / "dist", str(VENV / "ansible-galaxy"),
                                     staging=workdir / "staging")
    collections = workdir / "collections"
    proc = subprocess.run([str(VENV / "ansible-galaxy"), "collection", "install", "-p",
                           str(collections), str(tarball)], capture_output=True, text=True,
                          env=ansible_env(workdir))
    if proc.returncode != 0:
        raise RuntimeError(f"ansible-galaxy collection install failed: {proc.stdout}{proc.stderr}")
    return pyz, tarball, collections


def ansible_env(workdir, collections=None, **extra):
    """An environment for ansible-* that reads and writes only under ``workdir``."""
    workdir = Path(workdir)
    config = workdir / "ansible.cfg"
    if not config.exists():
        config.write_text("[defaults]\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update({
        "ANSIBLE_CONFIG": str(config),
        "ANSIBLE_HOME": str(workdir / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(workdir / "ansible-local"),
        "ANSIBLE_REMOTE_TEMP": str(workdir / "ansible-remote"),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(workdir / "cp"),
        "ANSIBLE_RETRY_FILES_ENABLED": "false",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
        "ANSIBLE_PYTHON_INTERPRETER": "auto_silent",
    })
    if collections:
        env["ANSIBLE_COLLECTIONS_PATH"] = str(collections)
    env.update(extra)
    return env


def ini_inventory(path, lab, hosts, group="srss"):
    """An INI inventory: ``hosts`` is a list of (name, SshHost, interpreter, host vars)."""
    lines = [f"[{group}]"]
    for name, host, python, hostvars in hosts:
        words = [name, f"ansible_host={host.address}", f"ansible_port={host.port}",
                 "ansible_user=root", f"ansible_python_interpreter={python}"]
        words += [f"{k}={v}" for k, v in hostvars.items()]
        lines.append(" ".join(words))
    lines += [f"[{group}:vars]", f"ansible_ssh_private_key_file={lab['key']}",
              "ansible_ssh_common_args='-F /dev/null -o UserKnownHostsFile="
              f"{lab['known']} -o StrictHostKeyChecking=yes'"]
    Path(path).write_text("\n".join(lines) + "\n")
    return Path(path)


# A callback that records every task's result per host into $RECORD_FILE
# as {"plays": [{"tasks": [{"task": {"name"}, "hosts": {HOST: result}}]}],
# "stats": {HOST: {...}}} (the shape of ansible.posix's json callback, which
# ansible-core alone does not have).
RECORDER = """
import json, os
from ansible.plugins.callback import CallbackBase

class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "record"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self.data = {"plays": [], "stats": {}}

    def v2_playbook_on_play_start(self, play):
        self.data["plays"].append({"play": {"name": play.get_name()}, "tasks": []})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.data["plays"][-1]["tasks"].append({"task": {"name": task.get_name()}, "hosts": {}})

    def _record(self, result, **extra):
        entry = dict(self._convert_result(result._result), **extra)
        self.data["plays"][-1]["tasks"][-1]["hosts"][result._host.get_name()] = entry

    def _convert_result(self, result):
        return json.loads(json.dumps(result, default=str))

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, failed=True)

    def v2_runner_on_skipped(self, result):
        self._record(result, skipped=True)

    def v2_runner_on_unreachable(self, result):
        self._record(result, unreachable=True)

    def v2_playbook_on_stats(self, stats):
        for host in sorted(stats.processed):
            self.data["stats"][host] = stats.summarize(host)
        with open(os.environ["RECORD_FILE"], "w") as f:
            json.dump(self.data, f)
"""


def playbook(controller, workdir, collections, inventory, book, *args, forks=8, timeout=900):
    """Run ``ansible-playbook`` of ``controller``, every result recorded;
    returns (CompletedProcess, the record or None)."""
    workdir = Path(workdir)
    plugins = workdir / "callback_plugins"
    plugins.mkdir(exist_ok=True)
    (plugins / "record.py").write_text(RECORDER)
    record = workdir / "record.json"
    if record.exists():
        record.unlink()
    env = ansible_env(workdir, collections, ANSIBLE_CALLBACK_PLUGINS=str(plugins),
                      ANSIBLE_CALLBACKS_ENABLED="record", RECORD_FILE=str(record),
                      ANSIBLE_FORKS=str(forks))
    proc = subprocess.run([str(CONTROLLERS[controller] / "ansible-playbook"), "-i", str(inventory),
                           str(book), *map(str, args)], capture_output=True, text=True, env=env,
                          cwd=str(workdir), timeout=timeout)
    try:
        data = json.loads(record.read_text())
    except (OSError, ValueError):
        data = None
    return proc, data


def results(data, play=0):
    """{task name: {host: result}} of one play of the json callback's output."""
    out = {}
    for task in data["plays"][play]["tasks"]:
        out.setdefault(task["task"]["name"], {}).update(task["hosts"])
    return out
