"""The worker judges a record at the grain of an upload: the readings one MQTT message brought for one
household, judged in order, the household's state written once; a reading at fault is dead-lettered alone.

Same fakes as `test_household_judge.py` (a dict for the table, senders that keep what they get);
the same on a real broker: `tests/stream/test_uploads.py`.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import orjson
import pytest

from carewatch.domain import MeterKind, Reading, RejectReason
from carewatch.runners.faust import judging
from ingest.wire import encode_upload
from tests.runners.test_household_judge import START, TOPIC, Worker, reading, records


def day(household: str = "hh-1", values: int = 48, start: float = 10.0) -> list[Reading]:
    """A day of half-hourly interval values of the household's gas meter (an NB-IoT upload): cooking every 4 hours."""
    meter = {"hh-1": "gas-1", "hh-2": "gas-2"}[household]
    return [Reading(household, meter, MeterKind.GAS, START + timedelta(minutes=30 * i), start + 0.05 * (i // 8))
            for i in range(values)]


def with_entry(record: bytes, index: int, **changes: object) -> bytes:
    document = orjson.loads(record)
    document["readings"][index].update(changes)
    return orjson.dumps(document)


async def test_an_upload_of_48_readings_is_one_record_judged_with_one_state_write():
    worker = Worker()

    await worker.judge.on_readings(records(encode_upload("hh-1", "gw-1", day())))

    assert worker.log == [("summary", "hh-1"), ("save", "hh-1"), ("save", "next-offset/0")]
    state = worker.table.state("hh-1")
    assert (state.readings_accepted, state.offset) == (48, 0)
    assert worker.judge.judging.readings_judged == 48
    assert worker.summaries["hh-1"].readings_accepted == 48


async def test_a_malformed_reading_in_an_upload_record_is_dead_lettered_alone_and_the_other_47_are_judged():
    worker = Worker()
    upload = with_entry(encode_upload("hh-1", "gw-1", day()), 17, register_m3="a lot")

    await worker.judge.on_readings(records(upload))

    [letter] = worker.dead_letters
    assert (letter.stage, letter.reason, letter.reading_index) == ("worker", RejectReason.SCHEMA_VIOLATION, 17)
    assert letter.source == f"{TOPIC}[0]@0" and "reading 17" in letter.detail
    assert orjson.loads(letter.payload)["register_m3"] == "a lot"  # that reading, not the whole upload
    assert worker.table.state("hh-1").readings_accepted == 47
    assert worker.log == [("dead letter", RejectReason.SCHEMA_VIOLATION), ("summary", "hh-1"), ("save", "hh-1"),
                          ("save", "next-offset/0")]


async def test_a_reading_the_detectors_refuse_is_dead_lettered_with_its_index_and_only_its_own_payload():
    worker = Worker()
    readings = day(values=6)
    readings[3] = Reading("hh-1", "gas-1", MeterKind.GAS, readings[3].at, 1.0)  # the register went back

    await worker.judge.on_readings(records(encode_upload("hh-1", "gw-1", readings)))

    [letter] = worker.dead_letters
    assert (letter.reason, letter.reading_index, letter.meter_id) == (RejectReason.REGISTER_WENT_BACKWARDS, 3, "gas-1")
    assert orjson.loads(letter.payload)["register_m3"] == 1.0
    assert worker.table.state("hh-1").readings_accepted == 5


async def test_a_reading_whose_judging_raises_is_dead_lettered_alone_and_the_rest_of_its_upload_is_judged(monkeypatch):
    worker = Worker()
    engine_judge = judging.judge

    def judge_with_a_fault(monitor, reading):  # type: ignore[no-untyped-def]
        if reading.at == START + timedelta(minutes=30 * 9):
            raise RuntimeError("a fault of ours outside the detectors")
        return engine_judge(monitor, reading)

    monkeypatch.setattr(judging, "judge", judge_with_a_fault)

    await worker.judge.on_readings(records(reading("hh-2", 0, 5.0), encode_upload("hh-1", "gw-1", day())))

    [letter] = worker.dead_letters
    assert (letter.reason, letter.reading_index, letter.source) == (RejectReason.PROCESSING_ERROR, 9, f"{TOPIC}[0]@1")
    assert "a fault of ours" in letter.detail
    assert worker.table.state("hh-1").readings_accepted == 47
    assert worker.table.state("hh-2").readings_accepted == 1
    # The batch was undone and judged record by record: the upload's state still written once.
    assert [entry for entry in worker.log if entry[0] == "save"] == [
        ("save", "hh-2"), ("save", "next-offset/0"), ("save", "hh-1"), ("save", "next-offset/0")]


async def test_a_redelivered_upload_is_skipped_whole_by_its_households_offset():
    worker = Worker()
    upload = encode_upload("hh-1", "gw-1", day())
    await worker.judge.on_readings(records(upload))
    worker.table.values.pop(b"\x00next-offset/0")  # the crash came after the state was saved, before the mark
    worker.log.clear()

    await worker.judge.on_readings(records(upload))

    assert worker.judge.judging.redelivered == 1
    assert worker.table.state("hh-1").readings_accepted == 48 and worker.table.state("hh-1").readings_duplicate == 0


async def test_records_of_the_old_format_left_in_the_topic_are_judged_with_the_uploads_after_them():
    """An upgrade: the topic still holds one-reading records (v1) the previous bridge wrote."""
    worker = Worker()
    old = [reading("hh-1", hour, 9.0 + 0.1 * hour) for hour in range(-3, 0)]

    await worker.judge.on_readings(records(*old, encode_upload("hh-1", "gw-1", day()), encode_upload("hh-2", "gw-2", day("hh-2"))))

    assert worker.dead_letters == []
    assert worker.table.state("hh-1").readings_accepted == 51
    assert worker.table.state("hh-2").readings_accepted == 48
    assert [entry for entry in worker.log if entry[0] == "save"] == [("save", "hh-1"), ("save", "hh-2"), ("save", "next-offset/0")]


@pytest.mark.parametrize("value", [
    b'{"v": 2, "household_id": "hh-1"}',
    b'{"v": 2, "household_id": "hh-1", "readings": {"not": "a list"}}',
    b'{"v": 3, "household_id": "hh-1", "readings": []}',
])
async def test_an_upload_record_that_is_not_one_is_dead_lettered_whole(value):
    worker = Worker()

    await worker.judge.on_readings(records(value, encode_upload("hh-1", "gw-1", day(values=2))))

    [letter] = worker.dead_letters
    assert letter.reason is RejectReason.SCHEMA_VIOLATION and letter.reading_index is None and letter.payload == value
    assert worker.table.state("hh-1").readings_accepted == 2


async def test_an_upload_of_a_household_the_worker_does_not_know_is_refused_reading_by_reading():
    """Each refused reading counts in the ingest statistics (`ingest.records.BatchRecord.reject`), as before uploads."""
    worker = Worker()
    stranger = [Reading("hh-404", "gas-404", MeterKind.GAS, START + timedelta(minutes=30 * i), 1.0) for i in range(3)]

    await worker.judge.on_readings(records(encode_upload("hh-404", "gw-9", stranger)))

    assert [(letter.reason, letter.reading_index, letter.meter_id) for letter in worker.dead_letters] == [
        (RejectReason.UNKNOWN_METER, i, "gas-404") for i in range(3)]
    assert b"hh-404" not in worker.table.values


async def test_a_large_batch_is_judged_sent_and_saved_in_chunks_of_whole_records(monkeypatch):
    from carewatch.runners.faust import households

    worker = Worker()
    uploads = [encode_upload("hh-1", "gw-1", day()), encode_upload("hh-2", "gw-2", day("hh-2")),
               encode_upload("hh-1", "gw-1", [replace(r, at=r.at + timedelta(days=1), register_m3=11.0) for r in day()])]
    monkeypatch.setattr(households, "JUDGE_CHUNK_BYTES", len(uploads[0]) + len(uploads[1]))

    await worker.judge.on_readings(records(*uploads))

    assert [entry for entry in worker.log if entry[0] == "save"] == [
        ("save", "hh-1"), ("save", "hh-2"), ("save", "next-offset/0"), ("save", "hh-1"), ("save", "next-offset/0")]
    assert worker.table.state("hh-1").readings_accepted == 96 and worker.mark() == 3


async def test_the_next_chunk_is_judged_while_the_one_before_is_on_its_way_and_each_saves_after_its_sends(monkeypatch):
    """Kafka acknowledges a chunk's sends while the next chunk is judged (the worker waited three round trips a
    chunk before); a chunk's states are still saved only once its own sends are acknowledged, and the next
    chunk judges a household from the state the chunk before left, saved or not yet."""
    from carewatch.runners.faust import households

    worker = Worker()
    loop = asyncio.get_running_loop()

    def acknowledged_later(what: str) -> asyncio.Future[None]:
        acknowledgement = loop.create_future()
        loop.call_soon(lambda: (acknowledgement.set_result(None), worker.log.append(("acked", what))))
        return acknowledgement

    async def send_summary(key: bytes, value: bytes) -> asyncio.Future[None]:
        worker.log.append(("summary", key.decode()))
        return acknowledged_later(f"summary {key.decode()}")

    worker.judge.senders[judging.To.SUMMARIES] = send_summary
    judge = worker.judge.judging.judge_steps

    def judge_steps(chunk, poisoned=None, pause=judging.never):  # type: ignore[no-untyped-def]
        worker.log.append(("judge", len(chunk)))
        return judge(chunk, poisoned, pause)

    monkeypatch.setattr(worker.judge.judging, "judge_steps", judge_steps)
    uploads = [encode_upload("hh-1", "gw-1", day()), encode_upload("hh-2", "gw-2", day("hh-2")),
               encode_upload("hh-1", "gw-1", [replace(r, at=r.at + timedelta(days=1), register_m3=11.0) for r in day()])]
    monkeypatch.setattr(households, "JUDGE_CHUNK_BYTES", len(uploads[0]) + len(uploads[1]))

    await worker.judge.on_readings(records(*uploads))

    log = worker.log
    assert log.index(("judge", 1)) < log.index(("save", "hh-1"))  # the second chunk judged before the first saved
    first_saves = log.index(("save", "hh-1"))
    assert {("acked", "summary hh-1"), ("acked", "summary hh-2")} <= set(log[:first_saves])
    second_save = len(log) - 1 - log[::-1].index(("save", "hh-1"))
    assert log.index(("summary", "hh-1"), log.index(("judge", 1))) < second_save
    assert log[-1] == ("save", "next-offset/0") and log.count(("save", "next-offset/0")) == 2
    assert worker.table.state("hh-1").readings_accepted == 96 and worker.mark() == 3
