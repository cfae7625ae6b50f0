"""The `edgecraft` command: every command group registered on one typer app."""

from edgecraft.cli import data, operations, research, serve  # noqa: F401  (they register)
from edgecraft.cli.app import app

__all__ = ["app"]

if __name__ == "__main__":
    app()
