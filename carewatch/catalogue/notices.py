"""What families, elders, duty staff and visitors receive by SMS, voice, email and group robot (alerts.messages).

Each purpose has a ``subject`` (email subject, robot title) and a ``body`` (the whole SMS,
voice and robot text; the email body). The ``part`` entries are the optional phrases a
body carries only when their field has a value (a link, who closed it, how long it waited).
"""

from __future__ import annotations

from carewatch.catalogue.core import Message as M

NOTICE = {
    "check_elder.subject": M("【社区关爱】{elder}，您好吗？", "Checking in, {elder}"),
    "check_elder.body": M(
        "【社区关爱】{elder}您好，我们发现您家{since}{type_label}。您一切都好吗？{if_fine_link} {call_community}",
        "[Community care] Hello {elder}, we noticed {type_label!l}{since} at your home. Are you all right?{if_fine_link}{call_community}",
    ),
    "notify_family.subject": M("【社区关爱】请联系{household}：{type_label}", "Please check on {household}: {type_label}"),
    "notify_family.body": M(
        "【社区关爱】{recipient}您好：{household}（{address}）{explanation}请尽快联系确认。{family_call_community}{report_link}",
        "[Community care] Dear {recipient}: {household} ({address}). {explanation} Please call them.{family_call_community}{report_link}",
    ),
    "page_duty.subject": M("【值班】{severity}：{household} {type_label}", "[Duty] {severity}: {household} {type_label}"),
    "page_duty.body": M(
        "【值班】{household}（{address}）{explanation}{call_elder}{call_family}请在值班台确认并记录结果。编号{alert_id}",
        "[Duty] {household} ({address}). {explanation}{call_elder}{call_family} Acknowledge on the duty console and record the outcome. Ref {alert_id}",
    ),
    "help_requested.subject": M("【求助】{household} 请求帮助", "[Help] {household}: help asked for"),
    "help_requested.body": M(
        "【求助】{household}（{address}）的老人或家属通过链接请求帮助，请立即联系并安排上门。{explanation}{call_elder}{call_family}编号{alert_id}",
        "[Help] The elder or a family member of {household} ({address}) asked for help through their link: call and send someone now."
        " {explanation}{call_elder}{call_family} Ref {alert_id}",
    ),
    "escalate_supervisor.subject": M("【升级】{household} 的告警{waited_subject}", "[Escalated] {household}: {waited_subject}"),
    "escalate_supervisor.body": M(
        "【升级】{household}（{address}）的告警{waited_body}：{explanation}{call_elder}{call_family}请督促处理。编号{alert_id}",
        "[Escalated] The alert for {household} ({address}) {waited_body}: {explanation}{call_elder}{call_family} Please see that it is handled. Ref {alert_id}",
    ),
    "request_home_visit.subject": M("【请上门】{household}，{address}", "[Home visit] {household}, {address}"),
    "request_home_visit.body": M(
        "【请上门】请尽快上门探视{household}，地址：{address}。原因：{explanation}家属与值班均未确认。{call_elder}{call_family}编号{alert_id}",
        "[Home visit] Please visit {household} at {address} as soon as possible. Reason: {explanation}"
        " Neither family nor duty staff have confirmed.{call_elder}{call_family} Ref {alert_id}",
    ),
    "reminder.subject": M("【第{reminder}次提醒】{household} 的告警仍未确认", "[Reminder {reminder}] {household}: still unacknowledged"),
    "reminder.body": M(
        "【第{reminder}次提醒】{household}（{address}）的告警仍未确认：{explanation}{call_elder}{call_family}编号{alert_id}",
        "[Reminder {reminder}] The alert for {household} ({address}) is still unacknowledged: {explanation}{call_elder}{call_family} Ref {alert_id}",
    ),
    "update.subject": M("【已处理】{household}：{closed}", "[Handled] {household}: {closed}"),
    "update.body": M(
        "【已处理】关于{household}的提醒：{closed}{by_actor}{with_outcome}。无需再回复，谢谢。",
        "[Handled] About {household}: {closed}{by_actor}{with_outcome}. No reply needed, thank you.",
    ),
    "part.since": M("自{onset}起", " since {onset}"),
    "part.if_fine_link": M("平安请点：{link}", " If you are fine, tap: {link}"),
    "part.report_link": M("已确认平安或联系不上请点：{link}", " Tell us when you have checked, or cannot reach them: {link}"),
    "part.waited_subject": M("{waited}无人确认", "unacknowledged for {waited}"),
    "part.urgent_subject": M("需要您关注", "urgent, everyone alerted"),
    "part.waited_body": M("已{waited}无人确认", "has been unacknowledged for {waited}"),
    "part.urgent_body": M("（紧急，已同时通知各方）", "is urgent and went to everyone at once"),
    "part.by_actor": M("（{actor}）", " ({actor})"),
    "part.name_relation": M("{name}（{relation}）", "{name} ({relation})"),
    "part.call_community": M("需要帮助请拨打社区电话{community_phone}。", " If you need help, call your community office on {community_phone}."),
    "part.call_community_office": M("需要帮助请拨打社区电话。", " If you need help, call your community office."),
    "part.family_call_community": M("联系不上请拨打社区电话{community_phone}。", " If you cannot reach them, call the community office on {community_phone}."),
    "part.call_elder": M("老人电话{elder_phone}。", " Elder's phone: {elder_phone}."),
    "part.call_family": M("家属{family_name}电话{family_phone}。", " Family: {family_name}, {family_phone}."),
    "part.with_outcome": M("，结果：{outcome}", ", outcome: {outcome}"),
    "part.outcome_with_reason": M("{outcome}（{reason}）", "{outcome} ({reason})"),
}

SECTIONS = {"notice": NOTICE}
