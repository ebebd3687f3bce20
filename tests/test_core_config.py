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

from sunray.core.config import as_bool, defaults, validate
from sunray.core.errors import UsageError

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
    ("sunray: {boot: {timeout: true}}", "sunray.boot.timeout: True is not a number from 1 to"),
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
    with pytest.raises(UsageError, match=r"sunray\.boot\.timeout: .* is not a number from 1 to 86400"):
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


# --- every bad input: one line, exit 2, nothing written ------------------------------


def alias_bomb(levels, width=10, use="sunray: {tmp: {protect: *a%d}}"):
    """A "billion laughs" document: each level lists the one before ``width`` times."""
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return ("\n".join(lines) + "\n" + use % levels + "\n").encode()


HUGE = "1" + "0" * 400
# (id, settings file bytes (None: none), its suffix, environment, task, needles);
# the needle "FILE": the line starts naming the settings file.
BAD_INPUTS = [
    ("newline in a value", b'sunray: {modules: {src: "/usr/a\\nb"}}', "yaml", {},
     ["rebuild-modules", "--dry-run"], ["/usr/a\\nb"]),
    ("escape sequence in a value", b'sunray: {modules: {src: "/usr/\\e[31mred"}}', "yaml", {},
     ["rebuild-modules", "--dry-run"], ["/usr/\\x1b[31mred"]),
    ("line separator in a value", 'sunray: {modules: {src: "/usr/a\u2028b"}}'.encode(), "yaml",
     {}, ["rebuild-modules", "--dry-run"], ["/usr/a\\u2028b"]),
    ("timeout 1e26", b"sunray: {boot: {timeout: 1e26}}", "yaml", {}, ["install-boot-hook"],
     ["sunray.boot.timeout: ", "from 1 to 86400"]),
    ("timeout 1.0e+26", b"sunray: {boot: {timeout: 1.0e+26}}", "yaml", {},
     ["install-boot-hook"], ["sunray.boot.timeout: 1e+26", "from 1 to 86400"]),
    ("timeout huge integer", f"sunray: {{boot: {{timeout: {HUGE}}}}}".encode(), "yaml", {},
     ["install-boot-hook"], ["sunray.boot.timeout: ", "from 1 to 86400"]),
    ("timeout 0", b"sunray: {boot: {timeout: 0}}", "yaml", {}, ["install-boot-hook"],
     ["sunray.boot.timeout: 0 ", "from 1 to 86400"]),
    ("timeout .nan", b"sunray: {boot: {timeout: .nan}}", "yaml", {}, ["install-boot-hook"],
     ["sunray.boot.timeout: nan"]),
    ("timeout -.inf", b"sunray: {boot: {timeout: -.inf}}", "yaml", {}, ["install-boot-hook"],
     ["sunray.boot.timeout: -inf"]),
    ("jobs huge", b"sunray: {modules: {jobs: 99999999999999999999}}", "yaml", {},
     ["rebuild-modules"], ["sunray.modules.jobs: 99999999999999999999 ", "from 0 to 256"]),
    ("jobs 257", b"sunray: {modules: {jobs: 257}}", "yaml", {}, ["rebuild-modules"],
     ["sunray.modules.jobs: 257 ", "from 0 to 256"]),
    ("lock_timeout a year", b"sunray: {modules: {lock_timeout: 31536000}}", "yaml", {},
     ["rebuild-modules"], ["sunray.modules.lock_timeout: 31536000 ", "from 0 to 86400"]),
    ("fleet.parallel 0", b"sunray: {fleet: {parallel: 0}}", "yaml", {}, ["esd-dir"],
     ["sunray.fleet.parallel: 0 ", "from 1 to 256"]),
    ("connect_timeout 0", b"sunray: {fleet: {connect_timeout: 0}}", "yaml", {}, ["esd-dir"],
     ["sunray.fleet.connect_timeout: 0 ", "from 1 to 3600"]),
    ("command_timeout 1e9", b"sunray: {fleet: {command_timeout: 1e9}}", "yaml", {},
     ["esd-dir"], ["sunray.fleet.command_timeout: ", "from 1 to 86400"]),
    ("alias bomb", alias_bomb(30), "yaml", {}, ["esd-dir"],
     ["FILE", "more than 100,000 values", "an alias bomb?"]),
    ("alias structure under the limit", alias_bomb(3), "yaml", {}, ["esd-dir"],
     ["sunray.tmp.protect: [[[", "...", "is not a list of strings"]),
    ("recursive alias", b"a: &a [*a]\nsunray: {tmp: {protect: *a}}", "yaml", {}, ["esd-dir"],
     ["FILE", "line 1, column 4: an alias that refers to itself"]),
    ("deep nesting", b"sunray: " + b"[" * 5000 + b"]" * 5000, "yaml", {}, ["esd-dir"],
     ["FILE", "nested too deeply"]),
    ("nested 250 deep", b"sunray: {tmp: {protect: " + b"[" * 250 + b"]" * 250 + b"}}", "yaml",
     {}, ["esd-dir"], ["FILE", "line 1, column 122: nested deeper than 100 levels"]),
    ("not UTF-8", b"sunray:\n  esd: {dir: /tmp/\xff}\n", "yaml", {}, ["esd-dir"],
     ["FILE", "not UTF-8 text (byte 0xff at offset 26, line 2)"]),
    ("a NUL character", b"sunray:\n  esd: {dir: /tmp/\x00}\n", "yaml", {}, ["esd-dir"],
     ["FILE", "line 2, column 19: character '\\x00' is not allowed in YAML"]),
    ("larger than 1 MiB", b"# " + b"x" * (1 << 20) + b"\n", "yaml", {}, ["esd-dir"],
     ["FILE", "larger than 1 MiB"]),
    ("an int key", b"sunray: {1: x}", "yaml", {}, ["esd-dir"],
     ["FILE", "line 1, column 10: key 1 is not a name"]),
    ("a bool key", b"sunray:\n  esd: {yes: x}", "yaml", {}, ["esd-dir"],
     ["FILE", "line 2, column 9: key yes is not a name"]),
    ("unknown key", b"sunray: {boot: {timout: 5}}", "yaml", {}, ["esd-dir"],
     ["sunray.boot.timout: unknown setting (did you mean 'timeout'?)"]),
    ("a long value", ('sunray: {tmp: {protect: "/tmp/' + "x" * 5000 + '"}}').encode(), "yaml",
     {}, ["esd-dir"], ["sunray.tmp.protect: '/tmp/xxx", "xxx...xxx", "' is not a list of strings"]),
    ("bad JSON", b'{"sunray": {', "json", {}, ["esd-dir"],
     ["FILE", "line 1, column 13: Expecting property name"]),
    ("JSON not UTF-8", b'{"sunray": {"esd": {"dir": "/tmp/\xff"}}}', "json", {}, ["esd-dir"],
     ["FILE", "not UTF-8 text (byte 0xff at offset 33, line 1)"]),
    # PyYAML and json keep the last of a key given twice: the first is lost silently.
    ("duplicate key", b"sunray:\n  root: /\n  root: /x\n", "yaml", {}, ["esd-dir"],
     ["FILE", "line 3, column 3: duplicate key 'root' (first given on line 2)"]),
    ("duplicate key in flow", b"sunray: {esd: {dir: /tmp/.esd, dir: /tmp/.e}}", "yaml", {}, ["esd-dir"],
     ["FILE", "line 1, column 32: duplicate key 'dir'"]),
    ("duplicate section", b"sunray: {}\nsunray: {root: /x}\n", "yaml", {}, ["esd-dir"],
     ["FILE", "line 2, column 1: duplicate key 'sunray'"]),
    ("duplicate key JSON", b'{"sunray": {"root": "/", "root": "/x"}}', "json", {}, ["esd-dir"],
     ["FILE", "line 1, column 26: duplicate key 'root'"]),
    # A misspelt section would be ignored: its settings never applied.
    ("misspelt section", b"sunrey:\n  esd: {dir: /tmp/.e}\n", "yaml", {}, ["esd-dir"],
     ["FILE", "unknown section 'sunrey' (did you mean 'sunray'?)"]),
    ("section in capitals", b"Sunray: {}\n", "yaml", {}, ["esd-dir"],
     ["FILE", "unknown section 'Sunray'"]),
    ("env newline", None, None, {"INVOKE_SUNRAY_MODULES_JOBS": "1\n2"}, ["esd-dir"],
     ["sunray.modules.jobs: '1\\n2'"]),
    ("env 1e26", None, None, {"INVOKE_SUNRAY_BOOT_TIMEOUT": "1e26"}, ["install-boot-hook"],
     ["sunray.boot.timeout: ", "from 1 to 86400"]),
    ("env inf", None, None, {"INVOKE_SUNRAY_BOOT_TIMEOUT": "inf"}, ["install-boot-hook"],
     ["sunray.boot.timeout: 'inf'"]),
]


@pytest.mark.parametrize("content, suffix, env, task, needles",
                         [row[1:] for row in BAD_INPUTS], ids=[row[0] for row in BAD_INPUTS])
def test_bad_input_exits_2_in_one_line_writing_nothing(home, sandbox, tmp_path, content, suffix,
                                                       env, task, needles):
    """Each bad setting, through -f FILE and through ~/.invoke.SUFFIX: exactly
    one line on stderr, starting 'sunray: ', at most 300 characters; exit 2;
    nothing created or changed under the root; and quickly (an alias bomb
    hung the program)."""
    (sandbox / "etc/systemd/system").mkdir(parents=True)  # a systemd tree for the boot hook
    (sandbox / "lib/systemd").mkdir(parents=True)
    (sandbox / "lib/systemd/systemd").write_text("")
    before = tree_snapshot(sandbox)
    runs = []
    if content is None:
        runs.append([])
    else:
        config = tmp_path / f"site.{suffix}"
        config.write_bytes(content)
        runs.append(["-f", config])
    for core in runs + ([["home"]] if content is not None else []):
        if core == ["home"]:
            (home / f".invoke.{suffix}").write_bytes(content)
            core = []
        proc = run_sunray(*core, *task, "--root", sandbox, env={"HOME": str(home), **env},
                          timeout=60)
        lines = proc.stderr.splitlines()
        assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
        assert len(lines) == 1, proc.stderr[-2000:]
        assert lines[0].startswith("sunray: ") and len(lines[0]) <= 300, lines[0]
        for needle in needles:
            if needle == "FILE":  # the message names the file (what else could say which?)
                needle = f"sunray: config: {config if core else home / ('.invoke.' + suffix)}: "
            assert needle in lines[0], (needle, lines[0])
        assert tree_snapshot(sandbox) == before


@pytest.mark.parametrize("content", [b"", b"# nothing set here\n", b"---\n", b"sunray: {}\n"])
def test_an_empty_settings_file_sets_nothing(home, sandbox, tmp_path, content):
    config = tmp_path / "site.yaml"
    config.write_bytes(content)
    proc = esd_dir_dry(home, sandbox, "-f", config)
    assert proc.returncode == 0, proc.stderr
    assert "/tmp/.esd" in proc.stdout


def test_every_number_setting_has_a_range():
    """A timeout of 1e26 s was written into the unit, where systemd ignores it."""
    from sunray.core.config import DEFAULTS, RANGES

    def numbers(shape, where):
        for key, value in shape.items():
            if isinstance(value, dict):
                yield from numbers(value, f"{where}.{key}")
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                yield f"{where}.{key}", value

    found = dict(numbers(DEFAULTS, "sunray"))
    assert found and set(found) == set(RANGES)
    for path, default in found.items():
        low, high = RANGES[path][:2]
        assert low <= default <= high, path
        key = path[len("sunray."):]
        assert f"`{key}`" in (REPO / "docs/configuration.md").read_text() or \
            key.startswith("fleet."), path
        assert f"{low} to {high}" in (REPO / "docs/configuration.md").read_text(), path


@pytest.mark.parametrize("path, value, ok", [
    ("boot.timeout", 1, True), ("boot.timeout", 86400, True), ("boot.timeout", 86401, False),
    ("boot.timeout", 0.5, False), ("boot.timeout", "1e26", False), ("boot.timeout", 10 ** 400, False),
    ("modules.jobs", 0, True), ("modules.jobs", 256, True), ("modules.jobs", 257, False),
    ("modules.lock_timeout", 0, True), ("modules.lock_timeout", 0.5, True),
    ("modules.lock_timeout", 86401, False), ("fleet.parallel", 1, True),
    ("fleet.parallel", 0, False), ("fleet.connect_timeout", 2.5, True),
    ("fleet.connect_timeout", 3601, False), ("fleet.command_timeout", 86400, True),
])
def test_validator_ranges(path, value, ok):
    data = defaults()
    concern, key = path.split(".")
    data[concern][key] = value
    if ok:
        assert validate(data)[concern][key] == value
    else:
        with pytest.raises(UsageError, match=rf"sunray\.{path}: .* is not .* from "):
            validate(data)
