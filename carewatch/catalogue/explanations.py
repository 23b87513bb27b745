"""The detectors' explanations (detectors/explain.py): plain sentences a duty officer can read to a family.

One sentence per meter kind where the kinds read differently ("未使用燃气" / "未用水"), rather
than a sentence glued from a translated noun. Amounts are in m³ (立方米), water by the day in litres.
"""

from __future__ import annotations

from carewatch.catalogue.core import Message as M

EXPLAIN = {
    # -- inactivity (detectors/inactivity.py) --
    "no_use.gas": M(
        "自{day} {clock}起未使用燃气（{hours}小时），过去{window}小时用气不足{limit}立方米。",
        "No gas used since {clock} on {day} ({hours} h); less than {limit} m³ in the last {window} h.",
    ),
    "no_use.water": M(
        "自{day} {clock}起未用水（{hours}小时），过去{window}小时用水不足{limit}立方米。",
        "No water used since {clock} on {day} ({hours} h); less than {limit} m³ in the last {window} h.",
    ),
    "no_use.both": M(
        "自{day} {clock}起未使用燃气，也未用水（{hours}小时），过去{window}小时用气不足{gas}立方米、用水不足{water}立方米。",
        "No gas or water used since {clock} on {day} ({hours} h); less than {gas} m³ of gas and {water} m³ of water in the last {window} h.",
    ),
    "use_resumed.gas": M("{clock}恢复用气（过去{window}小时用气{used}立方米）。", "Gas use resumed at {clock} ({used} m³ in the last {window} h)."),
    "use_resumed.water": M("{clock}恢复用水（过去{window}小时用水{used}立方米）。", "Water use resumed at {clock} ({used} m³ in the last {window} h)."),
    "still_unused.gas": M("但自{day} {clock}起仍未使用燃气。", " Still no gas used since {clock} on {day}."),
    "still_unused.water": M("但自{day} {clock}起仍未用水。", " Still no water used since {clock} on {day}."),
    "escalated.gas": M(
        "{clock}已升级为“24小时无活动”告警：同时未用水，合并为一条紧急告警。",
        "Escalated at {clock} into \u201cno gas or water used in 24 hours\u201d: no water used either, so this is now one critical alert.",
    ),
    "escalated.water": M(
        "{clock}已升级为“24小时无活动”告警：同时未使用燃气，合并为一条紧急告警。",
        "Escalated at {clock} into \u201cno gas or water used in 24 hours\u201d: no gas used either, so this is now one critical alert.",
    ),
    # -- learned quiet (detectors/quiet.py) --
    "since.yesterday": M("昨天{clock}", "{clock} yesterday"),
    "since.return": M("计划返回时间{since}", "the planned return at {since}"),
    "quiet.morning.gas": M(
        "自{since}起未使用燃气（{hours}小时）。过去{days}天中有{within}天，{start}之后的第一次用气在{usual_at}之前（最晚{latest_at}）；今天到{now}仍未使用。",
        "No gas used since {since} ({hours} h). On {within} of the last {days} days the first use after {start}"
        " came by {usual_at} (latest {latest_at}); today none by {now}.",
    ),
    "quiet.later.gas": M(
        "自{since}起未使用燃气（{hours}小时）。过去{days}天中有{within}天，{start}之后{usual_h}小时内就有用气（最长间隔{longest_h}小时）。",
        "No gas used since {since} ({hours} h). On {within} of the last {days} days use came within {usual_h} h"
        " after {start} (longest wait {longest_h} h).",
    ),
    "quiet.over.gas": M("{now}已恢复用气（此前自{since}起未使用燃气）。", "Gas used again by {now} (nothing used since {since} before)."),
    "quiet.morning.water": M(
        "自{since}起未用水（{hours}小时）。过去{days}天中有{within}天，{start}之后的第一次用水在{usual_at}之前（最晚{latest_at}）；今天到{now}仍未使用。",
        "No water used since {since} ({hours} h). On {within} of the last {days} days the first use after {start}"
        " came by {usual_at} (latest {latest_at}); today none by {now}.",
    ),
    "quiet.later.water": M(
        "自{since}起未用水（{hours}小时）。过去{days}天中有{within}天，{start}之后{usual_h}小时内就有用水（最长间隔{longest_h}小时）。",
        "No water used since {since} ({hours} h). On {within} of the last {days} days use came within {usual_h} h"
        " after {start} (longest wait {longest_h} h).",
    ),
    "quiet.over.water": M("{now}已恢复用水（此前自{since}起未用水）。", "Water used again by {now} (nothing used since {since} before)."),
    "quiet.morning.both": M(
        "自{since}起未用气也未用水（{hours}小时）。过去{days}天中有{within}天，{start}之后的第一次用水用气在{usual_at}之前（最晚{latest_at}）；今天到{now}仍未使用。",
        "No gas or water used since {since} ({hours} h). On {within} of the last {days} days the first use after {start}"
        " came by {usual_at} (latest {latest_at}); today none by {now}.",
    ),
    "quiet.later.both": M(
        "自{since}起未用气也未用水（{hours}小时）。过去{days}天中有{within}天，{start}之后{usual_h}小时内就有用水用气（最长间隔{longest_h}小时）。",
        "No gas or water used since {since} ({hours} h). On {within} of the last {days} days use came within {usual_h} h"
        " after {start} (longest wait {longest_h} h).",
    ),
    "quiet.over.both": M("{now}已恢复用水用气（此前自{since}起未用气也未用水）。", "Gas or water used again by {now} (nothing used since {since} before)."),
    "quiet.escalated.both": M(
        "{clock}已升级为“24小时无活动”紧急告警：仍未用气用水。",
        "Escalated at {clock} into \u201cno gas or water used in 24 hours\u201d: still nothing used, now a critical alert.",
    ),
    "quiet.escalated.gas": M(
        "{clock}已升级为“24小时未使用燃气”紧急告警：仍未使用燃气。",
        "Escalated at {clock} into \u201cno gas used in 24 hours\u201d: still no gas used, now a critical alert.",
    ),
    "quiet.escalated.water": M(
        "{clock}已升级为“24小时未用水”紧急告警：仍未用水。",
        "Escalated at {clock} into \u201cno water used in 24 hours\u201d: still no water used, now a critical alert.",
    ),
    # -- the soft tier: ask the elder first (detectors/checkin.py) --
    "check_in.gas": M(
        "自{since}起未使用燃气（{hours}小时），比平时久（此时一般不超过{usual_h}小时）：先询问老人本人是否安好。",
        "No gas used since {since} ({hours} h), longer than usual at this hour (usually at most {usual_h} h): the elder is asked first.",
    ),
    "check_in.water": M(
        "自{since}起未用水（{hours}小时），比平时久（此时一般不超过{usual_h}小时）：先询问老人本人是否安好。",
        "No water used since {since} ({hours} h), longer than usual at this hour (usually at most {usual_h} h): the elder is asked first.",
    ),
    "check_in.both": M(
        "自{since}起未用气也未用水（{hours}小时），比平时久（此时一般不超过{usual_h}小时）：先询问老人本人是否安好。",
        "No gas or water used since {since} ({hours} h), longer than usual at this hour (usually at most {usual_h} h): the elder is asked first.",
    ),
    "check_in.used": M("{clock}已有用水用气：询问结束。", "Gas or water used by {clock}: the check-in is over."),
    "check_in.fine": M(
        "老人{clock}回复“我很好”：询问结束；此时段（每周这一天）的这种安静今后视为平常。",
        "The elder answered \u201cI'm fine\u201d at {clock}: the check-in is over, and such a quiet at this hour (on this weekday) is learned as usual.",
    ),
    "check_in.unanswered": M(
        "询问后至{clock}老人仍未回复，也未用水用气：已通知家属和值班人员。",
        "No answer from the elder by {clock} and still nothing used: family and duty staff are told.",
    ),
    "check_in.superseded": M(
        "{clock}起此户的安静已超出以往：已通知家属和值班人员。",
        "From {clock} the household's quiet is longer than ever before: family and duty staff are told.",
    ),
    "quiet.unanswered.gas": M(
        "自{since}起未使用燃气（{hours}小时），比平时久；{asked}已询问老人本人，至{clock}未回复。",
        "No gas used since {since} ({hours} h), longer than usual; the elder was asked at {asked} and had not answered by {clock}.",
    ),
    "quiet.unanswered.water": M(
        "自{since}起未用水（{hours}小时），比平时久；{asked}已询问老人本人，至{clock}未回复。",
        "No water used since {since} ({hours} h), longer than usual; the elder was asked at {asked} and had not answered by {clock}.",
    ),
    "quiet.unanswered.both": M(
        "自{since}起未用气也未用水（{hours}小时），比平时久；{asked}已询问老人本人，至{clock}未回复。",
        "No gas or water used since {since} ({hours} h), longer than usual; the elder was asked at {asked} and had not answered by {clock}.",
    ),
    "quiet.answered": M("老人{clock}回复“我很好”。", "The elder answered \u201cI'm fine\u201d at {clock}."),
    # -- outcomes teach the detectors (detectors/household.py, HouseholdMonitor.learn_outcome) --
    "learned.went_out": M(
        "已学习：老人外出。每{weekday}{start}至{end}左右无用水用气（约{hours}小时）今后视为平常，不再提醒（最多放宽{most}小时）；24小时规则照常。",
        "Learned: the elder was out. No gas or water from about {start} to {end} on {weekday}s ({hours} h) is now usual and raises nothing (widened by at most {most} h); the 24-hour rule is unchanged.",
    ),
    "learned.nothing": M("此结果（{lesson}）未改变检测：此户的作息尚在学习中，或无可学习的安静时段。",
                         "Nothing learned from this outcome ({lesson}): the household's routine is still being learned, or there was no quiet spell to learn."),
    "lesson.went_out": M("老人外出", "the elder was out"),
    "lesson.meter_fault": M("表具故障", "meter fault"),
    "learned.meter_fault": M(
        "已学习：表具{meters}有时{hours}小时不上报，今后这样的间隔不再派单（最多{most}小时）；网关整体断线仍会及时报告。",
        "Learned: meter {meters} sometimes sends nothing for {hours} h; such a gap is no longer a ticket (at most {most} h); a gateway that goes silent is still told in time.",
    ),
    "learning_off": M(
        "{clock}已关闭此户的学习型检测：此提醒结束，固定规则继续监测。",
        "Learning switched off for this household at {clock}: this warning ends; the fixed rules go on.",
    ),
    # -- learned volumes (detectors/volume.py, night.py) --
    "check.gas": M("请确认灶具是否未关", "check whether a stove was left on"),
    "check.water": M("请确认水龙头是否未关或管道是否漏水", "check whether a tap was left running or a pipe leaks"),
    "litres": M("{litres}升", "{litres} L"),
    "cubic_metres": M("{m3}立方米", "{m3} m³"),
    "spike.gas": M(
        "今天截至{clock}已用气{used}，远超平常（过去{days}个正常日每天最多{most}）——{check}。",
        "Unusual gas use: {used} today by {clock}; on the last {days} normal days at most {most} a day — {check}.",
    ),
    "spike.water": M(
        "今天截至{clock}已用水{used}，远超平常（过去{days}个正常日每天最多{most}）——{check}。",
        "Unusual water use: {used} today by {clock}; on the last {days} normal days at most {most} a day — {check}.",
    ),
    "spike_over": M("用量异常的那一天已过去（{clock}）。", "The day of unusual use is over ({clock})."),
    "decline.gas": M(
        "用气量持续下降：最近{recent_days}天每天中位数{recent}，平常为{usual}（已学习{days}天）——请了解老人近况。",
        "Gas use has fallen for days: a median of {recent} a day over the last {recent_days} days, against {usual}"
        " on this household's usual days ({days} days learned) — check how the elder is doing.",
    ),
    "decline.water": M(
        "用水量持续下降：最近{recent_days}天每天中位数{recent}，平常为{usual}（已学习{days}天）——请了解老人近况。",
        "Water use has fallen for days: a median of {recent} a day over the last {recent_days} days, against {usual}"
        " on this household's usual days ({days} days learned) — check how the elder is doing.",
    ),
    "decline_over.gas": M("用气量已恢复接近平常（{clock}）。", "Gas use is back near usual ({clock})."),
    "decline_over.water": M("用水量已恢复接近平常（{clock}）。", "Water use is back near usual ({clock})."),
    "night_use": M(
        "夜间用水用气异常：{start}至{end}之间使用了{count}次，平常夜里最多{most}次（已学习{nights}天）——老人可能身体不适或夜间不安，请关心询问。",
        "Unusual use at night: {count} separate times between {start} and {end}; on the nights of the last {nights} days"
        " at most {most} — the elder may be unwell or restless, worth a call.",
    ),
    "night_over": M("昨夜用水用气已恢复平常（{clock}）。", "Last night's use was usual again ({clock})."),
    # -- continuous flow and high use (detectors/flow.py, ceiling.py) --
    "continuous.gas": M(
        "燃气自{since}起持续流动（{hours}小时，{used}立方米）——{check}。",
        "Gas has been flowing continuously since {since} ({hours} h, {used} m³) — {check}.",
    ),
    "continuous.water": M(
        "水自{since}起持续流动（{hours}小时，{used}立方米）——{check}。",
        "Water has been flowing continuously since {since} ({hours} h, {used} m³) — {check}.",
    ),
    "flow_stopped.gas": M("截至{clock}，燃气已不再持续流动。", "Gas is no longer flowing continuously (as of {clock})."),
    "flow_stopped.water": M("截至{clock}，水已不再持续流动。", "Water is no longer flowing continuously (as of {clock})."),
    "flow_unconfirmed.gas": M(
        "{since}至{end}之间没有读数，无法再确认燃气在持续流动。",
        "Gas flow can no longer be confirmed as continuous: no reading between {since} and {end}.",
    ),
    "flow_unconfirmed.water": M(
        "{since}至{end}之间没有读数，无法再确认水在持续流动。",
        "Water flow can no longer be confirmed as continuous: no reading between {since} and {end}.",
    ),
    "high_use.gas": M(
        "用气量偏高：截至{clock}，过去{window}小时至少{used}立方米（上限{ceiling}立方米）。",
        "High gas use: at least {used} m³ in the last {window} h by {clock} (ceiling {ceiling} m³).",
    ),
    "high_use.water": M(
        "用水量偏高：截至{clock}，过去{window}小时至少{used}立方米（上限{ceiling}立方米）。",
        "High water use: at least {used} m³ in the last {window} h by {clock} (ceiling {ceiling} m³).",
    ),
    "high_use_over.gas": M(
        "{clock}过去{window}小时用气回落到{ceiling}立方米以下（{used}立方米）。",
        "Gas use back under {ceiling} m³ in the last {window} h at {clock} ({used} m³).",
    ),
    "high_use_over.water": M(
        "{clock}过去{window}小时用水回落到{ceiling}立方米以下（{used}立方米）。",
        "Water use back under {ceiling} m³ in the last {window} h at {clock} ({used} m³).",
    ),
    # -- meters (detectors/silence.py, register.py) --
    "when.same_day": M("{clock}", "{clock}"),
    "when.other_day": M("{day} {clock}", "{clock} on {day}"),
    "every.minutes": M("{minutes}分钟", "{minutes} min"),
    "every.hours": M("{hours}小时", "{hours} h"),
    "meters_silent.one": M(
        "表具{meters}自{since}起未上报任何数据（应每{every}上报一次）——是设备或网络问题，不是老人出了问题。",
        "Meter {meters} has sent nothing since {since} (expected every {every}) — device or network problem, not an elder problem.",
    ),
    "meters_silent.many": M(
        "表具{meters}自{since}起未上报任何数据（应每{every}上报一次）——是设备或网络问题，不是老人出了问题。",
        "Meters {meters} have sent nothing since {since} (expected every {every}) — device or network problem, not an elder problem.",
    ),
    "gateway_offline.one": M(
        "网关{gateway}自{offline}起离线（其MQTT遗嘱消息），表具{meters}自{since}起未上报——是设备或网络问题，不是老人出了问题。",
        "Gateway {gateway} went offline at {offline} (its MQTT last will); meter {meters} has sent nothing since {since} — device or network problem, not an elder problem.",
    ),
    "gateway_offline.many": M(
        "网关{gateway}自{offline}起离线（其MQTT遗嘱消息），表具{meters}自{since}起未上报——是设备或网络问题，不是老人出了问题。",
        "Gateway {gateway} went offline at {offline} (its MQTT last will); meters {meters} have sent nothing since {since} — device or network problem, not an elder problem.",
    ),
    "meters_reporting.one": M("表具{meters}已恢复上报（{clock}）。", "Meter {meters} is reporting again ({clock})."),
    "meters_reporting.many": M("表具{meters}已恢复上报（{clock}）。", "Meters {meters} are reporting again ({clock})."),
    "register_backwards.before": M(
        "表具{meter}在{clock}的读数倒退：{value}立方米低于之前的{neighbour}立方米，已拒收——请检查表具或确认是否已更换。",
        "Meter {meter} register went backwards at {clock}: {value} m³ is below the {neighbour} m³ read before it;"
        " reading rejected — check the meter or whether it was replaced.",
    ),
    "register_backwards.after": M(
        "表具{meter}在{clock}的读数倒退：{value}立方米高于之后的{neighbour}立方米，已拒收——请检查表具或确认是否已更换。",
        "Meter {meter} register went backwards at {clock}: {value} m³ is above the {neighbour} m³ read after it;"
        " reading rejected — check the meter or whether it was replaced.",
    ),
    "register_consistent.one": M("表具{meters}读数已恢复正常（{clock}）。", "Meter {meters} readings are consistent again ({clock})."),
    "register_consistent.many": M("表具{meters}读数已恢复正常（{clock}）。", "Meters {meters} readings are consistent again ({clock})."),
    "register_restarted": M(
        "表具{meter}已重置或更换：自{clock}起从{value}立方米重新计数。",
        "Meter {meter} was reset or replaced: counting restarts from {value} m³ ({clock}).",
    ),
    # -- meter health (detectors/meter_health.py): for technicians, never about the elder --
    "battery_low": M(
        "表具{meter}报告电池电量为{pct}%（{clock}），低于{low}%——请更换电池；这是设备问题，不是老人出了问题。",
        "Meter {meter} reports its battery at {pct} % ({clock}), below {low} % — replace the battery; a device problem, not an elder problem.",
    ),
    "signal_weak": M(
        "表具{meter}的无线信号已连续{days}天偏弱（中位数{median} dBm，低于{limit} dBm，{clock}）——请检查天线或网关，否则读数可能丢失。",
        "Meter {meter} has had a weak radio signal for {days} days (median {median} dBm, below {limit} dBm; {clock})"
        " — check the antenna or the gateway before readings are lost.",
    ),
    "meter_flag.tamper": M(
        "表具{meter}在{clock}报告被拆动（状态“{status}”）——请派技术人员检查表具。",
        'Meter {meter} reports tampering (status "{status}") at {clock} — send a technician to check the meter.',
    ),
    "meter_flag.leak": M(
        "表具{meter}在{clock}报告泄漏（状态“{status}”）——请派技术人员检查管道和表具。",
        'Meter {meter} reports a leak (status "{status}") at {clock} — send a technician to check the pipes and the meter.',
    ),
    "meter_flag.valve_closed": M(
        "表具{meter}在{clock}报告阀门已关闭（状态“{status}”）——请派技术人员确认阀门为何关闭。",
        'Meter {meter} reports its valve closed (status "{status}") at {clock} — send a technician to find out why.',
    ),
    "health_over.meter_low_battery.one": M("表具{meters}电池电量已恢复（{clock}）。", "Meter {meters} battery is good again ({clock})."),
    "health_over.meter_low_battery.many": M("表具{meters}电池电量已恢复（{clock}）。", "Meters {meters} batteries are good again ({clock})."),
    "health_over.meter_weak_signal.one": M("表具{meters}无线信号已恢复（{clock}）。", "Meter {meters} radio signal is good again ({clock})."),
    "health_over.meter_weak_signal.many": M("表具{meters}无线信号已恢复（{clock}）。", "Meters {meters} radio signals are good again ({clock})."),
    "health_over.meter_tamper.one": M("表具{meters}不再报告被拆动（{clock}）。", "Meter {meters} no longer reports tampering ({clock})."),
    "health_over.meter_tamper.many": M("表具{meters}不再报告被拆动（{clock}）。", "Meters {meters} no longer report tampering ({clock})."),
    "health_over.meter_leak.one": M("表具{meters}不再报告泄漏（{clock}）。", "Meter {meters} no longer reports a leak ({clock})."),
    "health_over.meter_leak.many": M("表具{meters}不再报告泄漏（{clock}）。", "Meters {meters} no longer report a leak ({clock})."),
    "health_over.meter_valve_closed.one": M("表具{meters}不再报告阀门关闭（{clock}）。", "Meter {meters} no longer reports its valve closed ({clock})."),
    "health_over.meter_valve_closed.many": M("表具{meters}不再报告阀门关闭（{clock}）。", "Meters {meters} no longer report their valves closed ({clock})."),

    "list.separator": M("、", ", "),
    "list.last_separator": M("、", " and "),
}

SECTIONS = {"explain": EXPLAIN}
