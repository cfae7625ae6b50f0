"""`edgecraft validate`: check files and folders against the schemas they are meant to follow."""

from __future__ import annotations

from pathlib import Path

from edgecraft.data.validate import Report, data_files, validate_file


def validate_paths(paths: list[Path], timeframe: str | None = None) -> list[Report]:
    """Validate every data file at or under `paths`; a path that does not exist is a problem."""
    return [validate_file(path, timeframe=timeframe) for path in data_files(paths)]
