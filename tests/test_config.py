"""Settings: the sunray: section from files and environment variables, its
validation, and one-line errors for broken configuration.

Everything runs the real program (`run_sunray`) with real config files and
environment variables. HOME points into tmp_path in every run, so neither the
host's ~/.invoke.yaml nor ours leaks between tests.
"""

import math
import os
import re
import subprocess

import pytest
from cli_support import esd_dir_dry, sunray
from conftest import PYTHON, REPO, assert_clean_error, run_sunray, tree_snapshot

from sunray.config import as_bool, defaults, validate
from sunray.errors import UsageError

# --- environment variables ----------------------------------------------------------


@pytest.mark.parametrize("variable, value, task, needle", [
    ("INVOKE_SUNRAY_TMP_PROTECT", "/x", "patch-tmpwatch", "INVOKE_SUNRAY_TMP_PROTECT"),
    ("INVOKE_SUNRAY_MODULES_JOBS", "abc", "rebuild-modules", "sunray.modules.jobs: 'abc'"),
    ("INVOKE_SUNRAY_MODULES_JOBS", "-2", "rebuild-modules", "sunray.modules.jobs: '-2'"),
    ("INVOKE_SUNRAY_BOOT_TIMEOUT", "abc", "install-boot-hook", "sunray.boot.timeout"),
    ("INVOKE_SUNRAY_MODULES_HOOK_STRICT", "maybe", "install-kernel-hooks",
     "sunray.modules.hook_strict: 'maybe'"),
    ("INVOKE_SUNRAY_FLEET_SUDO", "", "esd-dir", "sunray.fleet.sudo: ''"),
])
def test_bad_environment_variable_exits_2_in_one_line(home, sandbox, variable, value, task,
                                                       needle):
    before = tree_snapshot(sandbox)
    proc = sunray(home, task, "--root", sandbox, "--dry-run", env={variable: value})
    assert_clean_error(proc, 2, "sunray: config: ", needle)
    assert "internal error" not in proc.stderr
    assert tree_snapshot(sandbox) == before


def installed_strictness(home, sandbox, env=None, *core):
    """STRICT=0/1 as install-kernel-hooks would write it into the hooks."""
    env = {"INVOKE_SUNRAY_PROGRAM": "/usr/bin/sunray", **(env or {})}
    proc = sunray(home, *core, "install-kernel-hooks", "--root", sandbox, "--dry-run", env=env)
    assert proc.returncode == 0, proc.stderr
    values = set(re.findall(r"^\+STRICT=(\d)$", proc.stdout, re.M))
    assert len(values) == 1, proc.stdout
    return values.pop()


@pytest.mark.parametrize("word, strict", [
    ("false", "0"), ("FALSE", "0"), ("no", "0"), ("off", "0"), ("0", "0"),
    ("true", "1"), ("Yes", "1"), ("on", "1"), ("1", "1"),
])
def test_hook_strict_words_from_the_environment(home, sandbox, word, strict):
    # Invoke's own cast made every value but "0" and "" true: "false" meant strict.
    env = {"INVOKE_SUNRAY_MODULES_HOOK_STRICT": word}
    assert installed_strictness(home, sandbox, env) == strict


@pytest.mark.parametrize("yaml_value, strict", [
    ('"no"', "0"), ("no", "0"), ("false", "0"), ('"on"', "1"), ("true", "1"),
])
def test_hook_strict_words_from_a_config_file(home, sandbox, tmp_path, yaml_value, strict):
    config = tmp_path / "site.yaml"
    config.write_text(f"sunray:\n  modules:\n    hook_strict: {yaml_value}\n")
    assert installed_strictness(home, sandbox, None, "-f", config) == strict
    assert installed_strictness(home, sandbox) == "0"  # the default


def test_numbers_from_the_environment_reach_the_task(home, sandbox):
    proc = sunray(home, "install-boot-hook", "--root", sandbox, "--init", "systemd",
                  "--dry-run", env={"INVOKE_SUNRAY_BOOT_TIMEOUT": "77",
                                    "INVOKE_SUNRAY_PROGRAM": "/usr/bin/sunray"})
    assert proc.returncode == 0, proc.stderr
    assert "77" in proc.stdout


# --- config files -------------------------------------------------------------------


BAD_FILES = [
    ("sunray: {tmp: 5}", "sunray.tmp: 5 where a section"),
    ("sunray: {modules: {sign: x}}", "sunray.modules.sign: 'x' where a section"),
    ("sunray: [1, 2]", "sunray: [1, 2] where a section"),
    ("sunray: 5", "sunray: 5 where a section"),
    ("sunray: {root: {a: 1}}", "sunray.root: a section where a single value"),
    ("run: 5", "run: 5 where a section"),
    ("- a\n- b", "expected a mapping of settings"),
    ("sunray: {tmp: [", "line 2, column 1"),
    ("sunray:\n\ttmp: 1", "line 2, column 1: found character '\\t'"),
    ("sunray: {state_dir: 7}", "sunray.state_dir: 7 is not a string"),
    ("sunray: {log_dir: 5}", "sunray.log_dir: 5 is not a string"),
    ("sunray: {modules: {modules: 5}}", "sunray.modules.modules: 5 is not a string or a list"),
    ("sunray: {modules: {modules: [utio, 5]}}", "sunray.modules.modules"),
    ("sunray: {doctor: {watched_files: [5]}}", "sunray.doctor.watched_files: [5]"),
    ("sunray: {tmp: {protect: /tmp/x}}", "sunray.tmp.protect: '/tmp/x' is not a list"),
    ("sunray: {boot: {timeout: true}}", "sunray.boot.timeout: True is not a finite number"),
    ("sunray: {boot: {timeout: -5}}", "sunray.boot.timeout: -5"),
    ("sunray: {modules: {lock_timeout: .nan}}", "sunray.modules.lock_timeout: nan"),
    ("sunray: {modules: {lock_timeout: .inf}}", "sunray.modules.lock_timeout: inf"),
    ("sunray: {modules: {jobs: 2.5}}", "sunray.modules.jobs: 2.5"),
    ("sunray: {modules: {hook_strict: maybe}}", "sunray.modules.hook_strict: 'maybe'"),
    ("sunray: {modules: {hook_strict: 2}}", "sunray.modules.hook_strict: 2"),
    ("sunray: {modules: {patches: [x]}}", "sunray.modules.patches: ['x'] is not a list of"),
    ("sunray: {fleet: {user: 5}}", "sunray.fleet.user: 5 is not a string or null"),
    ("sunray: {savings: {defaults: 5}}", "sunray.savings.defaults: 5 where a section"),
    ("sunray: {modules: {jobz: 4}}", "sunray.modules.jobz: unknown setting (did you mean 'jobs'?)"),
    ("sunray: {tmpp: {protect: []}}", "sunray.tmpp: unknown setting (did you mean 'tmp'?)"),
    ("sunray: {zzz: 1}", "sunray.zzz: unknown setting (known: root, "),
]


@pytest.mark.parametrize("content, needle", BAD_FILES, ids=[c for c, _ in BAD_FILES])
def test_bad_config_file_exits_2_naming_file_or_key(home, sandbox, tmp_path, content, needle):
    before = tree_snapshot(sandbox)
    config = tmp_path / "site.yaml"
    config.write_text(content + "\n")
    proc = esd_dir_dry(home, sandbox, "-f", config)
    assert_clean_error(proc, 2, "sunray: config: ", needle)
    assert "internal error" not in proc.stderr
    if "sunray." not in needle:  # no key: the message names the file
        assert str(config) in proc.stderr
    # The same in ~/.invoke.yaml, which Invoke reads before parsing the command line.
    (home / ".invoke.yaml").write_text(content + "\n")
    proc = esd_dir_dry(home, sandbox)
    assert_clean_error(proc, 2, "sunray: config: ", needle)
    assert tree_snapshot(sandbox) == before


def test_good_config_file_reaches_the_task(home, sandbox, tmp_path):
    config = tmp_path / "site.yaml"
    config.write_text("sunray:\n  esd: {dir: /tmp/.esd-site}\n  fleet: {user: null}\n"
                      "  savings: {defaults: {currency: EUR}}\n")
    proc = esd_dir_dry(home, sandbox, "-f", config)
    assert proc.returncode == 0, proc.stderr
    assert "/tmp/.esd-site" in proc.stdout


def test_missing_config_file_exits_2_naming_it(home, sandbox, tmp_path):
    before = tree_snapshot(sandbox)
    missing = tmp_path / "nonexistent.yaml"
    assert_clean_error(esd_dir_dry(home, sandbox, "-f", missing), 2, str(missing), "no such file")
    assert_clean_error(esd_dir_dry(home, sandbox, "--config", tmp_path), 2, str(tmp_path),
                       "not a file")
    assert_clean_error(esd_dir_dry(home, sandbox, env={"INVOKE_RUNTIME_CONFIG": str(missing)}),
                       2, str(missing))
    unknown = tmp_path / "site.toml"
    unknown.write_text("x = 1\n")
    assert_clean_error(esd_dir_dry(home, sandbox, "-f", unknown), 2, "toml")
    assert tree_snapshot(sandbox) == before


def test_precedence_user_file_env_runtime_file(home, sandbox, tmp_path):
    (home / ".invoke.yaml").write_text("sunray: {esd: {dir: /tmp/.from-home}}\n")
    assert "/tmp/.from-home" in esd_dir_dry(home, sandbox).stdout
    env = {"INVOKE_SUNRAY_ESD_DIR": "/tmp/.from-env"}
    assert "/tmp/.from-env" in esd_dir_dry(home, sandbox, env=env).stdout
    config = tmp_path / "site.yaml"
    config.write_text("sunray: {esd: {dir: /tmp/.from-f}}\n")
    assert "/tmp/.from-f" in esd_dir_dry(home, sandbox, "-f", config, env=env).stdout


def test_sunray_does_not_read_invoke_yaml_in_the_current_directory(home, sandbox, tmp_path):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    (cwd / "invoke.yaml").write_text("sunray: {esd: {dir: /tmp/.from-cwd}}\n")
    proc = esd_dir_dry(home, sandbox, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert "/tmp/.from-cwd" not in proc.stdout and "/tmp/.esd" in proc.stdout


def test_invoke_in_a_checkout_reads_invoke_yaml_beside_tasks_py(home, sandbox, tmp_path):
    """README's claim: `invoke` reads the project's invoke.yaml, found beside
    tasks.py, from a subdirectory too. A stand-in checkout: tasks.py linked in."""
    checkout = tmp_path / "checkout"
    (checkout / "sub").mkdir(parents=True)
    (checkout / "tasks.py").symlink_to(REPO / "tasks.py")
    (checkout / "invoke.yaml").write_text("sunray: {esd: {dir: /tmp/.from-project}}\n")
    invoke = os.path.join(os.path.dirname(PYTHON), "invoke")
    proc = subprocess.run([invoke, "esd-dir", "--root", str(sandbox), "--dry-run"],
                          cwd=checkout / "sub", capture_output=True, text=True,
                          env=dict(os.environ, HOME=str(home)), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "/tmp/.from-project" in proc.stdout


# --- the validator itself ---------------------------------------------------------------


def test_validator_normalises_words_and_digits():
    data = defaults()
    data["modules"].update(hook_strict="Off", jobs="4", modules=["utio"])
    data["modules"]["lock_timeout"] = 0.5
    data["fleet"].update(use_agent="yes", user=None, identity="/root/.ssh/id")
    checked = validate(data)
    assert checked["modules"]["hook_strict"] is False
    assert checked["modules"]["jobs"] == 4
    assert checked["modules"]["lock_timeout"] == 0.5
    assert checked["fleet"]["use_agent"] is True
    assert validate(defaults()) == defaults()


@pytest.mark.parametrize("value", [True, math.nan, math.inf, -1, "1e3x", 2.5, [1]])
def test_validator_refuses_bad_numbers(value):
    data = defaults()
    data["modules"]["jobs"] = value
    with pytest.raises(UsageError, match=r"sunray\.modules\.jobs: .* is not a whole number"):
        validate(data)


@pytest.mark.parametrize("value", [True, math.nan, -1, "soon"])
def test_validator_refuses_bad_seconds(value):
    data = defaults()
    data["boot"]["timeout"] = value
    with pytest.raises(UsageError, match=r"sunray\.boot\.timeout: .* is not a finite number"):
        validate(data)


def test_validator_takes_yaml_forms_the_code_understands():
    """YAML reads `yes` as a bool and `2.0` as a number; null means the default;
    a single unit name is a list of one; seconds may have fractions."""
    data = defaults()
    data["esound"].update(nodeps=True, output=None)
    data["modules"].update(dkms_version=2.0, running_kernel=None, jobs=4.0)
    data["boot"].update(before="utsvc.service", timeout=600.0)
    data["fleet"].update(connect_timeout=2.5, known_hosts=None)
    checked = validate(data)
    assert checked["esound"]["nodeps"] == "yes" and checked["esound"]["output"] == "./dist"
    assert checked["modules"]["dkms_version"] == "2.0" and checked["modules"]["jobs"] == 4
    assert checked["modules"]["running_kernel"] == ""
    assert checked["boot"]["before"] == ["utsvc.service"] and checked["boot"]["timeout"] == 600
    assert checked["fleet"]["connect_timeout"] == 2.5
    assert checked["fleet"]["known_hosts"] == "~/.ssh/known_hosts"


def test_as_bool():
    assert as_bool("ON") is True and as_bool(0) is False and as_bool(False) is False
    for bad in ("", "nope", 2, None, 1.0):
        with pytest.raises(UsageError, match="x.y"):
            as_bool(bad, "x.y")


def test_config_from_environment_reaches_tasks(sandbox):
    """INVOKE_SUNRAY_ROOT works like --root (Invoke's env config)."""
    proc = run_sunray("esd-dir", "--dry-run", "--format", "json",
                      env={"INVOKE_SUNRAY_ROOT": str(sandbox / "missing")})
    assert_clean_error(proc, 2, str(sandbox / "missing"))
