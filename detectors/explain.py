"""The words of every detection, in Chinese and English, for a duty officer to read
to a family: plain sentences, local clock times, amounts in m³, no jargon.

Only wording lives here; the numbers behind it travel in `Detection.facts`.

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

from carewatch.domain import AlertType, Explanation, MeterKind
from detectors.base import kind_of

_EN_NAME = {MeterKind.GAS: "gas", MeterKind.WATER: "water"}
_ZH_NAME = {MeterKind.GAS: "燃气", MeterKind.WATER: "水"}
_ZH_UNUSED = {MeterKind.GAS: "未使用燃气", MeterKind.WATER: "未用水"}
_ZH_USE = {MeterKind.GAS: "用气", MeterKind.WATER: "用水"}
_EN_CHECK = {
    MeterKind.GAS: "check whether a stove was left on",
    MeterKind.WATER: "check whether a tap was left running or a pipe leaks",
}
_ZH_CHECK = {
    MeterKind.GAS: "请确认灶具是否未关",
    MeterKind.WATER: "请确认水龙头是否未关或管道是否漏水",
}


def no_use(
    thresholds_m3: Mapping[MeterKind, float],
    since_s: float,
    at_s: float,
    window_h: float,
    tz: tzinfo,
) -> Explanation:
    """No gas, no water, or neither: since when, for how long, below what."""
    day, clock, hours = _day(since_s, tz), _clock(since_s, tz), _hours(at_s - since_s)
    kinds = list(thresholds_m3)
    if len(kinds) == 1:
        kind, limit = kinds[0], _amount(thresholds_m3[kinds[0]])
        return Explanation(
            zh=f"自{day} {clock}起{_ZH_UNUSED[kind]}（{hours}小时），"
            f"过去{window_h:g}小时{_ZH_USE[kind]}不足{limit}立方米。",
            en=f"No {_EN_NAME[kind]} used since {clock} on {day} ({hours} h); "
            f"less than {limit} m³ in the last {window_h:g} h.",
        )
    gas, water = _amount(thresholds_m3[MeterKind.GAS]), _amount(thresholds_m3[MeterKind.WATER])
    return Explanation(
        zh=f"自{day} {clock}起未使用燃气，也未用水（{hours}小时），"
        f"过去{window_h:g}小时用气不足{gas}立方米、用水不足{water}立方米。",
        en=f"No gas or water used since {clock} on {day} ({hours} h); "
        f"less than {gas} m³ of gas and {water} m³ of water in the last {window_h:g} h.",
    )


def use_resumed(
    kind: MeterKind,
    at_s: float,
    used_m3: float,
    window_h: float,
    tz: tzinfo,
    still_unused: tuple[MeterKind, float] | None = None,
) -> Explanation:
    """Use came back; optionally say that the other meter is still quiet."""
    clock, used = _clock(at_s, tz), _amount(used_m3)
    zh = f"{clock}恢复{_ZH_USE[kind]}（过去{window_h:g}小时{_ZH_USE[kind]}{used}立方米）。"
    en = f"{_EN_NAME[kind].capitalize()} use resumed at {clock} ({used} m³ in the last {window_h:g} h)."
    if still_unused is not None:
        other, since_s = still_unused
        zh += f"但自{_day(since_s, tz)} {_clock(since_s, tz)}起仍{_ZH_UNUSED[other]}。"
        en += (
            f" Still no {_EN_NAME[other]} used since {_clock(since_s, tz)} on {_day(since_s, tz)}."
        )
    return Explanation(zh=zh, en=en)


def escalated(kind: MeterKind, at_s: float, tz: tzinfo) -> Explanation:
    """A no-gas or no-water alert folded into the no-activity alert."""
    other = MeterKind.WATER if kind is MeterKind.GAS else MeterKind.GAS
    clock = _clock(at_s, tz)
    return Explanation(
        zh=f"{clock}已升级为“24小时无活动”告警：同时{_ZH_UNUSED[other]}，合并为一条紧急告警。",
        en=f"Escalated into no_activity_24h at {clock}: no {_EN_NAME[other]} used either, "
        "so this is now one critical alert.",
    )


def _used_words(kinds: Sequence[MeterKind]) -> tuple[str, str, str]:
    """(English object, Chinese "not used", Chinese "use") for the household's meters."""
    if len(kinds) == 1:
        kind = kinds[0]
        return _EN_NAME[kind], _ZH_UNUSED[kind], _ZH_USE[kind]
    return "gas or water", "未用气也未用水", "用水用气"


def _since_words(since_s: float, at_s: float, tz: tzinfo, since_return: bool) -> tuple[str, str]:
    """English and Chinese for the start of a quiet spell: "21:40 yesterday", "昨天21:40"."""
    since, at = _local(since_s, tz).date(), _local(at_s, tz).date()
    clock = _clock(since_s, tz)
    if since == at:
        en, zh = clock, clock
    elif (at - since).days == 1:
        en, zh = f"{clock} yesterday", f"昨天{clock}"
    else:
        en, zh = f"{clock} on {_day(since_s, tz)}", f"{_day(since_s, tz)} {clock}"
    if since_return:
        return f"the planned return at {en}", f"计划返回时间{zh}"
    return en, zh


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
    what_en, unused_zh, use_zh = _used_words(kinds)
    since_en, since_zh = _since_words(since_s, at_s, tz, since_return)
    hours = _hours(at_s - since_s)
    ordered = sorted(waits_h)
    usual_h = ordered[max(1, -(-9 * len(ordered) // 10)) - 1]
    within = sum(w <= usual_h for w in ordered)
    longest_h = ordered[-1]
    start = _clock(since_s, tz)
    en = f"No {what_en} used since {since_en} ({hours} h). "
    zh = f"自{since_zh}起{unused_zh}（{hours}小时）。"
    if morning:
        usual_at, latest_at = _clock(since_s + usual_h * 3600, tz), _clock(since_s + longest_h * 3600, tz)
        en += (
            f"On {within} of the last {days} days the first use after {start} came by {usual_at} "
            f"(latest {latest_at}); today none by {_clock(at_s, tz)}."
        )
        zh += f"过去{days}天中有{within}天，{start}之后的第一次{use_zh}在{usual_at}之前（最晚{latest_at}）；今天到{_clock(at_s, tz)}仍未使用。"
    else:
        en += (
            f"On {within} of the last {days} days use came within {usual_h:.1f} h after {start} "
            f"(longest wait {longest_h:.1f} h)."
        )
        zh += f"过去{days}天中有{within}天，{start}之后{usual_h:.1f}小时内就有{use_zh}（最长间隔{longest_h:.1f}小时）。"
    return Explanation(zh=zh, en=en)


def quiet_over(kinds: Sequence[MeterKind], since_s: float, at_s: float, tz: tzinfo) -> Explanation:
    what_en, unused_zh, use_zh = _used_words(kinds)
    since_en, since_zh = _since_words(since_s, at_s, tz, False)
    return Explanation(
        zh=f"{_clock(at_s, tz)}已恢复{use_zh}（此前自{since_zh}起{unused_zh}）。",
        en=f"{what_en.capitalize()} used again by {_clock(at_s, tz)} (nothing used since {since_en} before).",
    )


def learning_off(at_s: float, tz: tzinfo) -> Explanation:
    clock = _clock(at_s, tz)
    return Explanation(
        zh=f"{clock}已关闭此户的学习型检测：此提醒结束，固定规则继续监测。",
        en=f"Learning switched off for this household at {clock}: this warning ends; the fixed rules go on.",
    )


def quiet_escalated(into: AlertType, at_s: float, tz: tzinfo) -> Explanation:
    """A learned warning taken over by the seed rule's critical alert `into`."""
    clock, kind = _clock(at_s, tz), kind_of(into)
    if kind is None:
        return Explanation(
            zh=f"{clock}已升级为“24小时无活动”紧急告警：仍未用气用水。",
            en=f"Escalated into {into.value} at {clock}: still nothing used, now a critical alert.",
        )
    return Explanation(
        zh=f"{clock}已升级为“24小时{_ZH_UNUSED[kind]}”紧急告警：仍{_ZH_UNUSED[kind]}。",
        en=f"Escalated into {into.value} at {clock}: still no {_EN_NAME[kind]} used, now a critical alert.",
    )


def _volume(kind: MeterKind, litres: float) -> tuple[str, str]:
    """Water in litres, gas in m³: what a family reads on a bill."""
    if kind is MeterKind.WATER:
        return f"{litres:.0f} L", f"{litres:.0f}升"
    return f"{_amount(litres / 1000)} m³", f"{_amount(litres / 1000)}立方米"


def spike(kind: MeterKind, used_l: int, most_l: int, days: int, at_s: float, tz: tzinfo) -> Explanation:
    used_en, used_zh = _volume(kind, used_l)
    most_en, most_zh = _volume(kind, most_l)
    clock = _clock(at_s, tz)
    return Explanation(
        zh=f"今天截至{clock}已{_ZH_USE[kind]}{used_zh}，远超平常（过去{days}个正常日每天最多{most_zh}）——{_ZH_CHECK[kind]}。",
        en=f"Unusual {_EN_NAME[kind]} use: {used_en} today by {clock}; on the last {days} normal days at most "
        f"{most_en} a day — {_EN_CHECK[kind]}.",
    )


def spike_over(at_s: float, tz: tzinfo) -> Explanation:
    clock = _clock(at_s, tz)
    return Explanation(zh=f"用量异常的那一天已过去（{clock}）。", en=f"The day of unusual use is over ({clock}).")


def decline(kind: MeterKind, recent_l: float, usual_l: float, days: int, recent_days: int) -> Explanation:
    recent_en, recent_zh = _volume(kind, recent_l)
    usual_en, usual_zh = _volume(kind, usual_l)
    return Explanation(
        zh=f"{_ZH_USE[kind]}量持续下降：最近{recent_days}天每天中位数{recent_zh}，平常为{usual_zh}"
        f"（已学习{days}天）——请了解老人近况。",
        en=f"{_EN_NAME[kind].capitalize()} use has fallen for days: a median of {recent_en} a day over the last "
        f"{recent_days} days, against {usual_en} on this household's usual days ({days} days learned) — "
        "check how the elder is doing.",
    )


def decline_over(kind: MeterKind, at_s: float, tz: tzinfo) -> Explanation:
    clock = _clock(at_s, tz)
    return Explanation(
        zh=f"{_ZH_USE[kind]}量已恢复接近平常（{clock}）。",
        en=f"{_EN_NAME[kind].capitalize()} use is back near usual ({clock}).",
    )


def night_use(count: int, most: int, nights: int, core_from_s: float, core_to_s: float, tz: tzinfo) -> Explanation:
    start, end = _clock(core_from_s, tz), _clock(core_to_s, tz)
    return Explanation(
        zh=f"夜间用水用气异常：{start}至{end}之间使用了{count}次，平常夜里最多{most}次（已学习{nights}天）"
        "——老人可能身体不适或夜间不安，请关心询问。",
        en=f"Unusual use at night: {count} separate times between {start} and {end}; on the nights of the last "
        f"{nights} days at most {most} — the elder may be unwell or restless, worth a call.",
    )


def night_over(at_s: float, tz: tzinfo) -> Explanation:
    clock = _clock(at_s, tz)
    return Explanation(zh=f"昨夜用水用气已恢复平常（{clock}）。", en=f"Last night's use was usual again ({clock}).")


def continuous(kind: MeterKind, since_s: float, at_s: float, used_m3: float, tz: tzinfo) -> Explanation:
    hours, used = _hours(at_s - since_s), _amount(used_m3)
    return Explanation(
        zh=f"{_ZH_NAME[kind]}自{_when_zh(since_s, at_s, tz)}起持续流动（{hours}小时，{used}立方米）"
        f"——{_ZH_CHECK[kind]}。",
        en=f"{_EN_NAME[kind].capitalize()} has been flowing continuously since "
        f"{_when_en(since_s, at_s, tz)} ({hours} h, {used} m³) — {_EN_CHECK[kind]}.",
    )


def flow_stopped(kind: MeterKind, at_s: float, tz: tzinfo) -> Explanation:
    clock = _clock(at_s, tz)
    return Explanation(
        zh=f"截至{clock}，{_ZH_NAME[kind]}已不再持续流动。",
        en=f"{_EN_NAME[kind].capitalize()} is no longer flowing continuously (as of {clock}).",
    )


def flow_unconfirmed(kind: MeterKind, from_s: float, to_s: float, tz: tzinfo) -> Explanation:
    """The run is broken by a gap: we cannot claim flow we did not observe."""
    start_en, start_zh, end = _when_en(from_s, to_s, tz), _when_zh(from_s, to_s, tz), _clock(to_s, tz)
    return Explanation(
        zh=f"{start_zh}至{end}之间没有读数，无法再确认{_ZH_NAME[kind]}在持续流动。",
        en=f"{_EN_NAME[kind].capitalize()} flow can no longer be confirmed as continuous: "
        f"no reading between {start_en} and {end}.",
    )


def high_use(
    kind: MeterKind, at_s: float, used_m3: float, ceiling_m3: float, window_h: float, tz: tzinfo
) -> Explanation:
    clock, used, ceiling = _clock(at_s, tz), _amount(used_m3), _amount(ceiling_m3)
    return Explanation(
        zh=f"{_ZH_USE[kind]}量偏高：截至{clock}，过去{window_h:g}小时至少{used}立方米（上限{ceiling}立方米）。",
        en=f"High {_EN_NAME[kind]} use: at least {used} m³ in the last {window_h:g} h "
        f"by {clock} (ceiling {ceiling} m³).",
    )


def high_use_over(
    kind: MeterKind, at_s: float, used_m3: float, ceiling_m3: float, window_h: float, tz: tzinfo
) -> Explanation:
    clock, used, ceiling = _clock(at_s, tz), _amount(used_m3), _amount(ceiling_m3)
    return Explanation(
        zh=f"{clock}过去{window_h:g}小时{_ZH_USE[kind]}回落到{ceiling}立方米以下（{used}立方米）。",
        en=f"{_EN_NAME[kind].capitalize()} use back under {ceiling} m³ in the last {window_h:g} h "
        f"at {clock} ({used} m³).",
    )


def meters_silent(
    meter_ids: Sequence[str], since_s: float, interval_s: float, at_s: float, tz: tzinfo
) -> Explanation:
    """A device or network problem, said so plainly so nobody alarms a family."""
    when_en, when_zh = _when_en(since_s, at_s, tz), _when_zh(since_s, at_s, tz)
    subject = f"Meter {meter_ids[0]} has" if len(meter_ids) == 1 else f"Meters {_and(meter_ids)} have"
    return Explanation(
        zh=f"表具{'、'.join(meter_ids)}自{when_zh}起未上报任何数据（应每{_interval_zh(interval_s)}上报一次）"
        "——是设备或网络问题，不是老人出了问题。",
        en=f"{subject} sent nothing since {when_en} (expected every {_interval_en(interval_s)}) "
        "— device or network problem, not an elder problem.",
    )


def meters_reporting(meter_ids: Sequence[str], at_s: float, tz: tzinfo) -> Explanation:
    clock = _clock(at_s, tz)
    subject = f"Meter {meter_ids[0]} is" if len(meter_ids) == 1 else f"Meters {_and(meter_ids)} are"
    return Explanation(
        zh=f"表具{'、'.join(meter_ids)}已恢复上报（{clock}）。",
        en=f"{subject} reporting again ({clock}).",
    )


def register_backwards(
    meter_id: str,
    at_s: float,
    register_m3: float,
    neighbour_m3: float,
    neighbour_is_later: bool,
    tz: tzinfo,
) -> Explanation:
    clock, value, neighbour = _clock(at_s, tz), f"{register_m3:.3f}", f"{neighbour_m3:.3f}"
    if neighbour_is_later:
        zh_cmp, en_cmp = f"高于之后的{neighbour}立方米", f"is above the {neighbour} m³ read after it"
    else:
        zh_cmp, en_cmp = f"低于之前的{neighbour}立方米", f"is below the {neighbour} m³ read before it"
    return Explanation(
        zh=f"表具{meter_id}在{clock}的读数倒退：{value}立方米{zh_cmp}，已拒收——请检查表具或确认是否已更换。",
        en=f"Meter {meter_id} register went backwards at {clock}: {value} m³ {en_cmp}; "
        "reading rejected — check the meter or whether it was replaced.",
    )


def register_consistent(meter_ids: Sequence[str], at_s: float, tz: tzinfo) -> Explanation:
    clock = _clock(at_s, tz)
    subject = f"Meter {meter_ids[0]}" if len(meter_ids) == 1 else f"Meters {_and(meter_ids)}"
    return Explanation(
        zh=f"表具{'、'.join(meter_ids)}读数已恢复正常（{clock}）。",
        en=f"{subject} readings are consistent again ({clock}).",
    )


def register_restarted(meter_id: str, at_s: float, register_m3: float, tz: tzinfo) -> Explanation:
    clock, value = _clock(at_s, tz), f"{register_m3:.3f}"
    return Explanation(
        zh=f"表具{meter_id}已重置或更换：自{clock}起从{value}立方米重新计数。",
        en=f"Meter {meter_id} was reset or replaced: counting restarts from {value} m³ ({clock}).",
    )


def _local(epoch_s: float, tz: tzinfo) -> datetime:
    return datetime.fromtimestamp(epoch_s, tz)


def _clock(epoch_s: float, tz: tzinfo) -> str:
    return _local(epoch_s, tz).strftime("%H:%M")


def _day(epoch_s: float, tz: tzinfo) -> str:
    return _local(epoch_s, tz).strftime("%m-%d")


def _same_day(a_s: float, b_s: float, tz: tzinfo) -> bool:
    return _local(a_s, tz).date() == _local(b_s, tz).date()


def _when_en(epoch_s: float, reference_s: float, tz: tzinfo) -> str:
    """"18:05" when on the reference's local day, else "18:05 on 01-05"."""
    if _same_day(epoch_s, reference_s, tz):
        return _clock(epoch_s, tz)
    return f"{_clock(epoch_s, tz)} on {_day(epoch_s, tz)}"


def _when_zh(epoch_s: float, reference_s: float, tz: tzinfo) -> str:
    if _same_day(epoch_s, reference_s, tz):
        return _clock(epoch_s, tz)
    return f"{_day(epoch_s, tz)} {_clock(epoch_s, tz)}"


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f}"


def _amount(m3: float) -> str:
    """0.41, 6.4, 0.01: at most three decimals, no trailing zeros."""
    text = f"{m3:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _interval_en(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes / 60:g} h" if minutes >= 60 and minutes % 60 == 0 else f"{minutes:g} min"


def _interval_zh(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes / 60:g}小时" if minutes >= 60 and minutes % 60 == 0 else f"{minutes:g}分钟"


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
