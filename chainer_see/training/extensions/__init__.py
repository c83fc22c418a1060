"""Trainer extensions: curriculum switching, localization-only restarts, box plots."""
