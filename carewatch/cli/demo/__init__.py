"""`carewatch demo`: simulated households → MQTT → one of the two engines → alerts (→ console).

Everything only the demo needs lives here: the embedded MQTT broker (amqtt), the local Kafka
broker (tansu), the console's demo account, and the summary scored against the simulator's truth.
"""

from __future__ import annotations

from rich.console import Console

from carewatch.cli.demo.parts import DEMO_SETTINGS, DEMO_START, DemoOptions
from carewatch.settings import Settings

__all__ = ["DEMO_SETTINGS", "DEMO_START", "DemoOptions", "run_demo"]


async def run_demo(settings: Settings, options: DemoOptions, console: Console) -> dict[str, object]:
    """Run the demo on the chosen engine; headless returns the summary document, otherwise serves until cancelled."""
    if options.engine == "faust":
        from carewatch.cli.demo.faust import run_faust_demo

        return await run_faust_demo(settings, options, console)
    from carewatch.cli.demo.embedded import run_embedded_demo

    return await run_embedded_demo(settings, options, console)
