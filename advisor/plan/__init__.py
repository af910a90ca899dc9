"""Serving and capacity planning: devices, parallelism, concurrency, cost (`advisor plan`)."""
