"""Models behind one sklearn-shaped contract, in the MODELS registry (see `registry`)."""
