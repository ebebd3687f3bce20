"""The docs stay true to the program: docs/tasks.md is the task help as the
program prints it now, and README.md stays a short guide for the admin."""

import importlib.util
from pathlib import Path
from types import ModuleType

from conftest import REPO

README_MAX_LINES = 300


def load_generator() -> ModuleType:
    """docs/generate_tasks.py as a module (docs/ is not a package)."""
    path = REPO / "docs" / "generate_tasks.py"
    spec = importlib.util.spec_from_file_location("generate_tasks", str(path))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tasks_md_is_what_the_generator_writes_now() -> None:
    generated = load_generator().render()
    on_disk = (REPO / "docs" / "tasks.md").read_text(encoding="utf-8")
    assert on_disk == generated, (
        "docs/tasks.md differs from the task help: run "
        ".venv/bin/python docs/generate_tasks.py and commit the result")


def test_tasks_md_has_one_section_per_task() -> None:
    from sunray.core.tasklist import TASKS

    text = (REPO / "docs" / "tasks.md").read_text(encoding="utf-8")
    headings = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert headings == [info.name for info in TASKS]


def test_readme_is_under_300_lines() -> None:
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) < README_MAX_LINES, (
        "README.md has %d lines: keep it under %d, move detail to docs/"
        % (len(lines), README_MAX_LINES))


def test_topic_pages_exist() -> None:
    pages = set(load_generator().TOPIC_PAGES.values())
    missing = sorted(page for page in pages if not Path(REPO, "docs", page).is_file())
    assert not missing, missing


def test_every_task_has_a_topic_page() -> None:
    """A task added to sunray.core.tasklist needs its page in docs/ too: the
    generated reference links every task to one."""
    from sunray.core.tasklist import TASKS

    assert sorted(load_generator().TOPIC_PAGES) == sorted(info.name for info in TASKS)


def load_man_generator() -> ModuleType:
    path = REPO / "docs" / "generate_man.py"
    spec = importlib.util.spec_from_file_location("generate_man", str(path))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_man_page_is_what_the_generator_writes_now() -> None:
    generated = load_man_generator().render()
    on_disk = (REPO / "docs" / "sunray.1").read_text(encoding="utf-8")
    assert on_disk == generated, (
        "docs/sunray.1 differs from the task help: run "
        ".venv/bin/python docs/generate_man.py and commit the result")


def test_man_page_has_every_task_and_its_options() -> None:
    from sunray.core.tasklist import TASKS

    text = (REPO / "docs" / "sunray.1").read_text(encoding="utf-8")
    subsections = [line[4:].replace("\\-", "-") for line in text.splitlines() if line.startswith(".SS ")]
    assert subsections == [info.name for info in TASKS]
    assert "\\fB\\-\\-revert\\fR" in text and "\\fB\\-\\-kernel=STRING\\fR" in text


def test_parse_help_keeps_wrapped_option_text() -> None:
    paragraphs, options = load_man_generator().parse_help(
        "Usage: sunray x\n\nDocstring:\n  First line.\n\n  Second\n  paragraph.\n\n"
        "Options:\n  -k STRING, --kernel=STRING   Build for K\n"
        "                               (repeatable).\n  --force   Rebuild.\n")
    assert paragraphs == ["First line.", "Second paragraph."]
    assert options == [("-k STRING, --kernel=STRING", "Build for K (repeatable)."), ("--force", "Rebuild.")]


def test_man_page_renders_without_warnings() -> None:
    import shutil
    import subprocess

    import pytest

    if shutil.which("groff") is None:
        pytest.skip("needs groff")
    proc = subprocess.run(["groff", "-man", "-ww", "-z", str(REPO / "docs" / "sunray.1")],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
