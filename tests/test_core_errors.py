"""The one-line error messages (sunray.core.errors): control characters escaped,
long values and lines shortened in the middle, OS errors naming the path
that matters (as the server names it, under --root)."""

import errno
import os
import subprocess

import pytest
from conftest import PYTHON, REPO, assert_clean_error, need, need_root

from sunray.core.errors import MAX_LINE, JobFailed, UsageError, message_line, one_line, shown

# --- message_line: whatever the text, one line ------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("plain words", "plain words"),
    ("a\nb", "a\\nb"),
    ("a\r\nb", "a\\r\\nb"),
    ("tab\there", "tab\\there"),
    ("esc \x1b[31mred", "esc \\x1b[31mred"),
    ("nul\x00", "nul\\x00"),
    ("del\x7f", "del\\x7f"),
    ("next line\x85", "next line\\x85"),
    ("line sep\u2028para sep\u2029", "line sep\\u2028para sep\\u2029"),
    ("file sep\x1c\x1d\x1e", "file sep\\x1c\\x1d\\x1e"),
    ("vt\x0bff\x0c", "vt\\x0bff\\x0c"),
    ("bidi \u202eevil", "bidi \\u202eevil"),
    ("undecodable \udcff byte", "undecodable \\xff byte"),  # os.fsdecode's surrogate escape
    ("caf\u00e9 \u2713", "caf\u00e9 \u2713"),  # printable non-ASCII stays as it is
])
def test_message_line_escapes_what_would_break_or_fake_a_line(text, expected):
    line = message_line(text)
    assert line == expected
    assert line.splitlines() == [line]
    line.encode("utf-8")  # no lone surrogate left to crash the write to stderr


def test_message_line_is_idempotent_and_cuts_the_middle():
    assert message_line(message_line("a\nb")) == "a\\nb"
    text = "sunray: config: /etc/site.yaml: " + "x" * 5000 + " is not a string"
    line = message_line(text)
    assert len(line) <= MAX_LINE
    assert line.startswith("sunray: config: /etc/site.yaml: xxx")
    assert line.endswith("xxx is not a string")
    assert "..." in line
    assert message_line(line) == line
    assert len(message_line("y" * (MAX_LINE + 1))) <= MAX_LINE
    assert message_line("y" * MAX_LINE) == "y" * MAX_LINE


# --- shown: a value as the messages quote it -------------------------------------------


def test_shown_quotes_like_repr_and_shortens_the_middle():
    assert shown("/tmp/a\nb") == "'/tmp/a\\nb'"
    assert shown(5) == "5" and shown(None) == "None" and shown([1, "x"]) == "[1, 'x']"
    long = shown("/tmp/" + "a" * 1000 + "z")
    assert long.startswith("'/tmp/aaa") and long.endswith("aaaz'") and "..." in long
    assert len(long) < 120


def test_shown_is_cheap_for_huge_shared_structures():
    """A structure built from aliases shares its parts: its full repr would be
    astronomically long; shown() looks at a bounded part of it."""
    level = ["x"] * 10
    for _ in range(30):  # 10**31 leaves when written out
        level = [level] * 10
    text = shown(level)
    assert len(text) < 400 and "..." in text
    assert shown(10 ** 5000).startswith("1000") and len(shown(10 ** 5000)) < 120


def test_shown_never_raises():
    class Broken:
        def __repr__(self):
            raise RuntimeError("no")

    assert "Broken" in shown(Broken())


# --- one_line: exceptions -----------------------------------------------------------------


def test_one_line_of_toolkit_errors_is_their_message_in_one_line():
    assert one_line(UsageError("no module sources under /usr/a\nb")) == \
        "no module sources under /usr/a\\nb"
    assert one_line(JobFailed("x")) == "x"
    assert one_line(ValueError("bad\nthing")) == "ValueError: bad\\nthing"


def test_one_line_of_an_os_error_names_the_server_path_under_the_root(tmp_path):
    top = tmp_path / "root"
    inside = str(top / "lib/modules/6.1/extra")
    error = OSError(errno.EROFS, os.strerror(errno.EROFS), inside)
    assert one_line(error, str(top)) == "Read-only file system: /lib/modules/6.1/extra"
    assert one_line(error) == f"Read-only file system: {inside}"
    assert one_line(error, "/") == f"Read-only file system: {inside}"
    outside = OSError(errno.EACCES, os.strerror(errno.EACCES), str(tmp_path / "elsewhere"))
    assert one_line(outside, str(top)) == f"Permission denied: {tmp_path / 'elsewhere'}"
    # A sibling whose name starts like the root is not inside it.
    sibling = OSError(errno.EACCES, os.strerror(errno.EACCES), str(top) + "-old/x")
    assert one_line(sibling, str(top)) == f"Permission denied: {top}-old/x"
    assert one_line(OSError(errno.EIO, os.strerror(errno.EIO))) == "Input/output error"
    renamed = OSError(errno.EXDEV, os.strerror(errno.EXDEV), str(top / "a"), None, str(top / "b"))
    assert one_line(renamed, str(top)) == "Invalid cross-device link: /a -> /b"
    newline = OSError(errno.EROFS, os.strerror(errno.EROFS), str(top / "a\nb"))
    assert one_line(newline, str(top)) == "Read-only file system: /a\\nb"


def test_root_makedirs_names_the_directory_it_could_not_create(tmp_path):
    """Root.makedirs works relative to directory descriptors: an OSError
    from it carried only the last component ('extra'); it now carries the
    host path, which the task guard maps back to the server path."""
    from sunray.core.rootfs import Root

    top = tmp_path / "root"
    (top / "var").mkdir(parents=True)
    name = "x" * 300  # longer than NAME_MAX: fails whoever runs the test
    with pytest.raises(OSError) as caught:
        Root(top).makedirs(f"/var/{name}/sunray")
    assert caught.value.errno == errno.ENAMETOOLONG
    assert caught.value.filename == str(top / "var" / name)
    assert one_line(caught.value, str(top)).startswith("File name too long: /var/xxx")


@pytest.mark.system
def test_a_read_only_directory_is_named_as_the_server_path(tmp_path):
    """Before: `sunray: Read-only file system: extra` (rebuild-modules with
    /lib/modules/K mounted read-only): which 'extra'?"""
    need_root()
    need("unshare", "mount")
    from modules_support import host_kernels, make_server

    kernel = host_kernels()[-1]
    top = make_server(tmp_path / "root", [kernel])
    target = top / "lib/modules" / kernel
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", str(target), PYTHON, "-m", "sunray",
         "rebuild-modules", "--root", str(top), "--kernel", kernel],
        capture_output=True, text=True, cwd=REPO, timeout=600,
        env={k: v for k, v in os.environ.items() if k != "SUNRAY_DEBUG"},
    )
    if "mount:" in proc.stderr and proc.returncode != 1:
        pytest.skip(f"cannot make a read-only mount here: {proc.stderr.strip()}")
    # The modules are checked before the first write, so the message names
    # the read-only directory itself and promises nothing was half-installed.
    assert_clean_error(proc, 1, f"/lib/modules/{kernel} is not writable: it is on a read-only "
                       "file system", "nothing was changed")
    assert str(tmp_path) not in proc.stderr.strip().splitlines()[-1]


def test_the_guard_prints_one_line_naming_the_server_path(tmp_path):
    """The task guard (sunray.cli.output.guarded): an OSError with a host path
    inside the task's root is reported with the server path, in one line."""
    from invoke.exceptions import Exit

    from sunray.cli.output import guarded, root_of

    top = tmp_path / "root"
    top.mkdir()

    @guarded
    def task(c):
        root_of(None, str(top))
        raise OSError(errno.EROFS, "Read-only file system", str(top / "etc/a\nb"))

    with pytest.raises(Exit) as caught:
        task(None)
    assert caught.value.code == 1
    assert caught.value.message == "sunray: Read-only file system: /etc/a\\nb"

    @guarded
    def usage(c):
        raise UsageError("root /a\nb does not exist")

    with pytest.raises(Exit) as caught:
        usage(None)
    assert (caught.value.code, caught.value.message) == (2, "sunray: root /a\\nb does not exist")
