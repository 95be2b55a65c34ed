"""Training data: the conversation format training reads, and the nano data generator."""
