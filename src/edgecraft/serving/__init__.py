"""Serving: a thin FastAPI shell over the pipeline's live service (bars in, signals out)."""
