"""tmpmount: where /tmp's nodev comes from (fstab, tmp.mount, the live mounts).

Every tree here is a sandbox built as a server would have it; the running
system's own /proc/self/mounts cannot be set up by a test, so a file in its
format stands in for it (``mounts=``).
"""


import pytest
from support import only
from tmpmount_support import ETC, LIB, enable, tmp_mount, write

from sunray.core.config import defaults
from sunray.core.rootfs import Root
from sunray.tmpclean import tmpmount
from sunray.tmpclean.tmpmount import DORMANT, NODEV, UNCHECKED, check_tmp_nodev


def kinds(sandbox, **kwargs):
    return [f.kind for f in tmpmount.nodev_findings(Root(sandbox), **kwargs)]


# --- parsing ----------------------------------------------------------------------


def test_fstab_last_tmp_line_counts_comments_do_not():
    text = ("# tmpfs /tmp tmpfs nodev 0 0\n"
            "UUID=1 / ext4 defaults 0 1\n"
            "tmpfs /tmp tmpfs defaults,nodev 0 0\n"
            "tmpfs /tmp/ tmpfs mode=1777,nosuid 0 0  # a trailing slash is still /tmp\n")
    assert tmpmount.fstab_tmp_options(text) == ["mode=1777", "nosuid"]
    assert tmpmount.fstab_tmp_entry(text) == ["tmpfs", "/tmp/", "tmpfs", "mode=1777,nosuid", "0", "0"]
    assert tmpmount.fstab_tmp_options("UUID=1 / ext4 defaults 0 1\n/dev/sdb1 /tmpx ext4 nodev\n") is None
    assert tmpmount.fstab_tmp_options("tmpfs /tmp\n") is None  # too few fields: not a mount line


def test_unit_options_mount_section_last_wins_empty_resets():
    text = ("[Unit]\nOptions=nodev\n"  # not the [Mount] section
            "[Mount]\nOptions=mode=1777,nodev\n#Options=dev\n"
            "Options = mode=1777,nosuid\n")
    assert tmpmount.unit_options(text) == ["mode=1777", "nosuid"]
    assert tmpmount.unit_options("[Mount]\nOptions=nodev\nOptions=\n") == []
    assert tmpmount.unit_options("[Mount]\nWhat=tmpfs\n") is None


def test_mounted_tmp_options_last_mount_on_tmp():
    text = ("proc /proc proc rw 0 0\ntmpfs /tmp tmpfs rw,nosuid,nodev 0 0\n"
            "tmpfs /tmp tmpfs rw,nosuid 0 0\ntmpfs /tmp/x tmpfs rw,nodev 0 0\n")
    assert tmpmount.mounted_tmp_options(text) == ["rw", "nosuid"]
    assert tmpmount.mounted_tmp_options("tmpfs /tmp tmpfs rw,nosuid,nodev 0 0\n") == [
        "rw", "nosuid", "nodev"]
    assert tmpmount.mounted_tmp_options("proc /proc proc rw 0 0\n") is None


# --- /etc/fstab ---------------------------------------------------------------------


def test_fstab_nodev_finding(sandbox):
    assert tmpmount.nodev_findings(Root(sandbox)) == []  # no fstab at all
    write(sandbox / "etc/fstab", "tmpfs /tmp/ tmpfs defaults,nodev,nosuid 0 0\n")
    [finding] = tmpmount.nodev_findings(Root(sandbox))
    assert finding.kind == NODEV and finding.source == "/etc/fstab"
    assert finding.reason == ("/tmp is mounted nodev by /etc/fstab "
                              "(tmpfs /tmp/ tmpfs defaults,nodev,nosuid)")
    assert "drop 'nodev'" in finding.fix and "remount,dev" in finding.fix
    line = finding.warning()
    assert "/tmp/SUNWut" in line and "remount,dev" in line and "\n" not in line


def test_fstab_that_cannot_be_read_is_unchecked(sandbox):
    (sandbox / "etc/fstab").mkdir(parents=True)  # a directory, not a file
    [finding] = tmpmount.nodev_findings(Root(sandbox))
    assert finding.kind == UNCHECKED and "/etc/fstab" in finding.reason
    (sandbox / "etc/fstab").rmdir()
    (sandbox / "etc/fstab").write_bytes(b"tmpfs /tmp tmpfs nodev 0 0\n\0\0")
    [finding] = tmpmount.nodev_findings(Root(sandbox))
    assert finding.kind == UNCHECKED and "binary" in finding.reason


def test_fstab_is_read_inside_the_root_never_outside(sandbox, tmp_path):
    # An image's absolute link: /etc/fstab -> /srv/fstab means the image's own /srv.
    write(sandbox / "srv/fstab", "tmpfs /tmp tmpfs nodev 0 0\n")
    (sandbox / "etc/fstab").symlink_to("/srv/fstab")
    assert kinds(sandbox) == [NODEV]
    # A link to a host file outside the tree is not followed there: "../" stops
    # at the root's top, as it does on the server.
    outside = tmp_path / "host-fstab"
    outside.write_text("tmpfs /tmp tmpfs nodev 0 0\n")
    (sandbox / "etc/fstab").unlink()
    (sandbox / "etc/fstab").symlink_to(str(outside))
    assert kinds(sandbox) == []
    (sandbox / "etc/fstab").unlink()
    (sandbox / "etc/fstab").symlink_to("../../../../.." + str(outside))
    assert kinds(sandbox) == []
    (sandbox / "etc/fstab").unlink()
    (sandbox / "etc/fstab").symlink_to("fstab")  # a loop: nothing to read
    assert kinds(sandbox) == []


# --- systemd's tmp.mount ------------------------------------------------------------


def test_unit_not_enabled_is_dormant_enabled_is_nodev(sandbox):
    tmp_mount(sandbox, LIB, "mode=1777,strictatime,nosuid,nodev")
    [finding] = tmpmount.nodev_findings(Root(sandbox))
    assert finding.kind == DORMANT  # RHEL 7: shipped, not enabled
    assert finding.reason.startswith(f"/{LIB}/tmp.mount has nodev but is not enabled")
    assert "systemctl edit tmp.mount" in finding.fix

    enable(sandbox)  # Fedora: enabled statically
    [finding] = tmpmount.nodev_findings(Root(sandbox))
    assert finding.kind == NODEV and finding.source == f"/{LIB}/tmp.mount"
    assert f"/{LIB}/tmp.mount (enabled, Options=mode=1777,strictatime,nosuid,nodev)" in finding.reason

    unit = tmpmount.tmp_mount_unit(Root(sandbox))
    assert unit == {"path": f"/{LIB}/tmp.mount", "masked": False, "enabled": True,
                    "options": ["mode=1777", "strictatime", "nosuid", "nodev"],
                    "options_from": f"/{LIB}/tmp.mount"}


@pytest.mark.parametrize("directory, target", [
    (ETC, "local-fs.target.wants"),
    ("run/systemd/system", "local-fs.target.requires"),
    ("lib/systemd/system", "multi-user.target.wants"),
])
def test_enabled_by_any_target_link_in_any_unit_dir(sandbox, directory, target):
    tmp_mount(sandbox, LIB, "nodev")
    wants = sandbox / directory / target
    wants.mkdir(parents=True)
    (wants / "tmp.mount").symlink_to(f"/{LIB}/tmp.mount")
    assert tmpmount.tmp_mount_unit(Root(sandbox))["enabled"] is True
    (wants / "tmp.mount").unlink()
    (sandbox / directory / "local-fs.target.after").mkdir()  # not an enabling link
    (sandbox / directory / "local-fs.target.after/tmp.mount").symlink_to(f"/{LIB}/tmp.mount")
    assert tmpmount.tmp_mount_unit(Root(sandbox))["enabled"] is False


def test_first_unit_dir_wins_and_masking(sandbox):
    tmp_mount(sandbox, LIB, "nodev")
    tmp_mount(sandbox, "lib/systemd/system", "nodev")
    tmp_mount(sandbox, "run/systemd/system", "mode=1777")  # /run comes before /usr/lib
    enable(sandbox)
    unit = tmpmount.tmp_mount_unit(Root(sandbox))
    assert unit["path"] == "/run/systemd/system/tmp.mount" and unit["options"] == ["mode=1777"]
    assert kinds(sandbox) == []

    (sandbox / ETC).mkdir(parents=True)
    (sandbox / ETC / "tmp.mount").symlink_to("/dev/null")  # systemctl mask tmp.mount
    tmp_mount(sandbox, "run/systemd/system", "nodev")
    assert tmpmount.tmp_mount_unit(Root(sandbox)) == {
        "path": f"/{ETC}/tmp.mount", "masked": True, "enabled": False, "options": [],
        "options_from": f"/{ETC}/tmp.mount"}
    assert kinds(sandbox) == []


def test_unit_linked_from_etc_is_read_where_it_points_inside_the_root(sandbox):
    tmp_mount(sandbox, "opt/units", "nodev")
    (sandbox / ETC).mkdir(parents=True)
    (sandbox / ETC / "tmp.mount").symlink_to("/opt/units/tmp.mount")  # systemctl link
    enable(sandbox, ETC)
    assert kinds(sandbox) == [NODEV]


def test_dropins_override_by_name_etc_hides_lower_dirs(sandbox):
    tmp_mount(sandbox, LIB, "mode=1777,nosuid,nodev")
    enable(sandbox)
    write(sandbox / ETC / "tmp.mount.d/50-sunray.conf", "[Mount]\nOptions=mode=1777,nosuid\n")
    assert kinds(sandbox) == []  # the override drops nodev

    # A later name in a lower directory still applies after it (systemd sorts by name).
    write(sandbox / LIB / "tmp.mount.d/90-vendor.conf", "[Mount]\nOptions=nosuid,nodev\n")
    [finding] = tmpmount.nodev_findings(Root(sandbox))
    assert finding.source == f"/{LIB}/tmp.mount.d/90-vendor.conf"
    assert f"/{LIB}/tmp.mount with /{LIB}/tmp.mount.d/90-vendor.conf (enabled" in finding.reason

    # The same name in /etc hides the vendor's file.
    write(sandbox / ETC / "tmp.mount.d/90-vendor.conf", "[Service]\nNice=1\n")
    assert kinds(sandbox) == []
    (sandbox / ETC / "tmp.mount.d/90-vendor.conf").unlink()
    (sandbox / ETC / "tmp.mount.d/90-vendor.conf").symlink_to("/dev/null")  # masks it too
    assert kinds(sandbox) == []

    # Not a .conf: ignored.
    write(sandbox / ETC / "tmp.mount.d/99-x.conf.rpmnew", "[Mount]\nOptions=nodev\n")
    assert kinds(sandbox) == []


def test_unreadable_unit_is_unchecked(sandbox):
    (sandbox / LIB / "tmp.mount").mkdir(parents=True)
    [finding] = tmpmount.nodev_findings(Root(sandbox))
    assert finding.kind == UNCHECKED and f"/{LIB}/tmp.mount" in finding.reason


# --- the live mounts ----------------------------------------------------------------


def test_live_mounts_only_for_the_host_root(sandbox, tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text("proc /proc proc rw 0 0\ntmpfs /tmp tmpfs rw,nosuid,nodev 0 0\n")
    assert tmpmount.live_findings(Root(sandbox), str(mounts)) == []  # not mounted here
    [finding] = tmpmount.live_findings(Root("/"), str(mounts))
    assert finding.kind == NODEV and finding.reason == f"/tmp is mounted nodev now ({mounts})"
    assert finding.fix == "`mount -o remount,dev /tmp`"
    assert tmpmount.live_findings(Root("/"), str(tmp_path / "missing")) == []  # a container
    assert tmpmount.live_findings(Root("/"), "") == []  # asked not to look
    mounts.write_text("tmpfs /tmp tmpfs rw,nosuid 0 0\n")
    assert tmpmount.live_findings(Root("/"), str(mounts)) == []


def test_live_mounts_default_is_proc_self_mounts(monkeypatch, tmp_path):
    assert tmpmount.MOUNTS == "/proc/self/mounts"
    mounts = tmp_path / "mounts"
    mounts.write_text("tmpfs /tmp tmpfs rw,nodev 0 0\n")
    monkeypatch.setattr(tmpmount, "MOUNTS", str(mounts))
    assert [f.source for f in tmpmount.live_findings(Root("/"))] == [str(mounts)]


def test_findings_to_dict(sandbox):
    write(sandbox / "etc/fstab", "tmpfs /tmp tmpfs nodev 0 0\n")
    [finding] = tmpmount.nodev_findings(Root(sandbox))
    assert finding.to_dict() == {"source": "/etc/fstab", "reason": finding.reason,
                                 "fix": tmpmount.FIX_FSTAB, "kind": "nodev"}


# --- the doctor's check --------------------------------------------------------


def test_tmp_nodev_ok_fstab_fail(sandbox):
    assert only(check_tmp_nodev, sandbox).status == "ok"
    write(sandbox / "etc/fstab", "# /tmp nodev in a comment is fine\n"
          "tmpfs /tmp tmpfs mode=1777,nosuid 0 0\n")
    assert only(check_tmp_nodev, sandbox).status == "ok"
    write(sandbox / "etc/fstab", "UUID=1 / ext4 defaults 0 1\n"
          "tmpfs   /tmp  tmpfs  defaults,nodev,nosuid  0 0\n")
    check = only(check_tmp_nodev, sandbox)
    assert check.status == "fail"
    assert "/etc/fstab" in check.detail and "/tmp/SUNWut" in check.detail
    assert "remount,dev" in check.fix


def test_tmp_mount_unit_enabled_disabled_masked_overridden(sandbox):
    tmp_mount(sandbox, "/usr/lib/systemd/system", "mode=1777,strictatime,nosuid,nodev")
    check = only(check_tmp_nodev, sandbox)
    assert check.status == "warn" and "not enabled" in check.detail  # RHEL7: shipped, off
    assert "systemctl edit tmp.mount" in check.fix

    enable(sandbox)  # Fedora: enabled statically
    check = only(check_tmp_nodev, sandbox)
    assert check.status == "fail"
    assert "/usr/lib/systemd/system/tmp.mount (enabled" in check.detail
    assert "systemctl edit tmp.mount" in check.fix

    dropin = sandbox / "etc/systemd/system/tmp.mount.d/sunray.conf"
    write(dropin, "[Mount]\nOptions=mode=1777,strictatime,nosuid\n")
    assert only(check_tmp_nodev, sandbox).status == "ok"
    dropin.unlink()

    masked = sandbox / "etc/systemd/system/tmp.mount"
    masked.symlink_to("/dev/null")
    assert only(check_tmp_nodev, sandbox).status == "ok"


def test_tmp_nodev_unreadable_fstab_is_a_warning(sandbox):
    (sandbox / "etc/fstab").mkdir(parents=True)
    check = only(check_tmp_nodev, sandbox)
    assert check.status == "warn" and "cannot check /etc/fstab" in check.detail


def test_tmp_nodev_live_mounts_only_on_root_slash(tmp_path, sandbox):
    mounts = tmp_path / "mounts"
    mounts.write_text("proc /proc proc rw 0 0\ntmpfs /tmp tmpfs rw,nosuid,nodev 0 0\n")
    # another root: the running system's mounts are not looked at
    assert only(check_tmp_nodev, sandbox, mounts=str(mounts)).status == "ok"
    # root /: a real run on this machine reads its own /proc/self/mounts
    checks = check_tmp_nodev(Root("/"), defaults(), mounts=str(mounts))
    assert checks[0].status == "fail" and "mounted nodev now" in checks[0].detail
    assert checks[0].fix == "`mount -o remount,dev /tmp`"
