"""Names of the things a person reads about: alert types, severities, states, outcomes, channels.

Keys are the enum values of the code that owns each thing (``alert_type.no_gas_24h``); the
completeness test checks every enum value has one, so a new value cannot ship unnamed.
"""

from __future__ import annotations

from carewatch.catalogue.core import Message as M

ALERT_TYPE = {
    "no_gas_24h": M("24小时未用燃气", "No gas used in 24 hours"),
    "no_water_24h": M("24小时未用水", "No water used in 24 hours"),
    "no_activity_24h": M("24小时未用气也未用水", "No gas or water used in 24 hours"),
    "gas_continuous": M("燃气长时间持续使用", "Gas flowing for a long time"),
    "water_continuous": M("长时间持续用水", "Water running for a long time"),
    "high_gas_use": M("燃气用量异常偏高", "Unusually high gas use"),
    "high_water_use": M("用水量异常偏高", "Unusually high water use"),
    "meter_silent": M("表具未上报数据", "Meter not reporting"),
    "meter_register_fault": M("表具读数异常", "Meter register fault"),
    "meter_low_battery": M("表具电池电量低", "Meter battery low"),
    "meter_weak_signal": M("表具信号持续偏弱", "Meter signal weak for days"),
    "meter_tamper": M("表具报告被拆动", "Meter reports tampering"),
    "meter_leak": M("表具报告泄漏", "Meter reports a leak"),
    "meter_valve_closed": M("表具报告阀门关闭", "Meter reports its valve closed"),
    "morning_activity_missing": M("早上未见用水用气", "No use this morning"),
    "unusual_quiet": M("无用水用气时间超出平常", "Quiet for longer than usual"),
    "sustained_decline": M("用水用气量持续下降", "Use declining for days"),
    "unusual_night_use": M("夜间用水用气异常增多", "Unusual use at night"),
    "unusual_spike": M("单日用量远超平常", "A day's use far above usual"),
    "check_in": M("用水用气比平时少", "Less use than usual"),
}

METER_FLAG = {
    # What a meter reports about itself (carewatch.domain.MeterFlag), on the household and devices pages.
    "tamper": M("被拆动", "tampering"),
    "leak": M("泄漏", "leak"),
    "valve_closed": M("阀门关闭", "valve closed"),
}

SEVERITY = {
    "critical": M("紧急", "Critical"),
    "warning": M("警告", "Warning"),
    "info": M("提示", "Info"),
}

STATUS = {
    "open": M("待处理", "Open"),
    "acknowledged": M("已确认", "Acknowledged"),
    "resolved": M("已解决", "Resolved"),
    "auto_resolved": M("已自动解除", "Cleared automatically"),
}

CLOSED = {
    # How a closed alert is told to those who were contacted (alerts.escalation).
    "acknowledged": M("值班人员已接手", "duty staff have taken it on"),
    "resolved": M("已处理完毕", "it has been handled"),
    "auto_resolved": M("用气用水已恢复正常", "normal use has resumed"),
}

OUTCOME = {
    "safe": M("平安", "safe"),
    "unwell": M("身体不适，已安排帮助", "unwell, help sent"),
    "hospitalised": M("已送医", "taken to hospital"),
    "false_alarm": M("误报", "false alarm"),
    "unreachable": M("暂时联系不上", "could not be reached yet"),
}

FALSE_ALARM_REASON = {
    "away": M("外出", "away"),
    "meter_fault": M("表具故障", "meter fault"),
    "other": M("其他", "other"),
}

AUDIT_ACTION = {
    "raised": M("报警", "Raised"),
    "acknowledged": M("确认", "Acknowledged"),
    "resolved": M("解决", "Resolved"),
    "auto_resolved": M("自动解除", "Cleared automatically"),
    "escalated": M("升级通知", "Escalated"),
    "family_unreachable": M("家属联系不上老人", "Family could not reach the elder"),
    "help_requested": M("请求帮助", "Asked for help"),
    "escalation_stopped": M("停止升级", "Escalation stopped"),
    "assigned": M("指派", "Assigned"),
    "silenced": M("已静默（计划内事件）", "Silenced (planned event)"),
    "learned": M("已据此学习", "Learned from it"),
    "heard": M("检测已收到回答", "Answer heard by the detector"),
}

SYSTEM_ACTOR = {
    # The audit trail's actors that are not people (alerts.lifecycle.DETECTOR_ACTOR, LADDER_ACTOR).
    "detector": M("系统检测", "Detector"),
    "escalation": M("自动升级", "Escalation ladder"),
}

LADDER_STEP = {
    "check_elder": M("联系老人本人", "Checking with the elder"),
    "notify_family": M("通知家属", "Family told"),
    "page_duty": M("通知值班人员", "Duty staff paged"),
    "escalate_supervisor": M("上报主管", "Supervisor told"),
    "request_home_visit": M("请求上门查看", "Home visit requested"),
    # What else the ladder writes (the notifications log names every message's purpose).
    "reminder": M("提醒", "Reminder"),
    "update": M("处理结果通知", "Handled: update"),
    "help_requested": M("求助", "Help asked for"),
}

ATTEMPT_RESULT = {
    "sent": M("已送达", "delivered"),
    "retry": M("将重试", "will retry"),
    "failed": M("发送失败", "failed"),
}

LADDER_STATE = {
    "pending": M("等待通知", "Waiting to notify"),
    "running": M("逐级通知中", "Climbing"),
    "finished": M("已通知到最后一级", "Every step done"),
    "stopped": M("已停止升级", "Stopped"),
}

MESSAGE_STATUS = {
    "held": M("免打扰时段后发送", "held for quiet hours"),
    "pending": M("待发送", "to send"),
    "sending": M("发送中", "sending"),
    "sent": M("已送达", "delivered"),
    "failed": M("发送失败", "failed"),
    "cancelled": M("已取消", "cancelled"),
}

CHANNEL = {
    "email": M("邮件", "email"),
    "sms": M("短信", "SMS"),
    "voice": M("电话", "call"),
    "wecom": M("企业微信群", "WeCom group"),
    "dingtalk": M("钉钉群", "DingTalk group"),
    "feishu": M("飞书群", "Feishu group"),
    "webhook": M("对接系统", "integration"),
    "apprise": M("其他渠道", "other"),
}

RECIPIENT_ROLE = {
    "elder": M("老人", "elder"),
    "family": M("家属", "family"),
    "duty": M("值班", "duty"),
    "supervisor": M("主管", "supervisor"),
    "visitor": M("上门人员", "visitor"),
    "group": M("社区群", "group chat"),
}

REJECT_REASON = {
    "oversized_payload": M("报文过大", "Oversized payload"),
    "malformed_json": M("JSON 格式错误", "Malformed json"),
    "bad_topic": M("主题错误", "Bad topic"),
    "schema_violation": M("字段缺失或类型错误", "Schema violation"),
    "unsupported_version": M("协议版本不支持", "Unsupported version"),
    "too_many_readings": M("读数条数过多", "Too many readings"),
    "invalid_value": M("数值无效", "Invalid value"),
    "timestamp_in_future": M("时间戳在未来", "Timestamp in future"),
    "timestamp_implausible": M("时间戳不合理", "Timestamp implausible"),
    "unknown_meter": M("未登记表具", "Unknown meter"),
    "meter_on_wrong_gateway": M("表具挂错网关", "Meter on wrong gateway"),
    "register_went_backwards": M("读数倒退", "Register went backwards"),
    "conflicting_duplicate": M("同一时刻读数冲突", "Conflicting duplicate"),
    "processing_error": M("系统处理错误", "Processing error"),
}

UNIT = {
    "minutes": M("{minutes}分钟", "{minutes} min"),
    "hours": M("{hours}小时", "{hours} h"),
    "hours_minutes": M("{hours}小时{minutes}分钟", "{hours} h {minutes} min"),
}

SECTIONS = {
    "alert_type": ALERT_TYPE, "severity": SEVERITY, "status": STATUS, "closed": CLOSED, "outcome": OUTCOME,
    "false_alarm_reason": FALSE_ALARM_REASON, "audit_action": AUDIT_ACTION, "system_actor": SYSTEM_ACTOR, "ladder_step": LADDER_STEP,
    "ladder_state": LADDER_STATE, "message_status": MESSAGE_STATUS, "channel": CHANNEL, "recipient_role": RECIPIENT_ROLE,
    "reject_reason": REJECT_REASON, "unit": UNIT, "meter_flag": METER_FLAG, "attempt_result": ATTEMPT_RESULT,
}
