"""The one decision path: closed bars -> features -> model -> signals -> risk -> order intents."""
