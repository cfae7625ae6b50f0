"""The `edgecraft` command line."""
