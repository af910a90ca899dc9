"""Money and energy per million output tokens.

cost = devices x price per device-hour / (output tokens per hour) x 1e6
energy = devices x board power x hours per million tokens (kWh), with the board at its rated
power while serving at steady state (an upper bound for a saturated server; idle time is
not counted).
"""

from __future__ import annotations

SECONDS_PER_HOUR = 3600.0
MILLION = 1e6


def cost_per_million_tokens(devices: int, usd_per_device_hour: float, output_tokens_per_s: float) -> float | None:
    """USD per million output tokens; None when nothing is produced or no price is known."""
    if output_tokens_per_s <= 0 or usd_per_device_hour is None:
        return None
    tokens_per_hour = output_tokens_per_s * SECONDS_PER_HOUR
    return devices * usd_per_device_hour / tokens_per_hour * MILLION


def energy_per_million_tokens_kwh(devices: int, board_power_w: float | None, output_tokens_per_s: float) -> float | None:
    """kWh per million output tokens at rated board power; None without a power figure."""
    if output_tokens_per_s <= 0 or board_power_w is None:
        return None
    hours = MILLION / output_tokens_per_s / SECONDS_PER_HOUR
    return devices * board_power_w * hours / 1000.0
