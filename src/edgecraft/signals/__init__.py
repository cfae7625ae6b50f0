"""From model scores to Signal records: calibration, direction, confidence, target and stop."""
