"""The risk manager: whether to trade a signal, how much, with what execution, within limits."""
