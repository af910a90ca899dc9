"""Measurements on the machine at hand: calibrate (micro-benchmarks), bench (one model,
real latency) and validate (bench vs predict over a matrix).

Importing this package does not import torch; the modules that measure do.
"""
