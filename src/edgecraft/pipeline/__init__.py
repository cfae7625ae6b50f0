"""Flows that wire the layers together: feature builds now; training and evaluation later."""
