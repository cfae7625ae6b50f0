"""Operations: MLflow registry, drift monitor, retrain and cycle flows, paper A/B, feature store."""
