"""The simulation: households, their ground-truth incidents, and every MQTT message in publish order."""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from gateway_sim import cadence
from gateway_sim.config import SimConfig
from gateway_sim.household import MeterSeries, SimHousehold, simulate_meters
from gateway_sim.incidents import (
    NEEDS_METER,
    Absence,
    Incident,
    IncidentKind,
    generate_absences,
    generate_incidents,
)
from gateway_sim.payloads import (
    OFFLINE,
    ONLINE,
    MeterReading,
    iso,
    readings_payloads,
    readings_topic,
    status_topic,
)



@dataclass(frozen=True, slots=True)
class SimMessage:
    """One MQTT message a simulated gateway sends (or, for "offline", that the broker sends for it)."""

    sim_time: datetime
    gateway_id: str
    topic: str
    payload: bytes
    retain: bool
    kind: Literal["readings", "status"]
    step: int
    """Index of the upload tick this message belongs to: the unit of the global lockstep clock."""
    reading_count: int = 0
    state: Literal["online", "offline"] | None = None
    """Set on status messages only."""
    qos: int = 1


_STATUS_FIRST, _UPLOAD = 0, 1


class Simulation:
    def __init__(self, config: SimConfig):
        self.config = config
        self.households: tuple[SimHousehold, ...] = self._create_households()
        self.incidents: list[Incident] = self._incidents()
        self.absences: list[Absence] = self._absences()
        """Planned absences: nobody home, the family told the service (ground truth for the evaluation)."""
        self._series: dict[str, tuple[MeterSeries, ...]] | None = None

    # --- what carewatch needs to know -------------------------------------------------

    def registry_document(self) -> dict[str, object]:
        """Registry JSON v1 for these households (carewatch.registry loads it)."""
        return {
            "version": 1,
            "households": [h.registry_entry(self.config.timezone, self.config.interval_s) for h in self.households],
        }

    def truth_document(self) -> dict[str, object]:
        """The incidents as JSON, with what produced them, for scoring a detector run."""
        c = self.config
        return {
            "version": 1,
            "seed": c.seed,
            "households": c.households,
            "start": iso(c.local_start),
            "end": iso(c.end),
            "incidents": [i.to_json() for i in self.incidents],
            "absences": [a.to_json() for a in self.absences],
        }

    # --- the messages -----------------------------------------------------------------

    def messages(self) -> Iterator[SimMessage]:
        """Every message of the run in publish order (by simulated time), without touching the network.

        Deterministic: one config gives the same messages, byte for byte.
        """
        series = self.meter_series()
        ticks = _TickClock(self.config)
        timelines = [
            self._gateway_messages(h, series[h.household_id], self._silences(h.household_id), ticks)
            for h in self.households
        ]
        for _, message in heapq.merge(*timelines, key=lambda item: item[0]):
            if message is not None:
                yield message

    def meter_series(self) -> dict[str, tuple[MeterSeries, ...]]:
        """Each household's meters as simulated (registers at every tick, also those never sent)."""
        if self._series is None:
            incidents_of: dict[str, list[Incident]] = {}
            for incident in self.incidents:
                incidents_of.setdefault(incident.household_id, []).append(incident)
            absences_of: dict[str, list[Absence]] = {}
            for absence in self.absences:
                absences_of.setdefault(absence.household_id, []).append(absence)
            c = self.config
            self._series = {
                h.household_id: simulate_meters(
                    h,
                    incidents_of.get(h.household_id, []),
                    seed=c.seed,
                    run_start=c.local_start,
                    run_minutes=c.minutes,
                    interval_s=c.interval_s,
                    zone=c.zone,
                    absences=absences_of.get(h.household_id, ()),
                    draining=h.household_id in c.draining_batteries,
                )
                for h in self.households
            }
        return self._series

    # --- building blocks --------------------------------------------------------------

    def _create_households(self) -> tuple[SimHousehold, ...]:
        c = self.config
        width = max(4, len(str(c.households)))
        both = c.households - c.gas_only_households - c.water_only_households
        return tuple(
            SimHousehold.create(
                index,
                width,
                _meter_kinds(index, both, c.water_only_households),
                c.seed,
                c.upload_every_s,
                varied=c.varied_routines,
                batch_share=c.batch_share,
                interval_s=c.interval_s,
                real_cadence=c.real_cadence,
            )
            for index in range(1, c.households + 1)
        )

    def _incidents(self) -> list[Incident]:
        c = self.config
        if c.incidents is None:
            return generate_incidents(
                [(h.household_id, frozenset(m.kind for m in h.meters)) for h in self.households],
                c.local_start,
                c.end,
                c.seed,
                c.incident_share,
                kinds=c.incident_kinds,
                lead=timedelta(days=c.incident_lead_days),
                inactive_hours=c.inactive_hours,
            )
        by_id = {h.household_id: h for h in self.households}
        for incident in c.incidents:
            household = by_id.get(incident.household_id)
            if household is None:
                raise ValueError(f"incident for unknown household {incident.household_id!r} (ids run hh-0001…)")
            if not c.local_start <= incident.start < c.end:
                raise ValueError(
                    f"incident {incident.household_id}/{incident.kind} starts at {incident.start.isoformat()}, "
                    f"outside the run ({c.local_start.isoformat()} to {c.end.isoformat()})"
                )
            need = NEEDS_METER[incident.kind]
            if need is not None and all(m.kind != need for m in household.meters):
                raise ValueError(f"incident {incident.kind} needs a {need} meter; {incident.household_id} has none")
        return sorted(c.incidents, key=lambda i: (i.start, i.household_id))

    def _absences(self) -> list[Absence]:
        c = self.config
        if c.absences is not None:
            known = {h.household_id for h in self.households}
            for absence in c.absences:
                if absence.household_id not in known:
                    raise ValueError(f"absence for unknown household {absence.household_id!r} (ids run hh-0001…)")
            return sorted(c.absences, key=lambda a: (a.start, a.household_id))
        if not c.away_share:
            return []
        struck = {i.household_id for i in self.incidents}
        return generate_absences(
            [h.household_id for h in self.households if h.household_id not in struck],
            c.local_start,
            c.end,
            c.seed,
            c.away_share,
            timedelta(days=c.incident_lead_days),
        )

    def _silences(self, household_id: str) -> list[tuple[datetime, datetime | None]]:
        return sorted(
            (i.start, i.end)
            for i in self.incidents
            if i.household_id == household_id and i.kind is IncidentKind.GATEWAY_SILENT
        )

    def _gateway_messages(
        self,
        household: SimHousehold,
        series: Sequence[MeterSeries],
        silences: Sequence[tuple[datetime, datetime | None]],
        at_tick: _TickClock,
    ) -> Iterator[tuple[tuple[datetime, int, int], SimMessage | None]]:
        """One gateway's messages in time order, keyed for the global merge.

        The gateway reads its meters at every tick and uploads what it holds at every
        upload tick (a few seconds late, like a real device).  While silent it neither
        reads nor sends; readings it held when it fell silent go out once it is back.

        Before each upload it yields a placeholder (None) under the upload's key, and builds the
        upload only when the merge asks for what comes next, i.e. once the upload is due: the merge
        holds one item per gateway, and a day's batch built ahead would be held from one night to
        the next (≈ 30 KB a household, 9 GB at 300,000).  Keys still rise within a gateway, so the
        order, and every byte, is the same.
        """
        c = self.config
        zone = c.zone
        gateway = household.gateway_id
        readings_at = readings_topic(c.topic_prefix, gateway)
        status_at = status_topic(c.topic_prefix, gateway)
        last_tick = c.reading_count_after_start
        per_upload = c.upload_every_s // c.interval_s
        run_start, run_end = c.start.astimezone(UTC), c.end.astimezone(UTC)
        outages = [(s.astimezone(UTC), e.astimezone(UTC) if e is not None else None) for s, e in silences]

        def silent(at_utc: datetime) -> bool:
            return any(start <= at_utc and (end is None or at_utc < end) for start, end in outages)

        # (when, status before upload at the same instant, what): a state word, an upload tick,
        # or a real-cadence meter's reading.
        actions: list[tuple[datetime, int, str | int | MeterReading]] = [(run_start, _STATUS_FIRST, "online")]
        for start, end in outages:
            if start <= run_end:
                actions.append((start, _STATUS_FIRST, "offline"))
            if end is not None and end <= run_end:
                actions.append((end, _STATUS_FIRST, "online"))
        if household.real_cadence:
            actions.extend(self._real_cadence_readings(household, series))
        elif household.daily_batch:
            actions.extend((when, _UPLOAD, tick) for when, tick in self._daily_batches(household, at_tick))
        else:
            uploads = list(range(0, last_tick + 1, per_upload))
            if uploads[-1] != last_tick:
                uploads.append(last_tick)  # the run ends between upload ticks: send what is held
            offset = timedelta(seconds=household.upload_offset_s)
            actions.extend((at_tick.utc(tick) + offset, _UPLOAD, tick) for tick in uploads)
        actions.sort(key=lambda a: (a[0], a[1]))
        lost = self._lost_ticks(household)
        every = household.read_every_ticks

        held: list[MeterReading] = []
        next_tick = 0
        seq = 0
        counter = 1  # the gateway's message counter (contract v1.1 ``seq``)
        for when, _, what in actions:
            step = int((when - run_start).total_seconds() // c.upload_every_s)
            sent_at = when.astimezone(zone)
            if isinstance(what, MeterReading):  # a real-cadence meter's reading, sent as it comes
                if silent(when):
                    continue
                for payload, count in readings_payloads(sent_at, [what], counter):
                    message = SimMessage(
                        sent_at, gateway, readings_at, payload, False, "readings", step, reading_count=count
                    )
                    yield (when, household.index, seq), message
                    seq += 1
                    counter += 1
                continue
            if isinstance(what, str):
                state: Literal["online", "offline"] = "online" if what == "online" else "offline"
                payload = ONLINE if state == "online" else OFFLINE
                if state == "offline":
                    counter = 1  # a power cycle: the counter lives in RAM
                message = SimMessage(sent_at, gateway, status_at, payload, True, "status", step, state=state)
                yield (when, household.index, seq), message
                seq += 1
                continue
            yield (when, household.index, seq), None
            seq += 1
            for tick in range(next_tick, what + 1):
                if tick % every == 0 and tick not in lost and not silent(at_tick.utc(tick)):
                    held.extend(
                        MeterReading(
                            s.meter.meter_id,
                            at_tick.iso(tick),
                            int(s.registers_l[tick]),
                            int(s.battery_pct[tick]),
                            int(s.signal_dbm[tick]),
                            s.status(tick),
                        )
                        for s in series
                    )
            next_tick = what + 1
            if silent(when) or not held:
                continue
            for payload, count in readings_payloads(sent_at, held, counter):
                message = SimMessage(
                    sent_at, gateway, readings_at, payload, False, "readings", step, reading_count=count
                )
                yield (when, household.index, seq), message
                seq += 1
                counter += 1
            held = []


    def _real_cadence_readings(
        self, household: SimHousehold, series: Sequence[MeterSeries]
    ) -> list[tuple[datetime, int, MeterReading]]:
        """(when sent, _UPLOAD, reading) of each meter's own irregular reports (gateway_sim.cadence),
        sent the moment they are read; the register in the meter's pulses."""
        c = self.config
        run_start = c.start.astimezone(UTC)
        run_s = (c.end.astimezone(UTC) - run_start).total_seconds()
        tick_s = c.interval_s
        out: list[tuple[datetime, int, MeterReading]] = []
        for s in series:
            rng = random.Random(f"gateway_sim.cadence.times:{c.seed}:{s.meter.meter_id}")
            for at_s in cadence.reading_seconds(rng, run_s, s.meter.gappiness):
                taken = run_start + timedelta(seconds=at_s)
                tick = min(at_s // tick_s, len(s.signal_dbm) - 1)
                reading = MeterReading(
                    s.meter.meter_id,
                    iso(taken.astimezone(c.zone)),
                    s.register_at(at_s),
                    int(s.battery_pct[tick]),
                    int(s.signal_dbm[tick]),
                    s.status(tick),
                )
                out.append((taken + timedelta(seconds=household.upload_offset_s % 10 + 1), _UPLOAD, reading))
        out.sort(key=lambda item: item[0])
        return out

    def _daily_batches(self, household: SimHousehold, at_tick: _TickClock) -> list[tuple[datetime, int]]:
        """(when, newest tick sent) of an NB-IoT gateway's once-a-day uploads, each day a little
        later or earlier: radio slots are assigned by the network, and retries wander."""
        c = self.config
        rng = random.Random(f"gateway_sim.batches:{c.seed}:{household.index}")
        run_start, run_end = c.start.astimezone(UTC), c.end.astimezone(UTC)
        last_tick = c.reading_count_after_start
        day = c.local_start.date()
        batches: list[tuple[datetime, int]] = []
        while True:
            midnight = datetime(day.year, day.month, day.day, tzinfo=c.zone).astimezone(UTC)
            when = midnight + timedelta(seconds=round(3600 * (c.batch_upload_hour + rng.uniform(0, c.batch_jitter_h))))
            if when > run_end:
                break
            if when >= run_start:
                tick = min(last_tick, int((when - run_start).total_seconds() // c.interval_s))
                batches.append((when, tick))
            day += timedelta(days=1)
        batches.append((run_end + timedelta(seconds=household.upload_offset_s), last_tick))  # what is left
        return batches

    def _lost_ticks(self, household: SimHousehold) -> frozenset[int]:
        """Reading ticks this gateway loses on the radio: mostly single readings, a third of the time
        a stretch of 30 min to 4 h."""
        c = self.config
        if not c.reading_loss:
            return frozenset()
        rng = random.Random(f"gateway_sim.loss:{c.seed}:{household.index}")
        per_tick_h = c.interval_s / 3600
        lost: set[int] = set()
        tick = 0
        while tick <= c.reading_count_after_start:
            if rng.random() < c.reading_loss:
                hours = rng.uniform(0.5, 4.0) if rng.random() < 1 / 3 else per_tick_h
                length = max(1, round(hours / per_tick_h))
                lost.update(range(tick, tick + length))
                tick += length
            tick += 1
        return frozenset(lost)


def _meter_kinds(index: int, both: int, water_only: int) -> tuple[str, ...]:
    """Households 1..both have both meters, then come the water-only ones, then the gas-only ones."""
    if index <= both:
        return ("gas", "water")
    return ("water",) if index <= both + water_only else ("gas",)


class _TickClock:
    """Reading ticks in UTC and as local ISO strings, computed once and shared by every gateway."""

    def __init__(self, config: SimConfig):
        local = [config.at_tick(k) for k in range(config.reading_count_after_start + 1)]
        self._utc = [t.astimezone(UTC) for t in local]
        self._isos = [iso(t) for t in local]

    def utc(self, tick: int) -> datetime:
        return self._utc[tick]

    def iso(self, tick: int) -> str:
        return self._isos[tick]
