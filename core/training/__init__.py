"""Fitting a shot model: the trainer, its frames, the degradations it trains on, data-parallel runs, and the priors
it starts from (with the procedural footage the shipped one is trained on)."""
