"""Clients of keyed on-chain, social and news APIs, and an order-book recorder (CCXT)."""
