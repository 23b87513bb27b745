"""The people file and the escalation policy are validated on load, with errors that say what to fix."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from alerts.people import PeopleError, PeopleFile
from alerts.policy import EscalationPolicy, PolicyError
from carewatch.domain import AlertType, Severity
from tests.notify.people import people


def refused(document: object) -> str:
    with pytest.raises(PeopleError) as caught:
        PeopleFile.from_document(document)
    return str(caught.value)


def test_the_example_people_file_loads_with_its_rota():
    directory = PeopleFile.from_document(people())
    site = directory.sites["donghu"]
    assert [p.name for p in site.on_duty(datetime(2025, 3, 2, 8, 0, tzinfo=UTC))] == ["李明"]  # 16:00 in Shanghai
    assert [p.name for p in site.on_duty(datetime(2025, 3, 2, 23, 0, tzinfo=UTC))] == ["王强"]  # 07:00, night shift
    household = directory.households["hh-001"]
    assert household.elder is not None and household.elder.channels[0].address == "+8613900000001"
    assert [c.label for c in household.contacts] == ["王芳（女儿）", "Wang Lei (son)"]  # each in the reader's own language


def test_a_rota_with_a_gap_is_refused_naming_the_hour():
    document = people()
    document["sites"][0]["rota"][1]["end"] = "07:00"
    assert "site donghu: nobody is on duty on mon 07:00" in refused(document)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["sites"][0]["rota"].append({"staff": "ghost", "start": "00:00", "end": "01:00"}), "unknown staff 'ghost'"),
        (lambda d: d["sites"][0]["staff"].pop(2), "no supervisor"),
        (lambda d: d["households"][0].update(site="xiyuan"), "unknown site 'xiyuan'"),
        (lambda d: d["households"][0]["contacts"][0]["channels"].append({"kind": "sms", "address": "call me"}), "must be digits"),
        (lambda d: d["households"][0]["contacts"][0]["channels"].append({"kind": "wecom", "address": "key=abc"}), "webhook URL"),
        (lambda d: d["households"][0]["contacts"][1].update(alert_types=["meter_silent"]), "families are not sent it"),
        (lambda d: d["households"][0]["contacts"][0].update(quiet_hours={"start": "22:00", "end": "22:00"}), "same time"),
        (lambda d: d["households"][0]["contacts"][0].update(language="fr"), "households.0.contacts.0.language"),
        (lambda d: d["households"][0]["contacts"][0].update(id="elder"), "names the elder's own line"),
    ],
)
def test_people_file_errors_name_the_problem(change, message):
    document = people()
    change(document)
    assert message in refused(document)


def test_people_file_loads_from_toml(tmp_path: Path):
    path = tmp_path / "people.toml"
    path.write_text(
        """
[[sites]]
site = "xiyuan"
staff = [
  { id = "d", name = "周丽", role = "duty", channels = [{ kind = "email", address = "zhou@xiyuan.example" }] },
  { id = "s", name = "孙主任", role = "supervisor", channels = [{ kind = "sms", address = "+8613800000002" }] },
]
rota = [{ staff = "d", start = "00:00", end = "00:00" }]
""",
        encoding="utf-8",
    )
    # A shift from 00:00 to 00:00 crosses midnight: the whole day.
    assert PeopleFile.load(path).sites["xiyuan"].on_duty(datetime(2025, 3, 2, 3, tzinfo=UTC))[0].name == "周丽"
    with pytest.raises(PeopleError, match="does not exist .*CAREWATCH_PEOPLE_PATH"):
        PeopleFile.load(tmp_path / "missing.json")


def test_the_default_policy_gives_every_alert_a_ladder():
    policy = EscalationPolicy.load()
    assert policy.ladder_for("donghu", AlertType.NO_ACTIVITY_24H, Severity.CRITICAL).name == "care-critical"
    assert policy.ladder_for("donghu", AlertType.METER_SILENT, Severity.WARNING).name == "device"
    assert policy.is_safety(AlertType.GAS_CONTINUOUS)


def ladder(name: str, **fields: object) -> dict[str, object]:
    return {"name": name, "audiences": ["care", "technician"], "severities": ["critical", "warning", "info"],
            "steps": [{"action": "page_duty"}], **fields}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"ladders": [ladder("care", audiences=["care"])]}, "no ladder for sites=['*'] covers meter_silent"),
        # Which alerts a ladder covers is the rule ladder_for uses: severities, alert types and sites count too.
        ({"ladders": [ladder("loud", severities=["critical"])]}, "covers no_gas_24h alerts of severity info"),
        ({"ladders": [ladder("gas", alert_types=["no_gas_24h"])]}, "no ladder for sites=['*'] covers no_water_24h"),
        ({"ladders": [ladder("donghu", sites=["donghu"])]}, "no ladder for sites=['*'] covers"),
        ({"ladders": [ladder("all", steps=[{"action": "notify_family"}])]}, "never to the elder or the family"),
        ({"ladders": [ladder("all", steps=[{"action": "call_police"}])]}, "ladders.0.steps.0.action"),
        ({"ladders": [ladder("all", steps=[{"action": "page_duty", "wait": "-PT5M"}])]}, "wait must not be negative"),
        ({"ladders": [ladder("all", reminders={"factor": 0.5})]}, "ladders.0.reminders.factor"),
        ({"ladders": [ladder("all"), ladder("all")]}, "two ladders share a name"),
    ],
)
def test_policy_errors_name_the_ladder_and_the_problem(document, message):
    with pytest.raises(PolicyError) as caught:
        EscalationPolicy.from_document(document)
    assert message in str(caught.value)


def test_a_site_specific_ladder_wins_over_the_catch_all():
    policy = EscalationPolicy.from_document(
        {"ladders": [ladder("everywhere"), ladder("donghu-only", sites=["donghu"], steps=[{"action": "escalate_supervisor"}])]}
    )
    assert policy.ladder_for("donghu", AlertType.NO_GAS_24H, Severity.CRITICAL).name == "donghu-only"
    assert policy.ladder_for("xiyuan", AlertType.NO_GAS_24H, Severity.CRITICAL).name == "everywhere"
