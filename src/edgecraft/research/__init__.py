"""Research: walk-forward runs, executors, ensembles, ablation, search and reports; the run
folder, RunConfig and plots that operations and live also read."""
