"""The console's words in Chinese (default) and English."""

from __future__ import annotations

from alerts.lifecycle import AlertStatus, AuditAction
from alerts.notify_tables import LadderState, MessageStatus
from alerts.policy import Action
from api.deps import Lang
from carewatch.domain import AlertType, RejectReason, Severity

ALERT_TYPE: dict[Lang, dict[AlertType, str]] = {
    "zh": {
        AlertType.NO_GAS_24H: "24小时未用燃气",
        AlertType.NO_WATER_24H: "24小时未用水",
        AlertType.NO_ACTIVITY_24H: "24小时未用气也未用水",
        AlertType.GAS_CONTINUOUS: "燃气长时间持续使用",
        AlertType.WATER_CONTINUOUS: "长时间持续用水",
        AlertType.HIGH_GAS_USE: "燃气用量异常偏高",
        AlertType.HIGH_WATER_USE: "用水量异常偏高",
        AlertType.METER_SILENT: "表具未上报数据",
        AlertType.METER_REGISTER_FAULT: "表具读数异常",
    },
    "en": {
        AlertType.NO_GAS_24H: "No gas used in 24 hours",
        AlertType.NO_WATER_24H: "No water used in 24 hours",
        AlertType.NO_ACTIVITY_24H: "No gas or water used in 24 hours",
        AlertType.GAS_CONTINUOUS: "Gas flowing for a long time",
        AlertType.WATER_CONTINUOUS: "Water running for a long time",
        AlertType.HIGH_GAS_USE: "Unusually high gas use",
        AlertType.HIGH_WATER_USE: "Unusually high water use",
        AlertType.METER_SILENT: "Meter not reporting",
        AlertType.METER_REGISTER_FAULT: "Meter register fault",
    },
}

SEVERITY: dict[Lang, dict[Severity, str]] = {
    "zh": {Severity.CRITICAL: "紧急", Severity.WARNING: "警告", Severity.INFO: "提示"},
    "en": {Severity.CRITICAL: "Critical", Severity.WARNING: "Warning", Severity.INFO: "Info"},
}

STATUS: dict[Lang, dict[AlertStatus, str]] = {
    "zh": {
        AlertStatus.OPEN: "待处理",
        AlertStatus.ACKNOWLEDGED: "已确认",
        AlertStatus.RESOLVED: "已解决",
        AlertStatus.AUTO_RESOLVED: "已自动解除",
    },
    "en": {
        AlertStatus.OPEN: "Open",
        AlertStatus.ACKNOWLEDGED: "Acknowledged",
        AlertStatus.RESOLVED: "Resolved",
        AlertStatus.AUTO_RESOLVED: "Cleared automatically",
    },
}

REJECT_REASON: dict[Lang, dict[RejectReason, str]] = {
    "zh": {
        RejectReason.OVERSIZED_PAYLOAD: "报文过大",
        RejectReason.MALFORMED_JSON: "JSON 格式错误",
        RejectReason.BAD_TOPIC: "主题错误",
        RejectReason.SCHEMA_VIOLATION: "字段缺失或类型错误",
        RejectReason.UNSUPPORTED_VERSION: "协议版本不支持",
        RejectReason.TOO_MANY_READINGS: "读数条数过多",
        RejectReason.INVALID_VALUE: "数值无效",
        RejectReason.TIMESTAMP_IN_FUTURE: "时间戳在未来",
        RejectReason.TIMESTAMP_IMPLAUSIBLE: "时间戳不合理",
        RejectReason.UNKNOWN_METER: "未登记表具",
        RejectReason.METER_ON_WRONG_GATEWAY: "表具挂错网关",
        RejectReason.REGISTER_WENT_BACKWARDS: "读数倒退",
        RejectReason.CONFLICTING_DUPLICATE: "同一时刻读数冲突",
        RejectReason.PROCESSING_ERROR: "系统处理错误",
    },
    "en": {reason: reason.value.replace("_", " ").capitalize() for reason in RejectReason},
}

UI: dict[Lang, dict[str, str]] = {
    "zh": {
        "title": "独居老人关爱值班台",
        "care_alerts": "关爱警报",
        "technician_alerts": "设备警报（通知维修人员）",
        "no_alerts": "暂无待处理警报。",
        "household": "住户",
        "alert": "警报",
        "severity": "级别",
        "onset": "开始时间",
        "raised": "报警时间",
        "status": "状态",
        "explanation": "说明",
        "action": "处理",
        "officer": "值班人员",
        "note": "备注",
        "acknowledge": "确认",
        "resolve": "解决",
        "acknowledged_by": "确认人",
        "ingest": "数据接入",
        "messages": "报文",
        "accepted": "已接收读数",
        "duplicates": "重复读数",
        "rejected": "已拒收",
        "unknown_meters": "未登记表具",
        "gateways_offline": "离线网关",
        "live_status": "运行状态",
        "times_in": "时间均为住户当地时间。",
        "refresh": "新警报实时出现，无需刷新页面。",
        "need_outcome": "请选择处理结果。",
        "need_other_detail": "误报原因为“其他”时，请在备注中说明。",
        "sign_in": "登录",
        "sign_out": "退出",
        "username": "用户名",
        "password": "密码",
        "bad_login": "用户名或密码错误。",
        "too_many_logins": "登录失败次数过多，请{minutes}分钟后再试。",
        "signed_in_as": "当前用户",
        "board": "警报看板",
        "households": "住户",
        "open_alerts": "待处理",
        "in_hand": "处理中",
        "time_open": "已等待",
        "outcome": "处理结果",
        "live": "实时连接",
        "offline": "连接中断，正在重连…",
        "sound": "新紧急警报时播放提示音",
        "new_critical": "有新的紧急警报！",
        "escalation": "升级",
        "contacted": "已通知",
        "elder": "老人",
        "phone": "电话",
        "address": "地址",
        "site": "社区",
        "birth_year": "出生年份",
        "notes": "注意事项",
        "contacts": "联系人",
        "no_contacts": "暂无联系人。",
        "absences": "计划外出",
        "no_absences": "暂无计划外出。",
        "away_from": "开始",
        "away_until": "结束",
        "set_absence": "登记外出",
        "clear_absence": "取消",
        "bad_absence": "结束时间必须晚于开始时间，且不超过90天。",
        "usage": "最近7天每小时用量",
        "gas": "燃气",
        "water": "用水",
        "no_usage": "最近7天没有读数。",
        "routine": "生活规律",
        "no_routine": "尚未学习到生活规律。",
        "history": "警报记录",
        "no_history": "暂无警报记录。",
        "audit": "处理记录",
        "meters": "表具",
        "forbidden": "您没有权限执行此操作。",
        "outcome_safe": "老人平安",
        "outcome_unwell": "老人不适，已派人帮助",
        "outcome_hospitalised": "已送医",
        "outcome_unreachable": "暂时联系不上，继续联系",
        "outcome_false_alarm:away": "误报：老人外出",
        "outcome_false_alarm:meter_fault": "误报：表具故障",
        "outcome_false_alarm:other": "误报：其他原因（请在备注中说明）",
        "not_found": "找不到该警报，可能已被删除或链接有误。",
        "illegal": "该警报当前状态为“{status}”，无法执行此操作。",
        "nobody_contacted": "尚未通知任何人",
        "reminders": "已提醒{n}次",
        "step_reached": "已到",
    },
    "en": {
        "title": "Duty console — elders living alone",
        "care_alerts": "Care alerts",
        "technician_alerts": "Device alerts (for technicians)",
        "no_alerts": "No alerts need attention.",
        "household": "Household",
        "alert": "Alert",
        "severity": "Severity",
        "onset": "Began",
        "raised": "Raised",
        "status": "Status",
        "explanation": "Explanation",
        "action": "Action",
        "officer": "Duty officer",
        "note": "Note",
        "acknowledge": "Acknowledge",
        "resolve": "Resolve",
        "acknowledged_by": "Acknowledged by",
        "ingest": "Ingest",
        "messages": "Messages",
        "accepted": "Readings accepted",
        "duplicates": "Duplicate readings",
        "rejected": "Rejected",
        "unknown_meters": "Unknown meters",
        "gateways_offline": "Gateways offline",
        "live_status": "Live status",
        "times_in": "Times are the household's local time.",
        "refresh": "New alerts appear here live; no need to reload.",
        "need_outcome": "Please choose what you found.",
        "need_other_detail": "For a false alarm of another kind, say what it was in the note.",
        "sign_in": "Sign in",
        "sign_out": "Sign out",
        "username": "User name",
        "password": "Password",
        "bad_login": "Wrong user name or password.",
        "too_many_logins": "Too many failed sign-ins; try again in {minutes} minutes.",
        "signed_in_as": "Signed in as",
        "board": "Alert board",
        "households": "Households",
        "open_alerts": "Open",
        "in_hand": "In hand",
        "time_open": "Open for",
        "outcome": "Outcome",
        "live": "Live",
        "offline": "Connection lost, reconnecting…",
        "sound": "Sound for new critical alerts",
        "new_critical": "New critical alert!",
        "escalation": "Escalation",
        "contacted": "Contacted",
        "elder": "Elder",
        "phone": "Phone",
        "address": "Address",
        "site": "Community",
        "birth_year": "Born",
        "notes": "Notes",
        "contacts": "Contacts",
        "no_contacts": "No contacts yet.",
        "absences": "Planned absences",
        "no_absences": "No planned absence.",
        "away_from": "From",
        "away_until": "Until",
        "set_absence": "Add absence",
        "clear_absence": "Clear",
        "bad_absence": "The end must be after the start, at most 90 days later.",
        "usage": "Hourly use, last 7 days",
        "gas": "Gas",
        "water": "Water",
        "no_usage": "No readings in the last 7 days.",
        "routine": "Routine",
        "no_routine": "No routine learned yet.",
        "history": "Alert history",
        "no_history": "No alerts so far.",
        "audit": "Audit trail",
        "meters": "Meters",
        "forbidden": "You are not allowed to do this.",
        "outcome_safe": "The elder is safe",
        "outcome_unwell": "Unwell: help was sent",
        "outcome_hospitalised": "Taken to hospital",
        "outcome_unreachable": "Not reached yet: still trying",
        "outcome_false_alarm:away": "False alarm: the elder is away",
        "outcome_false_alarm:meter_fault": "False alarm: meter fault",
        "outcome_false_alarm:other": "False alarm: other (say what in the note)",
        "not_found": "No such alert; the link may be wrong.",
        "illegal": "This alert is now “{status}”; that action is no longer possible.",
        "nobody_contacted": "Nobody contacted yet",
        "reminders": "{n} reminders sent",
        "step_reached": "Reached",
    },
}


AUDIT_ACTION: dict[Lang, dict[AuditAction, str]] = {
    "zh": {AuditAction.RAISED: "报警", AuditAction.ACKNOWLEDGED: "确认", AuditAction.RESOLVED: "解决",
           AuditAction.AUTO_RESOLVED: "自动解除", AuditAction.ESCALATED: "升级通知",
           AuditAction.FAMILY_UNREACHABLE: "家属联系不上老人", AuditAction.ESCALATION_STOPPED: "停止升级"},
    "en": {AuditAction.RAISED: "Raised", AuditAction.ACKNOWLEDGED: "Acknowledged", AuditAction.RESOLVED: "Resolved",
           AuditAction.AUTO_RESOLVED: "Cleared automatically", AuditAction.ESCALATED: "Escalated",
           AuditAction.FAMILY_UNREACHABLE: "Family could not reach the elder", AuditAction.ESCALATION_STOPPED: "Escalation stopped"},
}


# ---- the escalation ladder on the board (api/ladder_view.py) ----

LADDER_STEP: dict[Lang, dict[Action, str]] = {
    "zh": {Action.CHECK_ELDER: "联系老人本人", Action.NOTIFY_FAMILY: "通知家属", Action.PAGE_DUTY: "通知值班人员",
           Action.ESCALATE_SUPERVISOR: "上报主管", Action.REQUEST_HOME_VISIT: "请求上门查看"},
    "en": {Action.CHECK_ELDER: "Checking with the elder", Action.NOTIFY_FAMILY: "Family told", Action.PAGE_DUTY: "Duty staff paged",
           Action.ESCALATE_SUPERVISOR: "Supervisor told", Action.REQUEST_HOME_VISIT: "Home visit requested"},
}

LADDER_STATE: dict[Lang, dict[LadderState, str]] = {
    "zh": {LadderState.PENDING: "等待通知", LadderState.RUNNING: "逐级通知中", LadderState.FINISHED: "已通知到最后一级",
           LadderState.STOPPED: "已停止升级"},
    "en": {LadderState.PENDING: "Waiting to notify", LadderState.RUNNING: "Climbing", LadderState.FINISHED: "Every step done",
           LadderState.STOPPED: "Stopped"},
}

MESSAGE_STATUS: dict[Lang, dict[MessageStatus, str]] = {
    "zh": {MessageStatus.HELD: "免打扰时段后发送", MessageStatus.PENDING: "待发送", MessageStatus.SENDING: "发送中",
           MessageStatus.SENT: "已送达", MessageStatus.FAILED: "发送失败", MessageStatus.CANCELLED: "已取消"},
    "en": {MessageStatus.HELD: "held for quiet hours", MessageStatus.PENDING: "to send", MessageStatus.SENDING: "sending",
           MessageStatus.SENT: "delivered", MessageStatus.FAILED: "failed", MessageStatus.CANCELLED: "cancelled"},
}

CHANNEL: dict[Lang, dict[str, str]] = {
    "zh": {"email": "邮件", "sms": "短信", "voice": "电话", "wecom": "企业微信群", "dingtalk": "钉钉群", "feishu": "飞书群",
           "webhook": "对接系统", "apprise": "其他渠道"},
    "en": {"email": "email", "sms": "SMS", "voice": "call", "wecom": "WeCom group", "dingtalk": "DingTalk group",
           "feishu": "Feishu group", "webhook": "integration", "apprise": "other"},
}

RECIPIENT_ROLE: dict[Lang, dict[str, str]] = {
    "zh": {"elder": "老人", "family": "家属", "duty": "值班", "supervisor": "主管", "visitor": "上门人员", "group": "社区群"},
    "en": {"elder": "elder", "family": "family", "duty": "duty", "supervisor": "supervisor", "visitor": "visitor", "group": "group chat"},
}


def reject_reason(lang: Lang, reason: str) -> str:
    """Words for a dead-letter reason; a reason this console does not know yet shows as its code."""
    try:
        return REJECT_REASON[lang][RejectReason(reason)]
    except ValueError:
        return reason
