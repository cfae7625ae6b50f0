"""Labels: forward returns and triple-barrier outcomes, each with `t1`, when it becomes known."""
