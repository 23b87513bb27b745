"""Trying again, one way for the whole code base: tenacity, set up for carewatch's one kind of retry.

Work that must not be dropped (a batch to commit, records Kafka must take) is tried until it
works, waiting longer after each failure: the messages wait unacknowledged meanwhile, and the
broker holds the rest.  Cancellation (``asyncio.CancelledError``) is never retried.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt, stop_never, wait_exponential

T = TypeVar("T")

FailureReport = Callable[[BaseException, float], None]
"""Told each failure and the seconds until the next try, before waiting (to log it)."""


async def until_it_works(
    work: Callable[[], Awaitable[T]],
    on_failure: FailureReport,
    *,
    first: float = 0.5,
    cap: float = 30.0,
    attempts: int | None = None,
) -> T:
    """Await ``work()`` until it returns, retrying on any ``Exception``, forever (or ``attempts`` times at
    most, then raising the last failure), waiting ``first``, 2 × ``first``, 4 × ``first``, … seconds,
    never more than ``cap``.

    >>> import asyncio
    >>> outcomes = [OSError("down"), OSError("still down"), OSError("down again"), "stored"]
    >>> async def store() -> str:
    ...     outcome = outcomes.pop(0)
    ...     if isinstance(outcome, Exception):
    ...         raise outcome
    ...     return outcome
    >>> report = lambda error, wait: print(f"{error}; retrying in {wait:.2f} s")
    >>> asyncio.run(until_it_works(store, report, first=0.01, cap=0.02))
    down; retrying in 0.01 s
    still down; retrying in 0.02 s
    down again; retrying in 0.02 s
    'stored'
    """

    def report(state: RetryCallState) -> None:
        assert state.outcome is not None  # tenacity calls before_sleep only after a failed try
        on_failure(state.outcome.exception(), state.upcoming_sleep)

    # Looped, not called: AsyncRetrying(f) guesses from f whether to await it, and guesses wrong for a lambda.
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type(Exception),
        wait=wait_exponential(multiplier=first, max=cap),
        stop=stop_never if attempts is None else stop_after_attempt(attempts),
        before_sleep=report,
        reraise=True,
    ):
        with attempt:
            return await work()
    raise AssertionError("unreachable: the retrying above never stops")
