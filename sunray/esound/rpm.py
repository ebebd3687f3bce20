"""Reading RPM files (binary and source) with rpmfile, as untrusted input.

rpmfile parses headers and the cpio payload but trusts what it reads: a
random file, a truncated download or a payload it cannot decompress ends in
assorted exceptions deep inside it. ``RpmPackage`` wraps it so that every
such case is one ``UsageError`` naming the file and the cause, checks the
payload digest when the package carries one, and validates member names
(no absolute escapes, no ``..``) before anyone uses them as paths.

rpmfile does not verify signatures; nothing here does either.
"""

import hashlib
import os
import posixpath
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Union

from ..core.errors import UsageError
from ..core.safeio import stat_input

# A file named by the admin: a str from the command line, a Path in tests.
FilePath = Union[str, os.PathLike]

RPM_LEAD_MAGIC = b"\xed\xab\xee\xdb"
# rpm's PGPHASHALGO numbers for the payload digest tag.
_DIGEST_ALGOS = {1: "md5", 2: "sha1", 8: "sha256", 9: "sha384", 10: "sha512", 11: "sha224"}
_COMPRESSIONS = (b"gzip", b"bzip2", b"xz", b"zstd", b"")


@dataclass
class Member:
    """One payload entry: its validated path and what it is."""

    name: str        # "/usr/bin/esd" (binary RPM) or "esound.spec" (source RPM)
    kind: str        # "file", "symlink" or "dir"
    size: int
    mode: int        # permission bits
    info: object     # the rpmfile.RPMInfo, for reading


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _texts(value: Any) -> List[str]:
    if value is None:
        return []
    if isinstance(value, (bytes, str)):
        return [_text(value)]
    return [_text(v) for v in value]


class RpmPackage:
    """An opened RPM file. Use as a context manager or call ``close()``."""

    def __init__(self, path: FilePath) -> None:
        import rpmfile  # lazy: keeps task loading fast

        self.path = str(path)
        self._label = os.path.basename(self.path) or self.path
        st = stat_input(self.path)
        if st.st_size == 0:
            raise UsageError(f"{self._label}: empty file, not an RPM")
        self._file = open(self.path, "rb")
        try:
            if self._file.read(4) != RPM_LEAD_MAGIC:
                raise UsageError(f"{self._label}: not an RPM file (no RPM lead)")
            self._file.seek(0)
            try:
                self._rpm = rpmfile.RPMFile(fileobj=self._file)
                self.headers = self._rpm.headers
            except Exception as e:  # rpmfile raises whatever it hits
                raise UsageError(f"{self._label}: corrupt or truncated RPM header ({_why(e)})") from None
            if not self.headers.get("name") or not self.headers.get("version"):
                raise UsageError(f"{self._label}: corrupt RPM header (no name or version)")
        except BaseException:
            self._file.close()
            raise
        self._members: Optional[List[Member]] = None

    # -- header facts ------------------------------------------------------

    @property
    def name(self) -> str:
        return _text(self.headers.get("name"))

    @property
    def version(self) -> str:
        return _text(self.headers.get("version"))

    @property
    def release(self) -> str:
        return _text(self.headers.get("release"))

    @property
    def epoch(self) -> str:
        """The Epoch ("" without one); rpmfile calls tag 1003 ``serial``."""
        value = self.headers.get("serial")
        if isinstance(value, (list, tuple)):
            value = value[0] if value else None
        return "" if value is None else _text(value)

    @property
    def arch(self) -> str:
        return _text(self.headers.get("arch"))

    @property
    def nvr(self) -> str:
        return f"{self.name}-{self.version}-{self.release}"

    @property
    def is_source(self) -> bool:
        # Source RPMs carry SOURCEPACKAGE=1 and no SOURCERPM; binary ones the reverse.
        flag = self.headers.get("sourcepackage")
        if isinstance(flag, (list, tuple)):
            flag = flag[0] if flag else None
        return flag == 1 or (flag is None and not self.headers.get("sourcerpm"))

    @property
    def requires(self) -> List[str]:
        """Names of what the package requires (rpmfile's ``requirename``)."""
        return _texts(self.headers.get("requirename"))

    # -- payload -------------------------------------------------------------

    def _check_compression(self) -> None:
        comp = self.headers.get("archive_compression", b"")
        if isinstance(comp, str):
            comp = comp.encode()
        if comp == b"lzma":
            raise UsageError(
                f"{self._label}: legacy lzma payload, which rpmfile cannot read; "
                "rebuild it with an xz, gzip or zstd payload"
            )
        if comp not in _COMPRESSIONS:
            raise UsageError(f"{self._label}: unknown payload compression {_text(comp)!r}")
        if comp == b"zstd":
            from ..core.optional import require

            require("zstandard", f"{self._label}: its zstd-compressed payload")
        if comp == b"xz":
            try:
                import lzma  # noqa: F401
            except ImportError:
                raise UsageError(
                    f"{self._label}: xz-compressed payload needs Python's lzma module "
                    "(a Python built with liblzma)"
                ) from None

    def verify_payload_digest(self) -> bool:
        """Compare the payload with the digest in the header, when there is one.

        Catches truncated and corrupted downloads before anything is built.
        Old packages (RHEL 5) carry no payload digest: then the decompressor's
        own checks (gzip CRC, xz check) are what catches damage.
        """
        digests = _texts(self.headers.get("payloaddigest"))
        algo = self.headers.get("payloaddigestalgo")
        if isinstance(algo, (list, tuple)):
            algo = algo[0] if algo else None
        if not digests or algo not in _DIGEST_ALGOS:
            return False
        h = hashlib.new(_DIGEST_ALGOS[algo])
        self._file.seek(self._rpm.data_offset)
        for block in iter(lambda: self._file.read(1 << 20), b""):
            h.update(block)
        if h.hexdigest() not in digests:
            raise UsageError(f"{self._label}: payload digest mismatch (truncated or corrupt RPM)")
        return True

    def members(self) -> List[Member]:
        """Every payload entry except directories, validated; reads the whole payload."""
        if self._members is not None:
            return self._members
        self._check_compression()
        try:
            raw = self._rpm.getmembers()
        except Exception as e:
            raise UsageError(f"{self._label}: corrupt or truncated RPM payload ({_why(e)})") from None
        members = []
        for info in raw:
            name = self._member_name(info.name)
            kind = "symlink" if info.issymlink else ("dir" if info.isdir else "file")
            members.append(Member(name, kind, int(info.size), int(info.mode), info))
        if raw == [] and self.headers.get("basenames"):
            raise UsageError(f"{self._label}: corrupt or truncated RPM payload (no files in it)")
        self._members = members
        return members

    def _member_name(self, raw: Any) -> str:
        if not isinstance(raw, str) or not raw or "\0" in raw:
            raise UsageError(f"{self._label}: payload member with an invalid name")
        if self.is_source:
            # Source RPM payloads are flat: "esound.spec", "esound-0.2.36.tar.bz2".
            if "/" in raw or raw in (".", ".."):
                raise UsageError(f"{self._label}: unsafe member name {raw!r} in a source RPM")
            return raw
        path = raw[1:] if raw.startswith("./") else raw
        if not path.startswith("/"):
            path = "/" + path
        if ".." in path.split("/"):
            raise UsageError(f"{self._label}: unsafe member name {raw!r}")
        return posixpath.normpath(path)

    def read(self, member: Member) -> bytes:
        """The bytes of a regular-file member (a ``Member`` from ``members()``)."""
        try:
            with self._rpm.extractfile(member.info) as f:
                data = f.read()
        except Exception as e:
            raise UsageError(f"{self._label}: cannot read {member.name} ({_why(e)})") from None
        if len(data) != member.size:
            raise UsageError(f"{self._label}: {member.name} is truncated in the payload")
        return data

    def read_all(self) -> Dict[str, bytes]:
        """{name: bytes} of every regular file; proves the whole payload is readable."""
        return {m.name: self.read(m) for m in self.members() if m.kind == "file"}

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "RpmPackage":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def extract_flat(files: Dict[str, bytes], dest: str) -> None:
    """Write ``{name: bytes}`` of a source RPM into the fresh directory ``dest``.

    Names were validated as plain file names; O_EXCL|O_NOFOLLOW still guards
    against a duplicate name or anything already in the way.
    """
    for name, data in files.items():
        if "/" in name or name in ("", ".", ".."):
            raise UsageError(f"unsafe source file name {name!r}")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(os.path.join(dest, name), flags, 0o644)
        except FileExistsError:
            raise UsageError(f"source RPM has the member {name!r} twice") from None
        with os.fdopen(fd, "wb") as f:
            f.write(data)
