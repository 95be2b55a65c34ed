"""Training: stages on accelerate, feature caches, checkpoints."""
