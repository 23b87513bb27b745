"""Who is told: each household's elder and family, each site's duty rota, supervisors and visitors.

Given as a JSON or TOML file (format in docs/notifications.md), validated once on
load; errors name the household, site or person and the field.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from alerts.documents import describe_errors, read_document
from carewatch.catalogue import Language, text
from carewatch.domain import IDENTIFIER, AlertType, Audience
from carewatch.registry import ZoneName

Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER.pattern)]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ROTA_SLOT = timedelta(minutes=15)


class ChannelKind(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    VOICE = "voice"
    WECOM = "wecom"  # group robots: the address is the robot's webhook URL
    DINGTALK = "dingtalk"
    FEISHU = "feishu"
    WEBHOOK = "webhook"  # an integrator's endpoint, signed with HMAC-SHA256
    APPRISE = "apprise"  # any other service apprise speaks; the address is an apprise URL


class CareRole(StrEnum):
    ELDER = "elder"
    FAMILY = "family"
    DUTY = "duty"
    SUPERVISOR = "supervisor"
    VISITOR = "visitor"  # who goes to the door: grid worker (网格员), volunteer
    GROUP = "group"  # a site's group chat robot


class PeopleError(ValueError):
    """The people file cannot be used; the message names the problem."""


# ---- the file format ------------------------------------------------------------------


class ChannelEntry(BaseModel):
    """One way to reach someone: ``{"kind": "sms", "address": "+8613700000001"}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: ChannelKind
    address: str = Field(min_length=3, max_length=500)

    @model_validator(mode="after")
    def _plausible(self) -> ChannelEntry:
        if self.kind is ChannelKind.EMAIL and "@" not in self.address:
            raise ValueError(f"email address {self.address!r} has no @")
        if self.kind in (ChannelKind.SMS, ChannelKind.VOICE) and not self.address.lstrip("+").isdigit():
            raise ValueError(f"phone number {self.address!r} must be digits with an optional leading +")
        web = (ChannelKind.WECOM, ChannelKind.DINGTALK, ChannelKind.FEISHU, ChannelKind.WEBHOOK)
        if self.kind in web and not self.address.startswith(("https://", "http://")):
            raise ValueError(f"{self.kind.value} address must be the webhook URL (https://...), got {self.address!r}")
        return self


class QuietHoursEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    start: time
    end: time

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHoursEntry:
        if self.start == self.end:
            raise ValueError("quiet hours start and end at the same time; leave quiet_hours out instead")
        return self


class _Elder(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = ""
    language: Language = "zh-CN"
    channels: list[ChannelEntry] = []


class ContactEntry(BaseModel):
    """A family member as the people file lists them."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: Identifier
    name: str = Field(min_length=1, max_length=128)
    relation: str = Field(default="", max_length=64)
    language: Language = "zh-CN"
    channels: list[ChannelEntry] = Field(min_length=1)
    quiet_hours: QuietHoursEntry | None = None
    alert_types: list[AlertType] | None = None
    """None: every alert about the elder (never device faults, which go to staff only)."""

    @field_validator("alert_types")
    @classmethod
    def _care_only(cls, value: list[AlertType] | None) -> list[AlertType] | None:
        for alert_type in value or ():
            if alert_type.audience is not Audience.CARE:
                raise ValueError(f"{alert_type.value} is a device fault for staff; families are not sent it")
        return value


ELDER_CONTACT_ID = "elder"
"""The id of the elder's own line among a household's contacts in the directory."""


class HouseholdContact(ContactEntry):
    """A contact as the directory keeps it (integrator API, bulk import): family, or the elder's own line.

    The elder is called at the ``check_elder`` step of every care alert; family members at
    ``notify_family``, for the alert types they chose.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
    role: Literal["family", "elder"] = "family"

    @model_validator(mode="after")
    def _one_elder_line(self) -> HouseholdContact:
        if (self.role == "elder") != (self.id == ELDER_CONTACT_ID):
            raise ValueError(f"the elder's own line, and only it, has the id {ELDER_CONTACT_ID!r} (one per household)")
        if self.role == "elder" and (self.alert_types is not None or self.quiet_hours is not None):
            raise ValueError("the elder is asked at every care alert: alert_types and quiet_hours are for family contacts")
        return self


class _Household(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    household_id: Identifier
    site: Identifier
    name: str = ""
    address: str = ""
    timezone: ZoneName = "Asia/Shanghai"
    elder: _Elder = _Elder()
    contacts: list[ContactEntry] = []


class _Staff(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: Identifier
    name: str = Field(min_length=1, max_length=128)
    role: Literal["duty", "supervisor", "visitor"]
    language: Language = "zh-CN"
    channels: list[ChannelEntry] = Field(min_length=1)


class _Shift(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    staff: Identifier
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = list(DAYS)  # type: ignore[assignment]
    start: time
    end: time
    """A shift may cross midnight (start 20:00, end 08:00); it then belongs to the day it starts."""


class _Site(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    site: Identifier
    name: str = ""
    timezone: ZoneName = "Asia/Shanghai"
    staff: list[_Staff] = Field(min_length=1)
    rota: list[_Shift] = Field(min_length=1)
    group_robots: list[ChannelEntry] = []

    @model_validator(mode="after")
    def _rota_is_staffed(self) -> _Site:
        by_id = {member.id: member for member in self.staff}
        if len(by_id) != len(self.staff):
            raise ValueError(f"site {self.site}: a staff id is listed twice")
        for shift in self.rota:
            member = by_id.get(shift.staff)
            if member is None:
                raise ValueError(f"site {self.site}: the rota names unknown staff {shift.staff!r}")
            if member.role != "duty":
                raise ValueError(f"site {self.site}: {shift.staff!r} is a {member.role}, not duty staff; only duty staff take shifts")
        if not any(member.role == "supervisor" for member in self.staff):
            raise ValueError(f"site {self.site}: no supervisor; the ladder needs someone to escalate to")
        gap = _first_uncovered(self.rota)
        if gap is not None:
            raise ValueError(f"site {self.site}: nobody is on duty on {gap}; every hour of the week needs a shift")
        return self


class _PeopleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Literal[1] = 1
    sites: list[_Site] = Field(min_length=1)
    households: list[_Household] = []

    @model_validator(mode="after")
    def _references(self) -> _PeopleFile:
        sites = {site.site for site in self.sites}
        if len(sites) != len(self.sites):
            raise ValueError("a site is listed twice")
        seen: set[str] = set()
        for household in self.households:
            if household.household_id in seen:
                raise ValueError(f"household {household.household_id!r} is listed twice")
            seen.add(household.household_id)
            if household.site not in sites:
                raise ValueError(f"household {household.household_id!r} belongs to unknown site {household.site!r}")
            ids = [contact.id for contact in household.contacts]
            if len(set(ids)) != len(ids):
                raise ValueError(f"household {household.household_id!r}: a contact id is listed twice")
            if ELDER_CONTACT_ID in ids:
                raise ValueError(
                    f"household {household.household_id!r}: the contact id {ELDER_CONTACT_ID!r} names the elder's own line"
                    " in the directory; give the family member another id (the elder goes under 'elder = {...}')"
                )
        return self


def _first_uncovered(rota: Iterable[_Shift]) -> str | None:
    shifts = [Shift(s.staff, frozenset(DAYS.index(d) for d in s.days), s.start, s.end) for s in rota]
    monday = datetime(2024, 1, 1)  # a Monday; the check is about weekdays and times only
    moment = monday
    while moment < monday + timedelta(days=7):
        if not any(shift.covers(moment) for shift in shifts):
            return f"{DAYS[moment.weekday()]} {moment:%H:%M}"
        moment += ROTA_SLOT
    return None


# ---- what the rest of the code uses -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Address:
    kind: ChannelKind
    address: str


@dataclass(frozen=True, slots=True)
class Person:
    """Anyone the ladder may contact."""

    id: str
    name: str
    role: CareRole
    language: Language
    channels: tuple[Address, ...]
    relation: str = ""
    quiet_hours: tuple[time, time] | None = None
    alert_types: frozenset[AlertType] | None = None

    def receives(self, alert_type: AlertType) -> bool:
        return self.alert_types is None or alert_type in self.alert_types

    @property
    def label(self) -> str:
        """The name and relation as the person reads them, in their own language: 王芳（女儿）, Wang Lei (son)."""
        return self.label_in(self.language)

    def label_in(self, lang: Language) -> str:
        return text("notice.part.name_relation", lang, name=self.name, relation=self.relation) if self.relation else self.name


@dataclass(frozen=True, slots=True)
class Shift:
    staff_id: str
    weekdays: frozenset[int]
    start: time
    end: time

    def covers(self, local: datetime) -> bool:
        at = local.time()
        if self.start < self.end:
            return local.weekday() in self.weekdays and self.start <= at < self.end
        # Crossing midnight: the evening part is on a rota day, the morning part on the day after one.
        if at >= self.start:
            return local.weekday() in self.weekdays
        return at < self.end and (local.weekday() - 1) % 7 in self.weekdays


@dataclass(frozen=True, slots=True)
class SiteTeam:
    site: str
    name: str
    timezone: ZoneInfo
    staff: tuple[Person, ...]
    rota: tuple[Shift, ...]
    group_robots: tuple[Address, ...]

    def on_duty(self, at: datetime) -> list[Person]:
        local = at.astimezone(self.timezone)
        ids = {shift.staff_id for shift in self.rota if shift.covers(local)}
        return [member for member in self.staff if member.id in ids]

    def with_role(self, role: CareRole) -> list[Person]:
        return [member for member in self.staff if member.role is role]


@dataclass(frozen=True, slots=True)
class HouseholdPeople:
    household_id: str
    site: str
    name: str
    address: str
    timezone: ZoneInfo
    elder: Person | None
    contacts: tuple[Person, ...]
    phone: str = ""
    """The household's own line from the directory ("" : none; the elder's channels may still have one)."""
    community_phone: str = ""
    """The site's duty line from the directory: messages name it so nobody has to look it up."""

    @property
    def elder_phone(self) -> str:
        return self.phone or (phone_number(self.elder) if self.elder else "")

    def first_family_phone(self, lang: Language) -> tuple[str, str]:
        """(label in ``lang``, number) of the first family contact with a phone; ("", "") if none has one."""
        return next(((p.label_in(lang), phone_number(p)) for p in self.contacts if phone_number(p)), ("", ""))


def phone_number(person: Person) -> str:
    """The person's first SMS or voice number ("" if they have none)."""
    return next((a.address for a in person.channels if a.kind in (ChannelKind.SMS, ChannelKind.VOICE)), "")


class PeopleFile:
    """Look-ups over the validated people file."""

    def __init__(self, sites: Iterable[SiteTeam], households: Iterable[HouseholdPeople]) -> None:
        self.sites = {site.site: site for site in sites}
        self.households = {household.household_id: household for household in households}

    @classmethod
    def from_document(cls, document: object) -> PeopleFile:
        try:
            parsed = _PeopleFile.model_validate(document)
        except ValidationError as exc:
            raise PeopleError(describe_errors("invalid people file", exc.errors())) from exc
        return cls([_site(s) for s in parsed.sites], [_household(h) for h in parsed.households])

    @classmethod
    def load(cls, path: Path) -> PeopleFile:
        return cls.from_document(read_document(path, "people file", "CAREWATCH_PEOPLE_PATH", PeopleError))


def _channels(channels: Iterable[ChannelEntry]) -> tuple[Address, ...]:
    return tuple(Address(c.kind, c.address) for c in channels)


def _site(site: _Site) -> SiteTeam:
    staff = tuple(Person(m.id, m.name, CareRole(m.role), m.language, _channels(m.channels)) for m in site.staff)
    rota = tuple(Shift(s.staff, frozenset(DAYS.index(d) for d in s.days), s.start, s.end) for s in site.rota)
    return SiteTeam(site.site, site.name or site.site, ZoneInfo(site.timezone), staff, rota, _channels(site.group_robots))


def person_of(contact: ContactEntry, role: CareRole = CareRole.FAMILY) -> Person:
    """A contact as the ladder addresses them."""
    return Person(
        contact.id, contact.name, role, contact.language, _channels(contact.channels), contact.relation,
        (contact.quiet_hours.start, contact.quiet_hours.end) if contact.quiet_hours else None,
        frozenset(contact.alert_types) if contact.alert_types is not None else None,
    )


def directory_contacts(household: HouseholdPeople) -> list[HouseholdContact]:
    """A people file household's elder and family, as the directory keeps them (the file is imported at start)."""
    people = ([household.elder] if household.elder else []) + list(household.contacts)
    return [
        HouseholdContact(
            id=ELDER_CONTACT_ID if p.role is CareRole.ELDER else p.id,
            role="elder" if p.role is CareRole.ELDER else "family",
            name=p.name or household.household_id, relation=p.relation, language=p.language,
            channels=[ChannelEntry(kind=a.kind, address=a.address) for a in p.channels],
            quiet_hours=QuietHoursEntry(start=p.quiet_hours[0], end=p.quiet_hours[1]) if p.quiet_hours else None,
            alert_types=sorted(p.alert_types) if p.alert_types is not None else None,
        )
        for p in people
    ]


def _household(h: _Household) -> HouseholdPeople:
    elder = None
    if h.elder.channels:
        elder = Person(f"{h.household_id}.elder", h.elder.name or h.name, CareRole.ELDER, h.elder.language, _channels(h.elder.channels))
    contacts = tuple(person_of(c) for c in h.contacts)
    return HouseholdPeople(h.household_id, h.site, h.name, h.address, ZoneInfo(h.timezone), elder, contacts)
