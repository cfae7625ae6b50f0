"""Drift monitoring: PSI per feature, KL of signals, mean-shift detection, IC decay."""
