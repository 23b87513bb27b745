"""A seeded simulation of meter gateways for elders living alone, talking to carewatch only over MQTT.

    from gateway_sim import SimConfig, Simulation
    sim = Simulation(SimConfig(households=50, days=3.0, seed=1))
    sim.registry_document()         # households, gateways and meters, for carewatch's registry
    sim.incidents                   # ground truth: who falls inactive, leaves the gas on, ...
    for message in sim.messages():  # every MQTT message, in publish order, no network
        ...
    stats = await publish_simulation(sim, "localhost", 1883)
"""

from gateway_sim.config import SimConfig
from gateway_sim.incidents import Incident, IncidentKind
from gateway_sim.publisher import BrokerUnavailable, PublishFailed, PublishStats, StepPublished, publish_simulation
from gateway_sim.simulation import SimMessage, Simulation

__all__ = [
    "BrokerUnavailable",
    "Incident",
    "IncidentKind",
    "PublishFailed",
    "PublishStats",
    "SimConfig",
    "SimMessage",
    "Simulation",
    "StepPublished",
    "publish_simulation",
]
