"""Feature families, each defined once as a compiled state machine that runs in batch and live."""
