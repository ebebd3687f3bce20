"""Doctor checks of the modules package: sources found, kernel hooks installed, modules loaded."""


from fleet_support import healthy_server
from support import only
from tmpmount_support import write

from sunray.core.config import defaults
from sunray.core.rootfs import Root
from sunray.modules.checks import (
    check_kernel_hooks,
    check_module_sources,
    check_modules_loaded,
    parse_proc_modules,
)

PROC_MODULES = """\
utadem 45056 2 - Live 0x0000000000000000 (OE)
utdisk 36864 0 - Live 0x0000000000000000 (OE)
snd_pcm 159744 1 snd_hda_intel, Live 0x0000000000000000
"""


def test_module_sources(sandbox):
    check = only(check_module_sources, sandbox)
    assert check.status == "fail" and "missing" in check.detail
    write(sandbox / "usr/src/SUNWut/README", "x\n")
    write(sandbox / "usr/src/SUNWut/utadem/Makefile", "x\n")  # no .c: not a module
    check = only(check_module_sources, sandbox)
    assert check.status == "fail" and "no module directory" in check.detail
    write(sandbox / "usr/src/SUNWut/utadem/utadem.c", "x\n")
    write(sandbox / "usr/src/SUNWut/utdisk/Makefile", "x\n")
    write(sandbox / "usr/src/SUNWut/utdisk/utdiskctl.c", "x\n")
    check = only(check_module_sources, sandbox)
    assert check.status == "ok" and check.detail == "/usr/src/SUNWut: utadem, utdisk"
    config = defaults()
    config["modules"] = {"src": "/opt/SUNWut/src"}
    assert check_module_sources(Root(sandbox), config)[0].status == "fail"


def test_kernel_hooks(sandbox):
    check = only(check_kernel_hooks, sandbox)
    assert check.status == "fail" and check.fix == "sunray install-kernel-hooks"
    write(sandbox / "etc/kernel/postinst.d/sunray-modules", "#!/bin/sh\n", 0o755)
    assert only(check_kernel_hooks, sandbox).status == "warn"  # no postrm
    write(sandbox / "etc/kernel/postrm.d/sunray-modules", "#!/bin/sh\n", 0o755)
    assert only(check_kernel_hooks, sandbox).status == "ok"
    write(sandbox / "etc/kernel/install.d/85-sunray.install", "#!/bin/sh\n", 0o644)
    check = only(check_kernel_hooks, sandbox)
    assert check.status == "fail" and "85-sunray.install" in check.fix


def test_kernel_install_plugin_alone_is_enough(sandbox):
    write(sandbox / "etc/kernel/install.d/85-sunray.install", "#!/bin/sh\n", 0o755)
    assert only(check_kernel_hooks, sandbox).status == "ok"


def test_modules_loaded_parsing_and_status(sandbox, tmp_path):
    healthy_server(sandbox)
    # not the running system: skipped with a note
    check = only(check_modules_loaded, sandbox)
    assert check.status == "skip" and "not the running system" in check.detail

    proc = tmp_path / "modules"
    proc.write_text(PROC_MODULES)
    assert parse_proc_modules(PROC_MODULES) == {
        "utadem": "Live", "utdisk": "Live", "snd_pcm": "Live"}
    check = only(check_modules_loaded, sandbox, proc_modules=proc)
    assert check.status == "fail" and check.detail.startswith("not loaded: utio")
    proc.write_text(PROC_MODULES + "utio 16384 0 - Unloading 0x0\n")
    assert only(check_modules_loaded, sandbox, proc_modules=proc).status == "warn"
    proc.write_text(PROC_MODULES + "utio 16384 0 - Live 0x0\n")
    check = only(check_modules_loaded, sandbox, proc_modules=proc)
    assert check.status == "ok" and check.detail == "loaded: utadem, utdisk, utio"


def test_modules_loaded_on_root_slash_and_without_proc_modules(sandbox, tmp_path):
    # This machine: no SRSS sources in /usr/src/SUNWut, so nothing is expected.
    assert check_modules_loaded(Root("/"), defaults())[0].status == "skip"
    healthy_server(sandbox)
    check = only(check_modules_loaded, sandbox, proc_modules=tmp_path / "absent")
    assert check.status == "skip" and "missing" in check.detail
