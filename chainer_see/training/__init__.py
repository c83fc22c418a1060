"""Loss, metrics and Trainer extensions."""
