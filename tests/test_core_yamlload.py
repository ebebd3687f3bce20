"""sunray.core.yamlload: YAML read with bounds (size, expanded nodes, nesting),
every refusal one line naming the file."""

import time
from pathlib import Path

import pytest

from sunray.core.errors import UsageError
from sunray.core.yamlload import MAX_BYTES, MAX_NODES, load_bounded_yaml, read_config_file


def alias_bomb(levels, width=10):
    """A billion-laughs document: each level lists the one before ``width`` times."""
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    lines.append(f"sunray: {{tmp: {{protect: *a{levels}}}}}")
    return "\n".join(lines) + "\n"


def test_plain_documents_load_as_before():
    assert load_bounded_yaml("sunray: {tmp: {protect: [/a, /b]}}\n", "x") == \
        {"sunray": {"tmp": {"protect": ["/a", "/b"]}}}
    assert load_bounded_yaml("", "x") is None
    assert load_bounded_yaml("# only a comment\n", "x") is None
    assert load_bounded_yaml(b"a: 1\n", "x") == {"a": 1}
    assert load_bounded_yaml("\ufeffa: 1\n", "x") == {"a": 1}
    assert load_bounded_yaml("a: &x [1, 2]\nb: *x\n", "x") == {"a": [1, 2], "b": [1, 2]}
    merged = load_bounded_yaml("base: &b {x: 1}\nmine:\n  <<: *b\n  y: 2\n", "x")
    assert merged["mine"] == {"x": 1, "y": 2}
    assert load_bounded_yaml("a: " + "[" * 50 + "]" * 50 + "\n", "x")["a"] is not None


def test_a_file_is_read_as_bytes_and_decoded_strictly(tmp_path):
    path = tmp_path / "site.yaml"
    path.write_bytes("sunray: {esd: {dir: /tmp/.\u00e9sd}}\n".encode())
    assert load_bounded_yaml(path, str(path)) == {"sunray": {"esd": {"dir": "/tmp/.\u00e9sd"}}}
    path.write_bytes("a: 1\n".encode("utf-16"))  # with its byte order mark
    assert load_bounded_yaml(path, str(path)) == {"a": 1}


@pytest.mark.parametrize("levels", [5, 9, 30])
def test_an_alias_bomb_is_refused_quickly_in_one_short_line(levels):
    text = alias_bomb(levels)
    assert len(text) < 2200  # about 1 KB at the default depth
    start = time.monotonic()
    with pytest.raises(UsageError) as caught:
        load_bounded_yaml(text, "/etc/site.yaml")
    assert time.monotonic() - start < 5
    message = str(caught.value)
    assert message.startswith("/etc/site.yaml: ")
    assert f"more than {MAX_NODES:,} values" in message
    assert "\n" not in message and len(message) < 300


def test_just_below_the_node_limit_loads():
    # a3 alone is 11,111 values, and sunray.tmp.protect is a3 once more.
    data = load_bounded_yaml(alias_bomb(3, width=10), "x", max_nodes=30_000)
    assert len(data["sunray"]["tmp"]["protect"]) == 10
    with pytest.raises(UsageError, match="more than 1,000 values"):
        load_bounded_yaml(alias_bomb(3, width=10), "x", max_nodes=1000)


def test_a_recursive_alias_is_refused():
    with pytest.raises(UsageError, match=r"^x: line 1, column 4: an alias that refers to itself"):
        load_bounded_yaml("a: &a [*a]\n", "x")
    with pytest.raises(UsageError, match="refers to itself"):
        load_bounded_yaml("a: &a {b: {c: *a}}\n", "x")


def test_deep_nesting_is_refused_not_a_crash():
    text = "a: " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(UsageError, match=r"^site: nested too deeply"):
        load_bounded_yaml(text, "site")
    # Deep enough to break Invoke's recursive merge later, not the reader.
    text = "a: " + "[" * 250 + "]" * 250 + "\n"
    with pytest.raises(UsageError, match=r"^site: line 1, column 103: nested deeper than 100 levels"):
        load_bounded_yaml(text, "site")
    value, depth = load_bounded_yaml("a: " + "[" * 99 + "]" * 99, "site")["a"], 1
    while value:
        value, depth = value[0], depth + 1
    assert depth == 99  # with the mapping around it: 100 levels, the most there may be
    with pytest.raises(UsageError, match="nested deeper than 100 levels"):
        load_bounded_yaml("a: " + "[" * 100 + "]" * 100, "site")


def test_size_limit(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# " + b"x" * MAX_BYTES + b"\n")
    with pytest.raises(UsageError, match=r"big\.yaml: larger than 1 MiB"):
        load_bounded_yaml(path, str(path))
    with pytest.raises(UsageError, match=r"^text: larger than 1 MiB"):
        load_bounded_yaml("#" * (MAX_BYTES + 1), "text")
    assert load_bounded_yaml("a: 1\n", "x", max_bytes=5) == {"a": 1}
    with pytest.raises(UsageError, match="larger than 4 bytes"):
        load_bounded_yaml("a: 1\n", "x", max_bytes=4)


def test_not_utf8_names_the_byte_and_its_offset(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"sunray:\n  esd: {dir: /tmp/\xe9sd}\n")
    with pytest.raises(UsageError) as caught:
        load_bounded_yaml(path, str(path))
    assert str(caught.value) == f"{path}: not UTF-8 text (byte 0xe9 at offset 26, line 2)"


@pytest.mark.parametrize("text, needle", [
    ("a: [1\n", "line 2, column 1: expected ',' or ']'"),
    ("a:\n\tb: 1\n", "line 2, column 1: found character '\\t' that cannot start any token"),
    ("a: \x00\n", "line 1, column 4: character '\\x00' is not allowed in YAML"),
    ("a: *nope\n", "line 1, column 4: found undefined alias 'nope'"),
    ("a: !!python/object:os.system x\n", "could not determine a constructor"),
    ("a: 1\n---\nb: 2\n", "expected a single document"),
    ("? [a]\n: 1\n", "found unhashable key"),
    ("a: 2001-13-45\n", "month must be in 1..12"),
])
def test_yaml_errors_are_one_line_with_position(text, needle):
    with pytest.raises(UsageError) as caught:
        load_bounded_yaml(text, "/etc/site.yaml")
    message = str(caught.value)
    assert message.startswith("/etc/site.yaml: ")
    assert needle in message
    assert "\n" not in message


def test_config_files_take_settings_names_only(tmp_path):
    """A settings file's keys are names: YAML's `1:`, `yes:` or `null:` keys
    (an int, a bool, None) made Invoke fail with 'sequence item 1: expected
    str instance, int found'."""
    path = tmp_path / "site.yaml"
    for text, shown in [("sunray: {1: x}\n", "1"), ("sunray:\n  esd: {yes: x}\n", "yes"),
                        ("null: 1\n", "null"), ("sunray: {[a]: 1}\n", "[a]")]:
        path.write_text(text)
        with pytest.raises(UsageError) as caught:
            read_config_file(str(path))
        message = str(caught.value)
        assert message.startswith(f"{path}: line "), message
        assert f"key {shown} is not a name" in message
    path.write_text("sunray: {'1': x, 'yes': y, savings: {defaults: {currency: EUR}}}\n")
    assert read_config_file(str(path))["sunray"]["1"] == "x"
    # The savings proposal loader has no such rule (its keys are checked there).
    assert load_bounded_yaml("1: x\n", "p") == {1: "x"}


def test_config_file_shapes(tmp_path):
    path = tmp_path / "site.yaml"
    path.write_text("")
    assert read_config_file(str(path)) is None
    missing = tmp_path / "missing.yaml"
    with pytest.raises(FileNotFoundError):  # Invoke skips a missing optional file
        read_config_file(str(missing))
    with pytest.raises(UsageError, match="not a regular file"):
        read_config_file(str(tmp_path))
    json_file = tmp_path / "site.json"
    json_file.write_text('{"sunray": {"esd": {"dir": "/tmp/.x"}}}')
    assert read_config_file(str(json_file)) == {"sunray": {"esd": {"dir": "/tmp/.x"}}}
    json_file.write_text('{"sunray": {')
    with pytest.raises(UsageError) as caught:
        read_config_file(str(json_file))
    assert str(caught.value).startswith(f"{json_file}: line 1, column 13: ")


def test_another_loader_class_can_be_given():
    """The savings proposal reads with PyYAML's libyaml loader when present."""
    yaml = pytest.importorskip("yaml")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    assert load_bounded_yaml("a: [1, 2]\n", "p", loader=loader) == {"a": [1, 2]}
    with pytest.raises(UsageError, match="more than"):
        load_bounded_yaml(alias_bomb(9), "p", loader=loader)
    with pytest.raises(UsageError, match=r"^p: line 2, column 1: "):
        load_bounded_yaml("a: [1\n", "p", loader=loader)


def test_a_path_object_is_a_file_and_a_string_is_text(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("a: 1\n")
    assert load_bounded_yaml(Path(path), "f") == {"a": 1}
    assert load_bounded_yaml(str(path), "f") == str(path)  # a str is the document itself


@pytest.mark.parametrize("text, needle", [
    ("a: 1\nb: 2\na: 3\n", "x: line 3, column 1: duplicate key 'a' (first given on line 1)"),
    ("{a: 1, a: 1}\n", "x: line 1, column 8: duplicate key 'a'"),
    ("top:\n  - {k: 1}\n  - k: 1\n    k: 2\n", "x: line 4, column 5: duplicate key 'k' (first given on line 3)"),
    ("1: a\n0x1: b\n", "x: line 2, column 1: duplicate key '0x1'"),  # the same key as a value
    ("yes: a\ntrue: b\n", "x: line 2, column 1: duplicate key 'true'"),
    ("a: &m {k: 1, k: 2}\nb: *m\n", "x: line 1, column 14: duplicate key 'k'"),
])
def test_a_key_given_twice_is_refused_with_its_line(text, needle):
    """PyYAML keeps the last of two equal keys without a word. Refused with
    Invoke's copy of the loader and with libyaml's (the savings extra)."""
    yaml = pytest.importorskip("yaml")
    for loader in (None, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        with pytest.raises(UsageError) as caught:
            load_bounded_yaml(text, "x", loader=loader)
        assert str(caught.value).startswith(needle), str(caught.value)


def test_keys_that_differ_and_merge_keys_are_not_duplicates():
    data = load_bounded_yaml("base: &b {x: 1, y: 1}\nmine:\n  <<: *b\n  x: 2\nother: {<<: [*b], y: 3}\n"
                             "'1': text\n1: number\n", "x")
    assert data["mine"] == {"x": 2, "y": 1} and data["other"] == {"x": 1, "y": 3}
    assert data["1"] == "text" and data[1] == "number"


def test_a_json_settings_file_with_a_key_twice_is_refused(tmp_path):
    path = tmp_path / "site.json"
    path.write_text('{"sunray": {"root": "/",\n  "root": "/x"}}')
    with pytest.raises(UsageError, match=r"site.json: line 2, column 3: duplicate key 'root'"):
        read_config_file(str(path))
