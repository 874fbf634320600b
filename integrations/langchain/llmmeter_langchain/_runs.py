"""The runs a handler is recording, keyed by LangChain's run_id, freed on every path.

A run is recorded by ONE llmmeter handler: the first that sees it start claims it, so the handler
that ``llmmeter.instrument()`` registers and one passed explicitly in ``callbacks=[...]`` never both
record the same run. A run that has not ended when its parent ends (a stream nobody closed) is
handed back with the parent, to be ended as abandoned.
"""

from __future__ import annotations

from uuid import UUID

from llmmeter._telemetry._call import Call, SpanHandle
from llmmeter._telemetry._step import Step

__all__ = ["Run", "Runs", "claimed_runs"]

# run_id -> the handler recording it, shared by every handler in the process.
_owners: dict[UUID, object] = {}


class Run:
    """One open run: a model call or a step, with what its children need."""

    __slots__ = ("call", "children", "name", "parent_id", "step", "streamed")

    def __init__(
        self,
        parent_id: UUID | None,
        *,
        call: Call | None = None,
        step: Step | None = None,
        name: str | None = None,
    ) -> None:
        self.parent_id = parent_id
        self.call = call
        self.step = step
        self.name = name
        """A step's name, kept while it may still turn out to be an agent; None once it is one."""
        self.streamed = False
        """A model run: its first chunk came."""
        self.children: list[UUID] | None = None

    @property
    def handle(self) -> SpanHandle:
        """This run's span, as the parent of its children."""
        if self.call is not None:
            return self.call.handle
        assert self.step is not None
        return self.step.handle


class Runs:
    """The open runs of one handler."""

    __slots__ = ("_open", "_owner")

    def __init__(self, owner: object) -> None:
        self._owner = owner
        self._open: dict[UUID, Run] = {}

    def __len__(self) -> int:
        return len(self._open)

    def claim(self, run_id: UUID) -> bool:
        """Take ``run_id`` for this handler; False when another handler records it."""
        return _owners.setdefault(run_id, self._owner) is self._owner

    def parent(self, parent_id: UUID | None) -> SpanHandle | None:
        """The span of the parent run, or None when the parent is not recorded here."""
        if parent_id is None:
            return None
        parent = self._open.get(parent_id)
        return None if parent is None else parent.handle

    def add(self, run_id: UUID, run: Run) -> None:
        """Register a started run under its parent."""
        self._open[run_id] = run
        if run.parent_id is not None:
            parent = self._open.get(run.parent_id)
            if parent is not None:
                if parent.children is None:
                    parent.children = []
                parent.children.append(run_id)

    def get(self, run_id: UUID) -> Run | None:
        """The open run ``run_id``, if this handler records it."""
        return self._open.get(run_id)

    def pop(self, run_id: UUID) -> Run | None:
        """Remove ``run_id``; returns it when this handler recorded it and it was still open."""
        run = self._open.pop(run_id, None)
        if run is not None:
            _owners.pop(run_id, None)
        return run

    def release(self, run_id: UUID) -> None:
        """Give up a claim on a run that could not be started."""
        if _owners.get(run_id) is self._owner:
            del _owners[run_id]

    def leftovers(self, run: Run) -> list[Run]:
        """Remove and return the still-open descendants of an ended run, deepest first."""
        found: list[Run] = []
        pending = list(run.children or ())
        while pending:
            child = self.pop(pending.pop())
            if child is not None:
                pending.extend(child.children or ())
                found.append(child)
        found.reverse()
        return found


def claimed_runs() -> int:
    """How many runs are claimed by any handler in the process (for leak tests)."""
    return len(_owners)
