"""Datasets, ground-truth formats and synthetic data."""
