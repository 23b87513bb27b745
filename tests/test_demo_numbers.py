"""Issue 15: every demo household has numbers on its card: the elder's line, family, the community's duty line."""

from __future__ import annotations

from alerts.contacts import import_people
from alerts.people import PeopleFile
from alerts.sample_people import sample_people
from api.call_sheet import call_sheets
from api.directory_import import import_document
from carewatch.cli.demo import DEMO_START
from carewatch.cli.demo.numbers import with_numbers
from gateway_sim import SimConfig, Simulation


async def test_every_demo_household_has_the_elders_a_familys_and_the_communitys_number(sessions):
    simulation = Simulation(SimConfig(households=12, days=1, seed=5, start=DEMO_START))
    district = with_numbers(simulation.registry_document(), seed=5)
    async with sessions.begin() as session:  # as `carewatch demo` does: the district, then the people file at start
        await import_document(session, district)
        await import_people(session, PeopleFile.from_document(sample_people(district["households"], "http://127.0.0.1:9", seed=5)))

    async with sessions() as session:
        sheets = await call_sheets(session, [h["household_id"] for h in district["households"]])
    assert len(sheets) == 12
    for household in district["households"]:
        roles = [callee.role for callee in sheets[household["household_id"]]]
        assert roles[0] == "elder" and "family" in roles and roles[-1] == "community", (household["household_id"], roles)
        assert sheets[household["household_id"]][0].number == household["phone"]  # the card's number is the one the SMS goes to
