"""Whether the build host is the SRPM's distribution (sunray/esound/host.py)."""

from sunray.esound.host import host_distribution, host_mismatch, target_of

DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n'
ROCKY = ('NAME="Rocky Linux"\nVERSION_ID="9.3"\nID="rocky"\nID_LIKE="rhel centos fedora"\n'
         'PRETTY_NAME="Rocky Linux 9.3"\n')


def test_target_of():
    assert target_of("3.1.el6") == ("el", "6")
    assert target_of("2.el5_4.1") == ("el", "5")
    assert target_of("1.fc12") == ("fc", "12")
    assert target_of("2") is None


def test_debian_host_for_el6_srpm(tmp_path):
    os_release = tmp_path / "os-release"
    os_release.write_text(DEBIAN)
    line = host_mismatch("3.1.el6", str(os_release), str(tmp_path / "none"))
    assert line is not None and "el6 source RPM on Debian GNU/Linux 12 (bookworm)" in line
    assert "\n" not in line


def test_matching_hosts_say_nothing(tmp_path):
    os_release = tmp_path / "os-release"
    os_release.write_text(ROCKY)
    assert host_mismatch("1.el9", str(os_release), str(tmp_path / "none")) is None
    assert host_mismatch("3.1.el6", str(os_release), str(tmp_path / "none")) is not None
    # RHEL 5 and 6 have no os-release: /etc/redhat-release.
    redhat = tmp_path / "redhat-release"
    redhat.write_text("CentOS release 6.10 (Final)\n")
    missing = str(tmp_path / "none")
    assert host_distribution(missing, str(redhat)) == ("el", "6", "CentOS release 6.10 (Final)")
    assert host_mismatch("3.1.el6", missing, str(redhat)) is None
    assert "on CentOS release 6.10" in (host_mismatch("2.el5", missing, str(redhat)) or "")
    # Unknown on either side: nothing to say.
    assert host_mismatch("2", str(os_release), missing) is None
    assert host_mismatch("3.1.el6", missing, missing) is None
