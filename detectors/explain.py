"""The words of every detection, in Chinese and English, for a duty officer to read
to a family: plain sentences, local clock times, amounts in m³, no jargon.

The sentences themselves live in the catalogue (carewatch/catalogue/explanations.py); this
module chooses one and fills in local clock times and amounts. The numbers behind it travel
in `Detection.facts`.

>>> from zoneinfo import ZoneInfo
>>> shanghai = ZoneInfo("Asia/Shanghai")
>>> since = 1704454800.0  # 2024-01-05 11:40 UTC, 19:40 in Shanghai
>>> words = no_use({MeterKind.GAS: 0.01}, since, since + 24.3 * 3600, 24.0, shanghai)
>>> print(words.en)
No gas used since 19:40 on 01-05 (24.3 h); less than 0.01 m³ in the last 24 h.
>>> print(words.zh)
自01-05 19:40起未使用燃气（24.3小时），过去24小时用气不足0.01立方米。
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

from carewatch.catalogue import Language, Message, message
from carewatch.domain import AlertType, Explanation, MeterFlag, MeterKind


def _say(key: str, **fields: Any) -> Explanation:
    """The catalogue's sentence ``explain.<key>`` in both languages."""
    entry = message(f"explain.{key}")
    return Explanation(zh=entry.format("zh-CN", **fields), en=entry.format("en", **fields))


def _phrase(key: str, **fields: Any) -> Message:
    """A filled-in part of a sentence, in both languages, to pass on as a field."""
    entry = message(f"explain.{key}")
    return Message(entry.format("zh-CN", **fields), entry.format("en", **fields))


def _joined(first: Explanation, then: Explanation) -> Explanation:
    return Explanation(zh=first.zh + then.zh, en=first.en + then.en)


def no_use(
    thresholds_m3: Mapping[MeterKind, float],
    since_s: float,
    at_s: float,
    window_h: float,
    tz: tzinfo,
) -> Explanation:
    """No gas, no water, or neither: since when, for how long, below what."""
    when = {"day": _day(since_s, tz), "clock": _clock(since_s, tz), "hours": _hours(at_s - since_s), "window": f"{window_h:g}"}
    kinds = list(thresholds_m3)
    if len(kinds) == 1:
        return _say(f"no_use.{kinds[0]}", **when, limit=_amount(thresholds_m3[kinds[0]]))
    return _say("no_use.both", **when, gas=_amount(thresholds_m3[MeterKind.GAS]), water=_amount(thresholds_m3[MeterKind.WATER]))


def use_resumed(
    kind: MeterKind,
    at_s: float,
    used_m3: float,
    window_h: float,
    tz: tzinfo,
    still_unused: tuple[MeterKind, float] | None = None,
) -> Explanation:
    """Use came back; optionally say that the other meter is still quiet."""
    words = _say(f"use_resumed.{kind}", clock=_clock(at_s, tz), used=_amount(used_m3), window=f"{window_h:g}")
    if still_unused is None:
        return words
    other, since_s = still_unused
    return _joined(words, _say(f"still_unused.{other}", day=_day(since_s, tz), clock=_clock(since_s, tz)))


def escalated(kind: MeterKind, at_s: float, tz: tzinfo) -> Explanation:
    """A no-gas or no-water alert folded into the no-activity alert."""
    return _say(f"escalated.{kind}", clock=_clock(at_s, tz))


def _meters(kinds: Sequence[MeterKind]) -> str:
    """Which sentence: the household's one meter kind, or both."""
    return kinds[0].value if len(kinds) == 1 else "both"


def _since(since_s: float, at_s: float, tz: tzinfo, since_return: bool) -> Message:
    """The start of a quiet spell: "21:40 yesterday" / "昨天21:40"."""
    since, at = _local(since_s, tz).date(), _local(at_s, tz).date()
    if (at - since).days == 1:
        words = _phrase("since.yesterday", clock=_clock(since_s, tz))
    else:
        words = _when(since_s, at_s, tz)
    return _phrase("since.return", since=words) if since_return else words


def quiet_unusual(
    kinds: Sequence[MeterKind],
    since_s: float,
    at_s: float,
    waits_h: Sequence[float],
    days: int,
    morning: bool,
    tz: tzinfo,
    since_return: bool = False,
) -> Explanation:
    """A learned verdict: quiet for longer than this household's own days ever are.

    `waits_h` are, for each comparable learned day, how long after the clock time of
    `since_s` the next use came; the sentence says what most days looked like.
    """
    ordered = sorted(waits_h)
    usual_h = ordered[max(1, -(-9 * len(ordered) // 10)) - 1]
    longest_h = ordered[-1]
    facts = {
        "since": _since(since_s, at_s, tz, since_return), "hours": _hours(at_s - since_s),
        "days": days, "within": sum(w <= usual_h for w in ordered), "start": _clock(since_s, tz),
    }
    if morning:
        return _say(
            f"quiet.morning.{_meters(kinds)}", **facts, now=_clock(at_s, tz),
            usual_at=_clock(since_s + usual_h * 3600, tz), latest_at=_clock(since_s + longest_h * 3600, tz),
        )
    return _say(f"quiet.later.{_meters(kinds)}", **facts, usual_h=f"{usual_h:.1f}", longest_h=f"{longest_h:.1f}")


def quiet_over(kinds: Sequence[MeterKind], since_s: float, at_s: float, tz: tzinfo) -> Explanation:
    return _say(f"quiet.over.{_meters(kinds)}", now=_clock(at_s, tz), since=_since(since_s, at_s, tz, False))


def check_in(kinds: Sequence[MeterKind], since_s: float, at_s: float, usual_h: float, tz: tzinfo) -> Explanation:
    """The soft tier: longer than usual, not yet longer than ever; the elder is asked first."""
    return _say(
        f"check_in.{_meters(kinds)}", since=_since(since_s, at_s, tz, False), hours=_hours(at_s - since_s),
        usual_h=f"{usual_h:.1f}",
    )


def check_in_over(how: str, at_s: float, tz: tzinfo) -> Explanation:
    """A check-in ends: `how` is used, fine, unanswered or superseded."""
    return _say(f"check_in.{how}", clock=_clock(at_s, tz))


def quiet_unanswered(kinds: Sequence[MeterKind], since_s: float, asked_s: float, at_s: float, tz: tzinfo) -> Explanation:
    """The learned alert raised because the elder did not answer a check-in."""
    return _say(
        f"quiet.unanswered.{_meters(kinds)}", since=_since(since_s, at_s, tz, False), hours=_hours(at_s - since_s),
        asked=_clock(asked_s, tz), clock=_clock(at_s, tz),
    )


def quiet_answered(at_s: float, tz: tzinfo) -> Explanation:
    return _say("quiet.answered", clock=_clock(at_s, tz))


def nothing_learned(lesson: str) -> Explanation:
    """An outcome that could teach but did not: the routine is still being learned, or the spell had no length."""
    return _say("learned.nothing", lesson=_phrase(f"lesson.{lesson}"))


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def learned_went_out(since_s: float, until_s: float, hours: float, most_h: float, tz: tzinfo) -> Explanation:
    """What a "went out" outcome taught: this quiet, at these clock times on this weekday, is usual."""
    weekday = message(f"ui.weekday_{_WEEKDAYS[_local(until_s, tz).weekday()]}")
    return _say(
        "learned.went_out", weekday=weekday, start=_clock(since_s, tz), end=_clock(until_s, tz),
        hours=f"{hours:.1f}", most=f"{most_h:g}",
    )


def learned_meter_fault(meter_ids: Sequence[str], gap_s: float, most_h: float) -> Explanation:
    """What a "meter fault" outcome on a silent-meter ticket taught: such a gap is this meter's own."""
    return _say("learned.meter_fault", meters=", ".join(meter_ids), hours=_hours(gap_s), most=f"{most_h:g}")


def learning_off(at_s: float, tz: tzinfo) -> Explanation:
    return _say("learning_off", clock=_clock(at_s, tz))


def quiet_escalated(into: AlertType, at_s: float, tz: tzinfo) -> Explanation:
    """A learned warning taken over by the seed rule's critical alert `into`."""
    kinds = _SEED_RULE_KINDS.get(into, list(MeterKind))
    return _say(f"quiet.escalated.{_meters(kinds)}", clock=_clock(at_s, tz))


_SEED_RULE_KINDS = {AlertType.NO_GAS_24H: [MeterKind.GAS], AlertType.NO_WATER_24H: [MeterKind.WATER]}


def _volume(kind: MeterKind, litres: float) -> Message:
    """Water in litres, gas in m³: what a family reads on a bill."""
    if kind is MeterKind.WATER:
        return _phrase("litres", litres=f"{litres:.0f}")
    return _phrase("cubic_metres", m3=_amount(litres / 1000))


def spike(kind: MeterKind, used_l: int, most_l: int, days: int, at_s: float, tz: tzinfo) -> Explanation:
    return _say(
        f"spike.{kind}", clock=_clock(at_s, tz), used=_volume(kind, used_l), most=_volume(kind, most_l), days=days,
        check=message(f"explain.check.{kind}"),
    )


def spike_over(at_s: float, tz: tzinfo) -> Explanation:
    return _say("spike_over", clock=_clock(at_s, tz))


def decline(kind: MeterKind, recent_l: float, usual_l: float, days: int, recent_days: int) -> Explanation:
    return _say(f"decline.{kind}", recent=_volume(kind, recent_l), usual=_volume(kind, usual_l), days=days, recent_days=recent_days)


def decline_over(kind: MeterKind, at_s: float, tz: tzinfo) -> Explanation:
    return _say(f"decline_over.{kind}", clock=_clock(at_s, tz))


def night_use(count: int, most: int, nights: int, core_from_s: float, core_to_s: float, tz: tzinfo) -> Explanation:
    return _say("night_use", start=_clock(core_from_s, tz), end=_clock(core_to_s, tz), count=count, most=most, nights=nights)


def night_over(at_s: float, tz: tzinfo) -> Explanation:
    return _say("night_over", clock=_clock(at_s, tz))


def continuous(kind: MeterKind, since_s: float, at_s: float, used_m3: float, tz: tzinfo) -> Explanation:
    return _say(
        f"continuous.{kind}", since=_when(since_s, at_s, tz), hours=_hours(at_s - since_s), used=_amount(used_m3),
        check=message(f"explain.check.{kind}"),
    )


def flow_stopped(kind: MeterKind, at_s: float, tz: tzinfo) -> Explanation:
    return _say(f"flow_stopped.{kind}", clock=_clock(at_s, tz))


def flow_unconfirmed(kind: MeterKind, from_s: float, to_s: float, tz: tzinfo) -> Explanation:
    """The run is broken by a gap: we cannot claim flow we did not observe."""
    return _say(f"flow_unconfirmed.{kind}", since=_when(from_s, to_s, tz), end=_clock(to_s, tz))


def high_use(
    kind: MeterKind, at_s: float, used_m3: float, ceiling_m3: float, window_h: float, tz: tzinfo
) -> Explanation:
    return _say(f"high_use.{kind}", clock=_clock(at_s, tz), used=_amount(used_m3), ceiling=_amount(ceiling_m3), window=f"{window_h:g}")


def high_use_over(
    kind: MeterKind, at_s: float, used_m3: float, ceiling_m3: float, window_h: float, tz: tzinfo
) -> Explanation:
    return _say(f"high_use_over.{kind}", clock=_clock(at_s, tz), used=_amount(used_m3), ceiling=_amount(ceiling_m3), window=f"{window_h:g}")


def _how_many(meter_ids: Sequence[str]) -> str:
    return "one" if len(meter_ids) == 1 else "many"


def meters_silent(
    meter_ids: Sequence[str], since_s: float, interval_s: float, at_s: float, tz: tzinfo
) -> Explanation:
    """A device or network problem, said so plainly so nobody alarms a family."""
    return _say(
        f"meters_silent.{_how_many(meter_ids)}", meters=_listing(meter_ids), since=_when(since_s, at_s, tz), every=_every(interval_s)
    )


def gateway_offline(
    gateway_id: str, meter_ids: Sequence[str], offline_s: float, since_s: float, at_s: float, tz: tzinfo
) -> Explanation:
    """Every meter silent because its gateway went offline (its MQTT last will): a technician's job, said so."""
    return _say(
        f"gateway_offline.{_how_many(meter_ids)}", gateway=gateway_id, meters=_listing(meter_ids),
        offline=_when(offline_s, at_s, tz), since=_when(since_s, at_s, tz),
    )


def meters_reporting(meter_ids: Sequence[str], at_s: float, tz: tzinfo) -> Explanation:
    return _say(f"meters_reporting.{_how_many(meter_ids)}", meters=_listing(meter_ids), clock=_clock(at_s, tz))


def register_backwards(
    meter_id: str,
    at_s: float,
    register_m3: float,
    neighbour_m3: float,
    neighbour_is_later: bool,
    tz: tzinfo,
) -> Explanation:
    return _say(
        "register_backwards.after" if neighbour_is_later else "register_backwards.before",
        meter=meter_id, clock=_clock(at_s, tz), value=f"{register_m3:.3f}", neighbour=f"{neighbour_m3:.3f}",
    )


def register_consistent(meter_ids: Sequence[str], at_s: float, tz: tzinfo) -> Explanation:
    return _say(f"register_consistent.{_how_many(meter_ids)}", meters=_listing(meter_ids), clock=_clock(at_s, tz))


def battery_low(meter_id: str, battery_pct: float, low_pct: float, at_s: float, tz: tzinfo) -> Explanation:
    return _say("battery_low", meter=meter_id, pct=f"{battery_pct:g}", low=f"{low_pct:g}", clock=_clock(at_s, tz))


def signal_weak(meter_id: str, median_dbm: float, weak_dbm: float, hours: int, at_s: float, tz: tzinfo) -> Explanation:
    return _say("signal_weak", meter=meter_id, median=f"{median_dbm:g}", limit=f"{weak_dbm:g}", days=f"{hours / 24:g}", clock=_clock(at_s, tz))


def meter_flag(flag: MeterFlag, meter_id: str, status: str, at_s: float, tz: tzinfo) -> Explanation:
    """What the meter reported about itself, quoting its status word as it came."""
    return _say(f"meter_flag.{flag.value}", meter=meter_id, status=status, clock=_clock(at_s, tz))


def meter_health_over(alert_type: AlertType, meter_ids: Sequence[str], at_s: float, tz: tzinfo) -> Explanation:
    """A health condition is over for every meter it covered."""
    return _say(f"health_over.{alert_type.value}.{_how_many(meter_ids)}", meters=_listing(meter_ids), clock=_clock(at_s, tz))


def register_restarted(meter_id: str, at_s: float, register_m3: float, tz: tzinfo) -> Explanation:
    return _say("register_restarted", meter=meter_id, clock=_clock(at_s, tz), value=f"{register_m3:.3f}")


def _local(epoch_s: float, tz: tzinfo) -> datetime:
    return datetime.fromtimestamp(epoch_s, tz)


def _clock(epoch_s: float, tz: tzinfo) -> str:
    return _local(epoch_s, tz).strftime("%H:%M")


def _day(epoch_s: float, tz: tzinfo) -> str:
    return _local(epoch_s, tz).strftime("%m-%d")


def _same_day(a_s: float, b_s: float, tz: tzinfo) -> bool:
    return _local(a_s, tz).date() == _local(b_s, tz).date()


def _when(epoch_s: float, reference_s: float, tz: tzinfo) -> Message:
    """"18:05" when on the reference's local day, else "18:05 on 01-05" / "01-05 18:05"."""
    if _same_day(epoch_s, reference_s, tz):
        return _phrase("when.same_day", clock=_clock(epoch_s, tz))
    return _phrase("when.other_day", clock=_clock(epoch_s, tz), day=_day(epoch_s, tz))


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f}"


def _amount(m3: float) -> str:
    """0.41, 6.4, 0.01: at most three decimals, no trailing zeros."""
    text = f"{m3:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _every(seconds: float) -> Message:
    minutes = seconds / 60
    if minutes >= 60 and minutes % 60 == 0:
        return _phrase("every.hours", hours=f"{minutes / 60:g}")
    return _phrase("every.minutes", minutes=f"{minutes:g}")


def _listing(items: Sequence[str]) -> Message:
    """"gas-1, gas-2 and water-1" / "gas-1、gas-2、water-1"."""

    def joined(lang: Language) -> str:
        if len(items) == 1:
            return items[0]
        between, last = message("explain.list.separator").text(lang), message("explain.list.last_separator").text(lang)
        return between.join(items[:-1]) + last + items[-1]

    return Message(joined("zh-CN"), joined("en"))
