"""The console's words in Chinese (default) and English."""

from __future__ import annotations

from alerts.lifecycle import AlertStatus
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
        "refresh": "页面每15秒自动刷新（填写表单时暂停）。",
        "need_officer": "请填写值班人员姓名（最多{max}个字）。",
        "not_found": "找不到该警报，可能已被删除或链接有误。",
        "illegal": "该警报当前状态为“{status}”，无法执行此操作。",
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
        "refresh": "This page refreshes every 15 s (paused while you fill in a form).",
        "need_officer": "Please enter the duty officer's name (at most {max} characters).",
        "not_found": "No such alert; the link may be wrong.",
        "illegal": "This alert is now “{status}”; that action is no longer possible.",
    },
}


def reject_reason(lang: Lang, reason: str) -> str:
    """Words for a dead-letter reason; a reason this console does not know yet shows as its code."""
    try:
        return REJECT_REASON[lang][RejectReason(reason)]
    except ValueError:
        return reason
