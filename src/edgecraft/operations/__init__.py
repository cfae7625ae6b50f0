"""Operations: MLflow tracking and registry, drift monitor, retrain and cycle flows, paper A/B,
and the Feast feature store."""
