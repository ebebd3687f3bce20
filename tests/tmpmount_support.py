"""Server trees for the /tmp nodev tests (test_tmpmount, test_doctor)."""

from support import write_file as write  # the tests import write from here

LIB = "usr/lib/systemd/system"
ETC = "etc/systemd/system"


def tmp_mount(sandbox, directory, options):
    """A tmp.mount unit like systemd's own, with these Options=, in ``directory``."""
    write(sandbox / directory.lstrip("/") / "tmp.mount",
          "[Unit]\nDescription=Temporary Directory\n\n[Mount]\nWhat=tmpfs\nWhere=/tmp\n"
          f"Type=tmpfs\nOptions={options}\n")


def enable(sandbox, directory=LIB, target="local-fs.target.wants"):
    """Enable tmp.mount the way a package does: a relative link in ``target``."""
    wants = sandbox / directory / target
    wants.mkdir(parents=True, exist_ok=True)
    (wants / "tmp.mount").symlink_to("../tmp.mount")
