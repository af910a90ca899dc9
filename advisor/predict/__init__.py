"""Roofline predictor: ops -> kernels -> time, memory and throughput on a platform."""
