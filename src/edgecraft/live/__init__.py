"""The live service: one run's Engine fed by posted bars and pollers, its state in Redis."""
