"""advisor: which model, precision and inference framework to deploy on a device."""

__version__ = "0.1.0"
