"""Drift monitoring: PSI per feature, KL of the signal distribution, mean-shift detection, IC decay."""
