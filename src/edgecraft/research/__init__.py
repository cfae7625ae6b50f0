"""Research: walk-forward runs, executors, ensembles, ablation, search, reports and run folders."""
