"""YAML (and JSON) input read with bounds, refused in one line naming the file.

A YAML file can be small and still expand without end: aliases (``*a``)
share a node, and each level of a "billion laughs" document lists the level
before ten times, so 1 KB becomes 10**30 values the moment anything copies
or prints it (Invoke's merge does). So a document is first composed (nodes,
aliases still shared: cheap) and its *expanded* size counted with one sum per
shared node; it is built into Python data only when that stays under
MAX_NODES (and nests at most MAX_DEPTH deep). The file itself is read as at most MAX_BYTES bytes and decoded as
UTF-8 (or UTF-16 with a byte order mark, as YAML allows) whatever the locale.

``load_bounded_yaml()`` is for any YAML input (the savings proposal too);
``read_config_file()`` reads an Invoke settings file (``.yaml``, ``.yml`` or
``.json``) and also requires every key to be a name.
"""

import codecs
import os
import stat
import sys
from pathlib import PurePath
from typing import Any, Dict, List, Optional, Set, Tuple, Union

from .errors import UsageError, shown

MAX_BYTES = 1 << 20  # 1 MiB: a settings file is a few hundred bytes
MAX_NODES = 100_000  # values once aliases are written out
# Sections in sections: settings go 4 deep. Python code that walks data
# recursively (Invoke's merge, copy.deepcopy) fails some 300 levels down.
MAX_DEPTH = 100

_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"


def load_bounded_yaml(source: Union[str, bytes, "os.PathLike[str]"], label: str,
                      max_bytes: int = MAX_BYTES, max_nodes: int = MAX_NODES,
                      loader: Optional[type] = None, names_only: bool = False) -> Any:
    """The data of one YAML document, or a UsageError of one line starting
    with ``label`` (the file name, or what the text is).

    ``source`` is a path object (the file is read), or the document itself
    as ``str`` or ``bytes``. ``loader`` is a PyYAML loader class (default:
    the SafeLoader of the YAML module Invoke uses; PyYAML's CSafeLoader works
    too). ``names_only``: every mapping key must be a string (a settings file).
    An OSError opening the file (a missing file, say) is raised as it is.
    """
    if isinstance(source, (str, bytes)):
        data = source.encode("utf-8", "surrogatepass") if isinstance(source, str) else source
        if len(data) > max_bytes:
            raise UsageError(f"{label}: {_larger_than(max_bytes)}")
    else:
        data = _read_bounded(os.fspath(source), label, max_bytes)
    text = _decoded(data, label)
    return _load(text, label, max_nodes, loader, names_only)


class DuplicateKey(ValueError):
    """A JSON object gives one key twice (see unique_keys)."""

    def __init__(self, key: str):
        super().__init__(f"duplicate key {key!r}")
        self.key = key


def unique_keys(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    """json's ``object_pairs_hook`` that refuses a key given twice (json
    keeps the last one silently); raises DuplicateKey."""
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: Set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return data


def yaml_module() -> Any:
    """PyYAML when it is installed (the ``savings`` extra: libyaml's C loader
    is 10x faster on a big proposal), else the copy Invoke carries, which
    every install has: the same API, pure Python."""
    try:
        import yaml
    except ImportError:
        from invoke.util import yaml  # type: ignore[no-redef]
    return yaml


def read_config_file(path: str) -> Any:
    """An Invoke settings file's data (``.json``, else YAML), checked as
    load_bounded_yaml() checks; its keys must be names."""
    if path.endswith(".json"):
        import json

        text = _decoded(_read_bounded(path, path, MAX_BYTES), path)
        try:
            return json.loads(text, object_pairs_hook=unique_keys)
        except DuplicateKey as e:  # YAML reads JSON too, and names the line
            load_bounded_yaml(text, path)
            raise UsageError(f"{path}: duplicate key {shown(e.key)}; give each key once") from None
        except json.JSONDecodeError as e:
            raise UsageError(f"{path}: line {e.lineno}, column {e.colno}: {e.msg}") from None
        except ValueError as e:  # a number of more digits than Python converts
            raise UsageError(f"{path}: {e}") from None
    return load_bounded_yaml(PurePath(path), path, names_only=True)


def _larger_than(limit):
    if limit >= 1 << 20 and limit % (1 << 20) == 0:
        return f"larger than {limit >> 20} MiB"
    return f"larger than {limit} bytes"


def _read_bounded(path, label, max_bytes):
    # O_NONBLOCK: a FIFO in the file's place must not hang the open.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UsageError(f"{label}: not a regular file")
        if st.st_size > max_bytes:
            raise UsageError(f"{label}: {_larger_than(max_bytes)}")
        chunks = []
        size = 0
        while size <= max_bytes:  # the file may grow while it is read
            chunk = os.read(fd, max_bytes + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:
            raise UsageError(f"{label}: {_larger_than(max_bytes)}")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _decoded(data, label):
    """UTF-8 text (a UTF-8 byte order mark dropped), or UTF-16 with its mark."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, skip = "utf-16", 0
    else:
        encoding, skip = "utf-8", len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[skip:].decode(encoding)
    except UnicodeDecodeError as e:
        offset = skip + e.start
        line = data.count(b"\n", 0, offset) + 1
        name = "UTF-8" if encoding == "utf-8" else "UTF-16"
        raise UsageError(f"{label}: not {name} text (byte 0x{data[offset]:02x} at offset "
                         f"{offset}, line {line})") from None


def _yaml_errors(loader):
    """The YAMLError classes that ``loader``'s module and Invoke's can raise."""
    from invoke.util import yaml

    classes = [yaml.YAMLError]
    # A subclass of a PyYAML loader (defined elsewhere) raises its base's errors.
    for cls in getattr(loader, "__mro__", ()):
        module = sys.modules.get(cls.__module__.split(".")[0])
        other = getattr(module, "YAMLError", None)
        if isinstance(other, type) and other not in classes:
            classes.append(other)
    return tuple(classes)


def _load(text, label, max_nodes, loader_class, names_only):
    if loader_class is None:
        from invoke.util import yaml

        loader_class = yaml.SafeLoader
    yaml_errors = _yaml_errors(loader_class)
    loader = None
    try:
        loader = loader_class(text)  # the reader refuses control characters here
        node = loader.get_single_node()
        if node is None:
            return None
        _check_nodes(node, label, max_nodes, names_only, loader)
        return loader.construct_document(node)
    except RecursionError:
        raise UsageError(f"{label}: nested too deeply") from None
    except yaml_errors as e:
        raise UsageError(f"{label}: {_yaml_problem(e, text)}") from None
    except (ValueError, OverflowError) as e:  # a date like 2001-13-45, a huge number
        raise UsageError(f"{label}: {e}") from None
    finally:
        if loader is not None:
            loader.dispose()


def _yaml_problem(error, text):
    """Where (line, column) and what, from PyYAML's several error shapes."""
    if isinstance(getattr(error, "position", None), int):  # ReaderError: a bad character
        before = text[:error.position]
        line, column = before.count("\n") + 1, len(before) - before.rfind("\n")
        return (f"line {line}, column {column}: character {shown(chr(error.character))} "
                f"is not allowed in YAML")
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None)
    context = getattr(error, "context", None)
    if problem and context and not context.startswith("while "):
        problem = f"{context}, {problem}"  # "expected a single document..., but found another"
    problem = problem or context or " ".join(str(error).split())
    if mark is None:
        return problem
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"


def _where(node):
    mark = node.start_mark
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _children(node) -> List[Any]:
    if node.id == "sequence":
        return list(node.value)
    if node.id == "mapping":  # (key, value) pairs
        return [child for pair in node.value for child in pair]
    return []  # a scalar


def _check_nodes(top: Any, label: str, max_nodes: int, names_only: bool, loader: Any) -> None:
    """Count the values ``top`` stands for with every alias written out (one
    sum per shared node, so a bomb costs what its text does); refuse a
    document over ``max_nodes``, nesting deeper than MAX_DEPTH, an alias
    inside itself, a key given twice in one mapping (``loader`` reads the
    keys) and (names_only) a key that is not a string. Iterative: no
    recursion limit to meet."""
    sizes: Dict[int, int] = {}
    ancestors: Set[int] = set()
    stack: List[Tuple[Any, bool]] = [(top, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            ancestors.discard(key)
            total = 1 + sum(sizes[id(child)] for child in _children(node))
            if total > max_nodes:
                raise UsageError(f"{label}: {_where(node)}: more than {max_nodes:,} values "
                                 "once its aliases are written out (an alias bomb?)")
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in ancestors:
            raise UsageError(f"{label}: {_where(node)}: an alias that refers to itself "
                             "(it would never end)")
        ancestors.add(key)
        if len(ancestors) > MAX_DEPTH:
            raise UsageError(f"{label}: {_where(node)}: nested deeper than {MAX_DEPTH} levels")
        stack.append((node, True))
        if node.id == "mapping":
            if names_only:
                _check_names(node, label)
            _check_unique_keys(node, label, loader)
        stack.extend((child, False) for child in reversed(_children(node)))


def _check_unique_keys(mapping: Any, label: str, loader: Any) -> None:
    """A key given twice in one mapping is refused: PyYAML keeps the last one
    silently, so ``price: 0.32`` then ``price: 3200`` would be read as 3200.
    Keys are compared as values (``1`` and ``0x1``, ``yes`` and ``true`` are
    one key); the merge key ``<<`` may override, as YAML means it to."""
    first: Dict[Any, Any] = {}
    for key_node, _ in mapping.value:
        if key_node.id != "scalar" or key_node.tag == _MERGE_TAG:
            continue  # a sequence or mapping as a key is refused when it is built
        key = loader.construct_object(key_node)
        try:
            earlier = first.setdefault(key, key_node)
        except TypeError:  # not hashable: the constructor says so
            continue
        if earlier is not key_node:
            raise UsageError(f"{label}: {_where(key_node)}: duplicate key {shown(key_node.value)} "
                             f"(first given on line {earlier.start_mark.line + 1}); give each key once")


def _check_names(mapping, label):
    for key_node, _ in mapping.value:
        if key_node.tag in (_STR_TAG, _MERGE_TAG):
            continue
        text = key_node.value if isinstance(key_node.value, str) else "[...]"
        if not isinstance(key_node.value, str):
            start, end = key_node.start_mark, key_node.end_mark
            if start.buffer is not None:
                text = start.buffer[start.pointer:end.pointer]
        raise UsageError(f"{label}: {_where(key_node)}: key {_short(text)} is not a name "
                         "(quote it to make it one)")


def _short(text):
    return text if len(text) <= 40 and text.isprintable() else shown(text)
