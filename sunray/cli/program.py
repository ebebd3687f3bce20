"""The ``sunray`` program: the same tasks as ``invoke`` in a checkout.

Hooks and admins call it from anywhere (``sunray boot``). Unlike the stock
Invoke program:

- a command-line parse error exits 2 (bad usage), like every other usage
  error of the toolkit;
- every error it prints is one line starting ``sunray: ``, whatever the
  input (sunray.core.errors.message_line);
- settings files are read with bounds (sunray.core.yamlload: size, aliases,
  nesting, UTF-8, keys that are names);
- a broken configuration (a YAML syntax error, a list where a section
  belongs, ``INVOKE_SUNRAY_MODULES_JOBS=abc``, a missing ``-f FILE``) ends
  with exit 2 and one line ``sunray: config: ...``, never a traceback;
- only the core flags the toolkit honours exist. Invoke's flags for its
  ``run()`` (``--dry``, ``--echo``, ``--warn-only``, ``--pty``, ...) would be
  accepted and silently ignored, since no task runs shell commands through
  Invoke: ``sunray --dry esd-dir`` would do the real job.
"""

import contextlib
import copy
import os
import re
import sys
from typing import Any, Dict, Iterator, List, Optional

from invoke import Argument, Config, Program
from invoke.env import Environment
from invoke.exceptions import Exit, UncastableEnvVar
from invoke.parser import ParseError

from .. import __version__
from ..core.errors import SunrayError, UsageError, message_line, shown

# Core flags the toolkit honours; Invoke's others concern run() or loading a
# tasks module from disk (search root, collection), which `sunray` never does.
CORE_FLAGS = (
    "help", "version", "list", "list-depth", "list-format",
    "complete", "print-completion-script", "config",
)


@contextlib.contextmanager
def config_errors(config: Optional[Config] = None) -> Iterator[None]:
    """Invoke's errors while loading or merging configuration -> exit 2, one line."""
    try:
        yield
    except Exit:
        raise
    except SunrayError as e:  # sunray.core.yamlload's refusals (YAML errors too) name the file
        raise Exit(message_line(f"sunray: config: {e}"), code=2) from None
    except OSError as e:
        raise Exit(message_line(f"sunray: config: {e.filename or ''}: {e.strerror or e}"),
                   code=2) from None
    except Exception as e:  # Invoke raises several kinds (ValueError, UncastableEnvVar...)
        if os.environ.get("SUNRAY_DEBUG"):
            raise
        message = (_shape_conflict(config) if config is not None else None) or str(e)
        raise Exit(message_line(f"sunray: config: {message}"), code=2) from None


@contextlib.contextmanager
def usage_errors(collection: Any = None) -> Iterator[None]:
    """Invoke's parse errors, and the messages of its own Exits (``--help
    frobnicate``, ``--list nosuch``), -> exit 2 with one line "sunray: ...".
    With the task ``collection``, a word Invoke has no idea of gets a
    suggestion (unknown_word)."""
    try:
        yield
    except (ParseError, ValueError) as e:  # ValueError: --list-depth abc, --jobs abc
        unknown = re.fullmatch(r"No idea what '(.*)' is!", str(e))
        if unknown and collection is not None:
            raise Exit(message_line(f"sunray: {unknown_word(unknown.group(1), collection)}"),
                       code=2) from None
        raise Exit(usage_line(str(e)), code=2) from None
    except Exit as e:
        if e.message and not str(e.message).startswith("sunray: "):  # Invoke's own words
            raise Exit(usage_line(str(e.message)), code=2) from None
        raise


def refuse_list_flags_without_value(tokens: List[str], collection: Any) -> None:
    """A repeatable flag (--kernel, --rpm, --group) at the end of the line or
    before another flag: Invoke keeps the values before it and drops it
    silently once the flag has had one, so `--kernel A --kernel --force`
    would build A alone, forced. A ParseError instead."""
    names = {alias: name for name, aliases in collection.task_names.items()
             for alias in [name, *aliases]}
    flags: Any = ()  # the repeatable flags of the task being read
    for i, token in enumerate(tokens):
        if token == "--":  # what follows is not ours to read
            return
        if token in names:
            flags = {"--" + n.replace("_", "-") for n in collection[names[token]].iterable}
        elif token in flags and (i + 1 == len(tokens) or tokens[i + 1].startswith("--")):
            raise ParseError(f"{token} needs a value (one per {token}: {token} A {token} B)")


def unknown_word(word: str, collection: Any) -> str:
    """What to say of a word on the command line that is neither a task nor
    a flag where it stands: a task name mistyped (``docter``), a task's flag
    before the task (``--dry-run esd-dir``), a flag mistyped."""
    import difflib

    if word in ("--dry", "-d", "-R"):  # Invoke's own dry-run flags, which sunray has not
        return f"no flag {word} (to change nothing, give the task --dry-run)"
    if not word.startswith("-"):
        close = difflib.get_close_matches(word, list(collection.task_names), n=1)
        hint = f"did you mean {close[0]!r}?" if close else "`sunray --list` lists the tasks"
        return f"no task '{word}'; {hint}"  # message_line escapes what it must
    flags = sorted({flag for context in collection.to_contexts() for flag in context.flags})
    if word in flags:
        return f"{word} is a task's flag: give it after the task (sunray TASK {word})"
    close = difflib.get_close_matches(word, flags, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else " (`sunray --help TASK` lists a task's flags)"
    return f"no flag {word}{hint}"


def usage_line(problem: str) -> str:
    """Invoke's message about the command line as sunray prints it."""
    # "Flag <Argument: root> needed value..." names the flag as the admin typed it.
    problem = re.sub(r"<Argument: ([\w-]+)[^>]*>",
                     lambda m: ("--" if len(m.group(1)) > 1 else "-") + m.group(1), problem)
    if re.search(r"'(--dry|-d|-R)'", problem):  # Invoke's own dry-run flag
        problem += " (to change nothing, give the task --dry-run)"
    return message_line(f"sunray: {problem}")


def _shape_conflict(config):
    """Which file puts a single value where a section belongs, or the other way
    round (Invoke's AmbiguousMergeError names neither file nor key)."""
    from ..core.config import merge_into

    known = {}
    for level in ("_defaults", "_collection"):
        merge_into(known, copy.deepcopy(getattr(config, level, None) or {}))
    for level in ("system", "user", "project", "runtime"):
        path = getattr(config, f"_{level}_path", None)
        if not getattr(config, f"_{level}_found", None) or not os.path.isfile(str(path)):
            continue
        data = getattr(config, f"_{level}", None)
        if data is None:
            continue
        if not isinstance(data, dict):
            return f"{path}: expected a mapping of settings (section: ...), not {shown(data)}"
        conflict = _first_conflict(known, data, "")
        if conflict:
            return f"{path}: {conflict}"
    return None


def _first_conflict(known, data, where):
    for key, value in data.items():
        path = f"{where}{key}"
        if key not in known:
            continue
        if isinstance(known[key], dict) != isinstance(value, dict):
            if isinstance(known[key], dict):
                return f"{path}: {shown(value)} where a section of settings belongs"
            return f"{path}: a section where a single value belongs"
        if isinstance(value, dict):
            conflict = _first_conflict(known[key], value, f"{path}.")
            if conflict:
                return conflict
    return None


class SunrayEnvironment(Environment):
    """``INVOKE_*`` variables, read without Invoke's loose casts.

    Invoke turns any value of a boolean setting but "0" and "" into True
    (``..._HOOK_STRICT=false`` would switch strict mode on) and raises a bare
    ValueError for ``..._JOBS=abc``. For the ``sunray`` section the string is
    kept as it is and ``sunray.core.config.validate()`` reads it strictly.
    """

    def _path_set(self, key_path, value):
        var = (self._prefix or "") + self._to_env_var(key_path)
        old = self._path_get(key_path)
        if isinstance(old, (list, tuple)):
            raise UncastableEnvVar(
                f"{var}: a list cannot be set from an environment variable; "
                f"set {'.'.join(key_path)} in a config file")
        if key_path[0] == "sunray" and isinstance(old, (bool, int, float)):
            target = self.data
            for key in key_path[:-1]:
                target = target.setdefault(key, {})
            target[key_path[-1]] = value
            return
        try:
            super()._path_set(key_path, value)
        except ValueError:
            raise UncastableEnvVar(
                f"{var}={value!r}: expected {type(old).__name__}") from None


def check_sections(data: Any, path: str) -> None:
    """A top section of a settings file that looks like ``sunray`` but is not
    (``sunrey:``, ``Sunray:``) is refused: its settings would be ignored
    without a word. Other sections pass: Invoke reads its own (``run:``...),
    other Invoke programs may share /etc/invoke.yaml, and YAML anchors live
    in sections of their own."""
    import difflib

    if not isinstance(data, dict):
        return  # the shape is checked once the files are merged
    for key in data:
        if key != "sunray" and difflib.get_close_matches(str(key).lower(), ["sunray"], n=1, cutoff=0.75):
            raise UsageError(f"{path}: unknown section {shown(key)} (did you mean 'sunray'?)")


class SunrayConfig(Config):
    """Invoke's Config with bounded settings files, strict env vars and
    one-line errors while the executor loads the task's configuration."""

    def _load_yaml(self, path: Any) -> Any:  # a str, whatever its hint says
        # Invoke's yaml.safe_load of the whole file: a 1 KB alias bomb hung
        # the program; a non-UTF-8 file gave a codec error naming no file;
        # a key given twice was read as its last value.
        from ..core.yamlload import read_config_file

        data = read_config_file(str(path))
        check_sections(data, str(path))
        return data

    _load_yml = _load_yaml
    _load_json = _load_yaml  # read_config_file reads .json as JSON

    def load_collection(self, data: Dict[str, Any], merge: bool = True) -> None:
        with config_errors(self):
            super().load_collection(data, merge=merge)

    def load_shell_env(self) -> None:
        with config_errors(self):
            self.merge()
            loader = SunrayEnvironment(config=self._config, prefix=self._env_prefix)
            self._set(_env=loader.load())
            self.merge()


class SunrayProgram(Program):
    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("config_class", SunrayConfig)
        super().__init__(*args, **kwargs)

    def core_args(self) -> List[Argument]:
        args = [arg for arg in super().core_args() if arg.name in CORE_FLAGS]
        for arg in args:
            if arg.name == "config":
                arg.help = ("Read settings from this YAML file too, over /etc/invoke.yaml "
                            "and ~/.invoke.yaml (it must exist).")
        return args

    def task_args(self) -> List[Argument]:
        return []  # only used when Invoke loads a tasks module from disk

    def create_config(self) -> None:
        # Invoke's create_config, with /etc/invoke.yaml and ~/.invoke.yaml
        # read inside the error guard.
        self.config = self.config_class(lazy=True)
        with config_errors(self.config):
            self.config.load_base_conf_files()
            self.config.merge()

    def parse_core(self, argv: Optional[List[str]]) -> None:
        # Invoke's parse_core, less the flags removed above (--debug, --write-pyc).
        self.normalize_argv(argv)
        with usage_errors(self.namespace):
            self.parse_core_args()
        if self.args.version.value:
            self.print_version()
            raise Exit
        if self.args["print-completion-script"].value:
            from invoke.completion.complete import print_completion_script

            print_completion_script(
                shell=self.args["print-completion-script"].value, names=self.binary_names
            )
            raise Exit

    def parse_tasks(self) -> None:
        with usage_errors(self.collection):
            refuse_list_flags_without_value(self.core.unparsed, self.collection)
            super().parse_tasks()

    def parse_cleanup(self) -> None:
        # --help TASK, --list ROOT, --list-depth with json: Invoke's own messages.
        with usage_errors():
            super().parse_cleanup()

    def update_config(self, merge: bool = True) -> None:
        # Invoke's update_config, less the run() overrides; a -f FILE (or
        # INVOKE_RUNTIME_CONFIG) that does not exist is an error, not skipped.
        path = self.args.config.value or os.environ.get("INVOKE_RUNTIME_CONFIG") or None
        if path is not None and not os.path.isfile(os.path.expanduser(path)):
            problem = "not a file" if os.path.exists(os.path.expanduser(path)) else "no such file"
            raise Exit(message_line(f"sunray: config: {path}: {problem}"), code=2)
        with config_errors(self.config):
            # Invoke's hint says os.PathLike only; it takes a str (its own Program passes one).
            self.config.set_runtime_path(path)  # type: ignore[arg-type]
            self.config.load_runtime(merge=False)
            if merge:
                self.config.merge()


def asks_for_nagios(argv: List[str]) -> bool:
    """Whether the command line is `doctor --format nagios` (as a plugin runs it)."""
    if "doctor" not in argv:
        return False
    rest = argv[argv.index("doctor") + 1:]
    return "--format=nagios" in rest or any(
        a == "--format" and b == "nagios" for a, b in zip(rest, rest[1:]))


def run_as_plugin(program: "SunrayProgram", argv: List[str]) -> None:
    """Run `doctor --format nagios` so that whatever goes wrong before or
    instead of the checks (a usage error, a broken configuration, an
    internal error) is a plugin's UNKNOWN: one status line on stdout, exit 3."""
    import io

    from . import output

    captured = io.StringIO()
    real_stderr = sys.stderr
    sys.stderr = captured
    code: Any = 0
    try:
        program.run(argv)
    except SystemExit as e:
        code = e.code
    except Exception as e:  # never a traceback for the monitoring system
        captured.write(message_line(f"sunray: internal error: {e}") + "\n")
        code = 1
    finally:
        sys.stderr = real_stderr
    said = captured.getvalue()
    if output.plugin_output_done or code in (0, None):
        real_stderr.write(said)
        sys.exit(code)
    from ..doctor.nagios import UNKNOWN, unknown

    first = next((line for line in said.splitlines() if line.strip()), "")
    sys.stdout.write(unknown(first or f"sunray exited {code} before checking"))
    sys.stdout.flush()
    real_stderr.write(said)
    sys.exit(UNKNOWN)


def main(argv: Optional[List[str]] = None) -> None:
    from . import tasks

    program = SunrayProgram(
        namespace=tasks.ns, name="sunray", binary="sunray", binary_names=["sunray"],
        version=__version__,
    )
    argv = argv if argv is not None else sys.argv
    try:
        if asks_for_nagios(argv[1:]):
            run_as_plugin(program, argv)
        program.run(argv)
    except BrokenPipeError:
        # `sunray --help | head`: the reader left; that is not an error.
        sys.stderr.close()
        sys.exit(0)
    except OSError as e:
        # The last resort: writing the error line itself failed (stderr on a
        # full disk). Nothing more can be said; the exit status still says
        # what happened, and nothing may raise from here.
        os._exit(_exit_code(e.__context__))


def _exit_code(error: Optional[BaseException]) -> int:
    """The exit status of the error whose message could not be written."""
    code = getattr(error, "code", None)
    if isinstance(code, int) and 0 <= code < 256:
        return code
    return 2 if isinstance(error, ParseError) else 1


if __name__ == "__main__":  # python -m sunray.cli.program
    main()
