"""Serving: a thin FastAPI shell over the live service (bars in, signals out)."""
