"""What people said reaches the Faust workers' monitors, once, as on the embedded engine: an elder's
"I'm fine" ends her check-in and the learned quiet counts from it, and the worker says it heard it (for
the check-in's audit trail); a "went out" outcome teaches the routine and says what it taught (for the
alert's).  No broker: the fakes of
test_household_judge (a dict-backed table, senders that keep what they are given).

The same on a real broker, through the alert service: tests/stream/test_answers.py.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta

from alerts.heard import HeardRecord
from alerts.wire import Heard, Learned, decode_detections_record
from carewatch.domain import AlertType, CheckInAnswer, Detection, Lesson, Reading, Tick, Transition
from carewatch.registry import Registry
from carewatch.runners.faust.judging import Judging
from carewatch.runners.state import HouseholdState, dumps
from carewatch.settings import Settings
from detectors.household import HouseholdMonitor
from tests.detectors.conftest import GAS, HOUSEHOLD, WATER, at, live, routine
from tests.detectors.test_checkin import DAY, FROM_DAY_20_EVENING, quiet_from
from tests.detectors.test_outcomes import NEXT_TUESDAY, TUESDAY, outing, quiet_alerts, told
from tests.runners.test_household_judge import DictTable, Record, Worker, acknowledged

DOCUMENT = {"version": 1, "households": [{
    "household_id": HOUSEHOLD, "timezone": "Asia/Shanghai", "gateway_id": "gw-0007",
    "meters": [{"meter_id": GAS, "kind": "gas", "interval_s": 900}, {"meter_id": WATER, "kind": "water", "interval_s": 900}],
}]}
REGISTRY = Registry.from_document(DOCUMENT)
CHECK_IN, MORNING = AlertType.CHECK_IN, AlertType.MORNING_ACTIVITY_MISSING
ANSWERS = "answers"


def heard(offset: int, record: HeardRecord) -> Record:
    return Record(offset, record.encode(), topic=ANSWERS)


def until_asked(target: HouseholdMonitor, readings: list[Reading]) -> tuple[Detection, list[Reading]]:
    """Readings with a tick after each instant until the monitor asks the elder; the check-in and the readings left."""
    last = None
    for n, reading in enumerate(readings):
        if last is not None and reading.at != last:
            asked = [d for d in target.tick(Tick(last)) if d.alert_type is CHECK_IN and d.transition is Transition.RAISED]
            if asked:
                return asked[0], readings[n:]
        target.observe(reading)
        last = reading.at
    raise AssertionError("no check-in was raised")


class HearingWorker(Worker):
    """The fake worker, whose detections topic also carries the receipts: what outcomes taught, the answers heard."""

    async def send_detection(self, key: bytes, value: bytes) -> Awaitable[None]:
        self.detections.append(value)
        sent = decode_detections_record(value)
        if isinstance(sent, Learned):
            self.log.append(("learned", sent.alert_id))
        elif isinstance(sent, Heard):
            self.log.append(("heard", sent.alert_id))
        else:
            self.log.append(("detection", sent.alert_type))
        return acknowledged()


def worker_with(target: HouseholdMonitor) -> Worker:
    worker = HearingWorker(registry=REGISTRY)
    worker.table.values[HOUSEHOLD.encode()] = dumps(HouseholdState(target, offset=41))
    return worker


def up_late() -> tuple[HouseholdMonitor, Detection, list[Reading]]:
    """Twenty days learned; then nothing used from 21:40 until 10:40 the next morning: she is asked at 07:55."""
    target = HouseholdMonitor(REGISTRY.households[HOUSEHOLD].profile)
    asked, rest = until_asked(target, routine(22, quiet=quiet_from(FROM_DAY_20_EVENING, 21 * DAY - 9)))
    return target, asked, rest


async def test_i_am_fine_on_the_answers_topic_ends_the_check_in_and_the_quiet_counts_from_it():
    target, asked, rest = up_late()
    worker = worker_with(target)
    answer = HeardRecord.of(CheckInAnswer(HOUSEHOLD, asked.alert_id, asked.at + timedelta(minutes=10)))

    await worker.judge.on_heard([heard(0, answer)])

    # The check-in ends quietly ("fine") and the answer's receipt follows it, both sent before the state
    # (with the answer's id) is saved: a receipt on the alert promises a monitor that heard.
    assert worker.log == [("detection", CHECK_IN), ("heard", asked.alert_id), ("summary", HOUSEHOLD), ("save", HOUSEHOLD)]
    [fine, receipt] = [decode_detections_record(value) for value in worker.detections]
    assert isinstance(fine, Detection) and fine.transition is Transition.CLEARED and fine.facts["ended"] == "fine"
    assert fine.alert_id == asked.alert_id
    assert receipt == Heard(HOUSEHOLD, asked.alert_id, answer.told.at)
    state = worker.table.state(HOUSEHOLD)
    assert state.heard == (answer.record_id,) and state.offset == 41  # the readings' offset is not the answers'
    # The learned quiet counts from the answer: no alert for family and staff before she is up at 10:40.
    assert [d for d in live(state.monitor, rest) if d.alert_type is MORNING] == []


async def test_without_the_answer_the_same_morning_is_alerted():
    target, _, rest = up_late()
    assert [d.facts.get("check_in") for d in live(target, rest) if d.alert_type is MORNING][:1] == ["unanswered"]


async def test_an_answer_heard_before_teaches_nothing_again_and_only_its_receipt_is_sent_again():
    """Whoever sends it again: Kafka redelivering it, the alert service offering it again (the receipt not
    written yet, or a state saved before answers had receipts, which would otherwise be offered for days)."""
    target, asked, _ = up_late()
    worker = worker_with(target)
    answer = HeardRecord.of(CheckInAnswer(HOUSEHOLD, asked.alert_id, asked.at + timedelta(minutes=10)))
    await worker.judge.on_heard([heard(0, answer)])
    saved = dict(worker.table.values)
    worker.log.clear()

    # Kafka redelivering it (same offset), the alert service publishing it again (a new offset).
    await worker.judge.on_heard([heard(0, answer), heard(7, answer)])

    assert worker.log == [("heard", asked.alert_id), ("heard", asked.alert_id)]  # no detection, nothing saved
    assert worker.table.values == saved
    assert (worker.judge.judging.heard, worker.judge.judging.heard_again) == (1, 2)


async def test_went_out_teaches_the_workers_monitor_and_says_what_it_learned():
    target = HouseholdMonitor(REGISTRY.households[HOUSEHOLD].profile)
    readings = routine(27, quiet=outing(TUESDAY, NEXT_TUESDAY))
    cut = at(18 * 24.0)
    alert, ended = quiet_alerts(live(target, [r for r in readings if r.at < cut]))
    worker = worker_with(target)
    outcome = HeardRecord.of(told(alert, ended, Lesson.WENT_OUT))

    await worker.judge.on_heard([heard(0, outcome), heard(1, outcome)])

    # Once (the repeat is passed over), sent before the taught state is saved.
    assert worker.log == [("learned", alert.alert_id), ("summary", HOUSEHOLD), ("save", HOUSEHOLD)]
    [learned] = [decode_detections_record(value) for value in worker.detections]
    assert isinstance(learned, Learned) and learned.alert_id == alert.alert_id
    assert learned.words.en.startswith("Learned: the elder was out. No gas or water from about 08:40 to 18:10 on Tuesdays")
    assert learned.at == told(alert, ended, Lesson.WENT_OUT).at  # before the worker's clock: as it was given
    monitor = worker.table.state(HOUSEHOLD).monitor
    assert monitor.learners["quiet"].outings_learned == 1
    assert quiet_alerts(live(monitor, [r for r in readings if r.at >= cut])) == []  # the same quiet next Tuesday


def test_an_answer_is_timed_by_the_replays_event_time_on_the_event_clock():
    """As on the embedded engine: an answer stamped on the wall clock comes no later than the newest reading judged."""
    target, asked, _ = up_late()
    table = DictTable([])
    table.values[HOUSEHOLD.encode()] = dumps(HouseholdState(target))
    settings = Settings(_env_file=None, kafka_partitions=1, clock="event")  # type: ignore[call-arg]
    judging = Judging(registry=REGISTRY, settings=settings, read=table.get)
    judging.progress.saw_event(0, asked.at + timedelta(minutes=5))
    wall = asked.at + timedelta(days=400)

    judged = judging.hear(heard(0, HeardRecord.of(CheckInAnswer(HOUSEHOLD, asked.alert_id, wall))))

    [fine, receipt] = [decode_detections_record(outgoing.value) for outgoing in judged.sends]
    assert isinstance(fine, Detection) and fine.at == asked.at + timedelta(minutes=5)
    assert receipt == Heard(HOUSEHOLD, asked.alert_id, asked.at + timedelta(minutes=5))  # its audit entry's event time


def test_a_record_that_is_not_heard_or_of_an_unknown_household_is_passed_and_nothing_saved():
    table = DictTable([])
    judging = Judging(registry=REGISTRY, settings=Settings(_env_file=None, kafka_partitions=1), read=table.get)  # type: ignore[call-arg]
    stranger = HeardRecord.of(CheckInAnswer("hh-elsewhere", "c-1", at(0)))

    for record in (Record(0, b'{"v": 9}', topic=ANSWERS), heard(1, stranger)):
        judged = judging.hear(record)
        assert judged.sends == [] and judging.writes(judged).states == []
