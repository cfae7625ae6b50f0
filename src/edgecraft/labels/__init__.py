"""Labels: forward returns and triple-barrier outcomes, each with `t1`, the time it becomes known."""
