"""The one retry helper: what it promises the loops that must not drop their work."""

from __future__ import annotations

import asyncio

import pytest

from carewatch.retrying import until_it_works


async def test_work_given_as_a_lambda_is_awaited_and_retried_until_it_returns() -> None:
    failures = [ConnectionError("database away")] * 2
    waits: list[float] = []

    async def store() -> int:
        if failures:
            raise failures.pop()
        return 7

    assert await until_it_works(lambda: store(), lambda error, wait: waits.append(wait), first=0.001, cap=0.002) == 7
    assert waits == [0.001, 0.002]


async def test_the_wait_doubles_up_to_the_cap_and_stays_there() -> None:
    waits: list[float] = []

    async def never_before_the_sixth() -> None:
        if len(waits) < 5:
            raise OSError("down")

    await until_it_works(never_before_the_sixth, lambda error, wait: waits.append(wait), first=0.001, cap=0.004)
    assert waits == [0.001, 0.002, 0.004, 0.004, 0.004]


async def test_cancellation_is_never_retried() -> None:
    tries = 0

    async def cancelled() -> None:
        nonlocal tries
        tries += 1
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await until_it_works(cancelled, lambda error, wait: None, first=0.001)
    assert tries == 1
