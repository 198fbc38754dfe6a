"""Classic models of collective action and rebellion, rebuilt on the allegiance engine."""
