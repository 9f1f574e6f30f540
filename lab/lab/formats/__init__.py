"""The engine's file formats (docs/formats.md), Python side."""
