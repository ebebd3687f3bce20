"""The savings task from end to end: read, compute, render, write.

The three steps live apart: ``proposal`` reads the inputs (presets,
settings, the proposal file, flags) into sites; ``evaluate`` computes the
figures; ``render`` turns them into the requested format. This module only
glues them, and checks the destination first.
"""

import contextlib
import gc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional

from . import i18n, model, render
from . import output as destination
from .carbon import TABLE
from .evaluate import evaluate
from .proposal import PathLike, plan, read_proposal


@dataclass
class SavingsOutput:
    """What the task prints: the rendered document, or where it went."""

    text: str
    written_to: str = ""
    warnings: List[str] = field(default_factory=list)
    failure: str = ""

    def to_text(self) -> str:
        if self.written_to:
            return f"wrote {self.written_to}"
        return self.text

    def to_dict(self) -> Dict[str, Optional[str]]:
        return {"written_to": self.written_to or None}


@contextlib.contextmanager
def _without_cycle_collector() -> Iterator[None]:
    """Python's cycle collector paused: a proposal's figures are millions of
    small objects and no cycles, which the collector walked again and again
    (10,000 sites: 0.1 s of about 1 s). Reference counting still frees them.
    The switch is the process's: other threads go without it meanwhile."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def run(savings_settings: Mapping[str, Any], flags: Mapping[str, Optional[str]],
        proposal_path: Optional[PathLike] = None, fmt: str = "text",
        output: Optional[PathLike] = None, force: bool = False, lang: Optional[str] = None,
        paper: Optional[str] = None) -> SavingsOutput:
    """The savings task: plan, evaluate, render, print or write.

    The destination is checked first (never an input; a stranger's file only
    with ``force``), so a refused ``--output`` costs no work. Numbers in
    ``flags`` are read as the report's language writes them (--lang de: 0,32)."""
    request = render.Request.checked(fmt, lang, paper, output, savings_settings)
    # Every file the run reads: the proposal, and the bundled grid table
    # (a file in a checkout or an installed copy; inside a pyz it is not).
    inputs: List[PathLike] = [Path(__file__).resolve().parent.parent / TABLE]
    if proposal_path is not None:
        inputs.append(proposal_path)
    if output:
        destination.check_output(output, inputs, force=force)
    numeric = [f.name for f in model.FIELDS if f.kind in ("int", "number")]
    flags = i18n.typed_numbers(flags, numeric, request.locale)
    with _without_cycle_collector():
        data = read_proposal(proposal_path) if proposal_path is not None else None
        sites, meta = plan(savings_settings, flags, proposal_path, data)
        with render.language(request):  # the notes are worded as the proposal is evaluated
            files = render.render(evaluate(sites, meta), request)
    if output:
        for path, _ in files[1:]:  # the CSV beside a large PDF, known only now
            if path is not None:
                destination.check_output(path, inputs, force=force)
        for path, document in files:
            destination.write_output(path or output, document)
        return SavingsOutput("", written_to=", ".join(str(path) for path, _ in files))
    return SavingsOutput(files[0][1].decode("utf-8"))
