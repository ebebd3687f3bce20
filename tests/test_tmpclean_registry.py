"""The registry of /tmp cleaners (sunray/tmpclean/registry.py): every cleaner
is one module plus one line, and docs/adding-a-tmp-cleaner.md's example is
real code that works with that one line."""

import re
import subprocess
import sys
import types

from conftest import PYTHON, REPO, run_sunray

from sunray.core.config import defaults
from sunray.core.rootfs import Root
from sunray.tmpclean import core, registry
from sunray.tmpclean.checks import check_tmp_cleaners, watched_files

DOC = REPO / "docs/adding-a-tmp-cleaner.md"


def test_each_name_is_a_module_whose_cleaner_has_that_name():
    cleaners = registry.cleaners()
    assert [c.name for c in cleaners] == list(registry.NAMES)
    spoken_for = [name for c in cleaners for name in (c.name, *c.aliases)]
    assert len(spoken_for) == len(set(spoken_for)) and "auto" not in spoken_for


def test_spoken_lists_names_as_a_sentence():
    assert registry.spoken(("a",)) == "a"
    assert registry.spoken(("a", "b")) == "a or b"
    assert registry.spoken(("a", "b", "c"), last="and") == "a, b and c"


def test_the_names_are_read_without_importing_the_cleaners():
    """`sunray --help` imports the task module: only the names come along."""
    code = ("import sys, sunray.cli.tasks; "
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('sunray.tmpclean'))))")
    proc = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True,
                          cwd=REPO, check=True)
    assert proc.stdout.split() == ["sunray.tmpclean", "sunray.tmpclean.registry"]


def test_cleaner_help_lists_the_registry_names():
    proc = run_sunray("--help", "patch-tmpwatch")
    assert proc.returncode == 0, proc.stderr
    assert f"auto (every one found), {registry.spoken()}." in " ".join(proc.stdout.split())


def test_an_alias_chooses_its_cleaner(sandbox):
    report = core.patch(sandbox, defaults(), cleaner="systemd-tmpfiles")
    assert [c["cleaner"] for c in report.data["cleaners"]] == ["tmpfiles"]
    assert (sandbox / "etc/tmpfiles.d/sunray.conf").is_file()


# --- the documented example ----------------------------------------------------------


def _doc_block(marker):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    return next(b for b in blocks if marker in b)


def _register_doc_example(monkeypatch):
    """The page's module and registry line, installed as if they were in the tree."""
    name = "sunray.tmpclean.tmpcleaner_foo"
    module = types.ModuleType(name)
    module.__package__ = "sunray.tmpclean"
    exec(compile(_doc_block("CLEANER = Cleaner("), str(DOC), "exec"), module.__dict__)
    monkeypatch.setitem(sys.modules, name, module)
    names = {}
    exec(_doc_block("NAMES = ("), names)
    assert names["NAMES"][:len(registry.NAMES)] == registry.NAMES  # one line added
    monkeypatch.setattr(registry, "NAMES", names["NAMES"])


def test_the_documented_example_works_with_one_registry_line(sandbox, monkeypatch):
    _register_doc_example(monkeypatch)
    foo_conf = sandbox / "etc/tmpcleaner-foo.conf"
    original = "age 10d\nkeep /tmp/.X11-unix\n"
    foo_conf.write_text(original)
    root = Root(sandbox)
    assert core.detect(root) == ["tmpcleaner-foo"]
    [row] = core.status(root, defaults())
    assert row["missing"] == ["/tmp/SUNWut", "/tmp/.esd"] and not row["protected"]
    assert [c.status for c in check_tmp_cleaners(root, defaults())] == ["fail"]
    assert "/etc/tmpcleaner-foo.conf" in watched_files()

    report = core.patch(sandbox, defaults(), cleaner="foo")
    assert report.changed
    assert foo_conf.read_text() == original + "keep /tmp/SUNWut\nkeep /tmp/.esd\n"
    assert not core.patch(sandbox, defaults()).changed
    [check] = check_tmp_cleaners(root, defaults())
    assert (check.id, check.status) == ("tmp-cleaner-tmpcleaner-foo", "ok")

    core.patch(sandbox, defaults(), cleaner="tmpcleaner-foo", revert=True)
    assert foo_conf.read_text() == original
