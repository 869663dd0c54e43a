"""Metrics not on a 0-1 scale (a light module: suite validation reads it without importing reports)."""

#: shown in their own units, never x100: the gold answer's log-likelihood (nats)
NATIVE_UNITS = frozenset({"gold_logprob"})
