"""The runs a handler is recording, keyed by LangChain's run_id, freed on every path.

A run is recorded by ONE llmmeter handler: the first that sees it start claims it, so the handler
that ``llmmeter.instrument()`` registers and one passed explicitly in ``callbacks=[...]`` never both
record the same run.

Every run is freed by its own end or error callback, never by its parent's: LangChain may end a
child after its parent (a stream closed early ends the chain first, a failed branch of a parallel
step fails the parent while the other branches still run), and it reports abandoned and cancelled
streams through ``on_llm_error`` (``GeneratorExit``) when the consumer closes them or the garbage
collector does. One path has no callback at all: a chat model's async call (``agenerate``) or a
retriever cancelled while in flight. So such runs, started inline in the caller's asyncio task, are
watched: when that task is done, those still open (and not streaming) are handed to ``on_orphan``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from uuid import UUID

from llmmeter._integration import Call, Context, Step

__all__ = ["Run", "Runs", "claimed_runs"]

# run_id -> the handler recording it, shared by every handler in the process.
_owners: dict[UUID, object] = {}


class Run:
    """One open run: a model call or a step."""

    __slots__ = ("call", "name", "step", "streamed", "task")

    def __init__(
        self, *, call: Call | None = None, step: Step | None = None, name: str | None = None
    ) -> None:
        self.call = call
        self.step = step
        self.name = name
        """A step's name, kept while it may still turn out to be an agent; None once it is one."""
        self.streamed = False
        """A model run: its first chunk came."""
        self.task: asyncio.Task[object] | None = None
        """The asyncio task the run started in, when it is watched."""

    @property
    def context(self) -> Context:
        """A context whose current span is this run's, as the parent of its children."""
        if self.call is not None:
            return self.call.context
        assert self.step is not None
        return self.step.context


class Runs:
    """The open runs of one handler."""

    __slots__ = ("_by_task", "_on_orphan", "_open", "_owner")

    def __init__(self, owner: object, on_orphan: Callable[[Run, bool], None]) -> None:
        self._owner = owner
        self._on_orphan = on_orphan
        self._open: dict[UUID, Run] = {}
        self._by_task: dict[asyncio.Task[object], set[UUID]] = {}

    def __len__(self) -> int:
        return len(self._open)

    def claim(self, run_id: UUID) -> bool:
        """Take ``run_id`` for this handler; False when another handler records it."""
        return _owners.setdefault(run_id, self._owner) is self._owner

    def parent(self, parent_id: UUID | None) -> Context | None:
        """The context of the parent run's span, or None when the parent is not recorded here."""
        if parent_id is None:
            return None
        parent = self._open.get(parent_id)
        return None if parent is None else parent.context

    def add(self, run_id: UUID, run: Run, *, watch: bool = False) -> None:
        """Register a started run; ``watch`` it when LangChain may never end it (see the module doc)."""
        self._open[run_id] = run
        if watch and asyncio._get_running_loop() is not None:
            task = asyncio.current_task()
            if task is not None and not _is_callback_task(task):
                run.task = task
                watched = self._by_task.get(task)
                if watched is None:
                    watched = self._by_task[task] = set()
                    task.add_done_callback(self._task_done)
                watched.add(run_id)

    def get(self, run_id: UUID) -> Run | None:
        """The open run ``run_id``, if this handler records it."""
        return self._open.get(run_id)

    def pop(self, run_id: UUID) -> Run | None:
        """Remove ``run_id``; returns it when this handler recorded it and it was still open."""
        run = self._open.pop(run_id, None)
        if run is not None:
            _owners.pop(run_id, None)
            if run.task is not None:
                watched = self._by_task.get(run.task)
                if watched is not None:
                    watched.discard(run_id)
        return run

    def release(self, run_id: UUID) -> None:
        """Give up a claim on a run that could not be started."""
        if _owners.get(run_id) is self._owner:
            del _owners[run_id]

    def _task_done(self, task: asyncio.Task[object]) -> None:
        for run_id in self._by_task.pop(task, ()):
            run = self._open.get(run_id)
            if run is not None and not run.streamed:  # a stream may go on in another task
                self.pop(run_id)
                self._on_orphan(run, task.cancelled())


def _is_callback_task(task: asyncio.Task[object]) -> bool:
    """Whether ``task`` is one LangChain made just to run callbacks (it ends before the run does)."""
    qualname = getattr(task.get_coro(), "__qualname__", "")
    return isinstance(qualname, str) and qualname.startswith(_CALLBACK_MANAGER_PREFIXES)


_CALLBACK_MANAGER_PREFIXES = ("AsyncCallbackManager", "AsyncParentRunManager", "AsyncRunManager")


def claimed_runs(owner: object | None = None) -> int:
    """How many runs are claimed by ``owner``, or by any handler in the process (for leak tests)."""
    if owner is None:
        return len(_owners)
    return sum(1 for claimant in list(_owners.values()) if claimant is owner)
