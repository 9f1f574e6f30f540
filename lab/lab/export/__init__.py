"""Writers (and readers, for round trips) of the engine's formats: docs/formats.md sections 2-4."""

from lab.export.adapter import (
    apply_gguf_adapters,
    read_adapter_gguf,
    write_adapter_dir,
    write_adapter_gguf,
)
from lab.export.calibration import calibration_filename, read_calibration_gguf, write_calibration_gguf

__all__ = [
    "apply_gguf_adapters",
    "calibration_filename",
    "read_adapter_gguf",
    "read_calibration_gguf",
    "write_adapter_dir",
    "write_adapter_gguf",
    "write_calibration_gguf",
]
