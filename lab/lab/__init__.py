"""The lab: trains task LoRAs and Learnable Calibrations (LC / LC++) and exports them in the
engine's formats (docs/formats.md)."""

__version__ = "0.1.0"
