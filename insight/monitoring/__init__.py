"""Monitoring a model after training: feature drift against a reference, performance estimated without labels, and the record of every scored batch."""
