"""The modules settings and kernel names: bad values are usage errors (exit 2)
before anything is read, built or written."""

import pytest
from conftest import assert_clean_error, tree_snapshot
from modules_support import make_server, rebuild

from sunray.core.config import defaults
from sunray.core.errors import UsageError
from sunray.core.kernelname import check_kernel
from sunray.modules.settings import ModuleSettings


@pytest.mark.parametrize("bad", ["6.1;id", "../../etc", "-rf", "6.1 0", "$(id)", "6.1`id`",
                                 "a/b", ".hidden", "6..1", "6.1\nx", ""])
def test_kernel_names_with_metacharacters_are_refused_before_anything_runs(tmp_path, bad):
    top = make_server(tmp_path / "root", [])
    before = tree_snapshot(top)
    proc = rebuild(top, "--kernel", bad)
    assert_clean_error(proc, 2, "refused")
    assert tree_snapshot(top) == before



def test_bad_configuration_is_a_usage_error(tmp_path):
    top = make_server(tmp_path / "root", [])
    settings_file = tmp_path / "cfg.yaml"
    settings_file.write_text("sunray:\n  modules:\n    dest: ../../etc\n")
    assert_clean_error(rebuild(top, settings_file=settings_file), 2, "modules.dest")
    settings_file.write_text("sunray:\n  modules:\n    modules: [nosuch]\n")
    (top / "lib/modules/x").mkdir()
    assert_clean_error(rebuild(top, "--kernel", "x", settings_file=settings_file), 2, "nosuch")
    assert_clean_error(rebuild(top, "--jobs", "0x"), 2)




def settings_with(**modules):
    settings = defaults()
    settings["modules"].update(modules)
    return settings


def test_defaults_are_valid_and_dest_is_stripped():
    module_settings = ModuleSettings.from_settings(settings_with(dest="extra/sunray/"))
    assert module_settings.src == "/usr/src/SUNWut"
    assert module_settings.dest == "extra/sunray"
    assert module_settings.sign.enabled is False
    assert module_settings.lock_timeout == 900.0
    assert check_kernel("6.1.0-57-amd64") == "6.1.0-57-amd64"


@pytest.mark.parametrize("modules, needle", [
    ({"src": "usr/src/SUNWut"}, "modules.src"),
    ({"dest": "extra/../../etc"}, "modules.dest"),
    ({"lock_timeout": "soon"}, "modules.lock_timeout"),
    ({"sign": {"enabled": True, "hash": "SHA-256", "key": "/k", "cert": "/c"}}, "modules.sign.hash"),
    ({"sign": {"enabled": True, "hash": "sha256", "key": "k", "cert": "/c"}}, "modules.sign.key"),
])
def test_bad_module_settings_name_the_key(modules, needle):
    with pytest.raises(UsageError, match=needle):
        ModuleSettings.from_settings(settings_with(**modules))


def test_patches_are_checked_when_a_plan_needs_them():
    module_settings = ModuleSettings.from_settings(settings_with(patches=[{"file": "x.patch"}, "oops"]))
    with pytest.raises(UsageError, match=r"modules.patches\[1\]"):
        module_settings.patch_rules()
    [rule] = ModuleSettings.from_settings(settings_with(patches=[
        {"file": "x.patch", "kernel_regex": "^6\\.", "module": "utio"}])).patch_rules()
    assert (rule.file, rule.module, bool(rule.kernel_regex.search("6.1.0"))) == ("x.patch", "utio", True)
    for bad, needle in (({"file": "x", "kernel_regex": "("}, "kernel_regex"),
                        ({"file": "x", "module": "a;b"}, "module")):
        with pytest.raises(UsageError, match=needle):
            ModuleSettings.from_settings(settings_with(patches=[bad])).patch_rules()


def test_parallel_jobs_from_the_option_then_the_settings():
    module_settings = ModuleSettings.from_settings(settings_with(jobs=3))
    assert module_settings.parallel_jobs(None) == 3
    assert module_settings.parallel_jobs("0") == 3
    assert module_settings.parallel_jobs(5) == 5
    assert ModuleSettings.from_settings(settings_with(jobs=0)).parallel_jobs(None) >= 1
    for bad in ("0x", 257, -1):
        with pytest.raises(UsageError, match="--jobs"):
            module_settings.parallel_jobs(bad)
