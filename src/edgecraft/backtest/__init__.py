"""The backtester: bar-by-bar fills of order intents, intrabar stops and targets, costs, funding."""
