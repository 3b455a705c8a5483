"""vsae: a per-shot video autoencoder as one representation for retime, upres, clean plate and mask work.

Layers, lowest first (a lower layer never imports a higher one):
``vsae.errors`` -> ``vsae.core`` (model, trainer, cache, I/O, inference) -> ``vsae.plugin`` (node definitions,
host adapters) and ``vsae.ofx_bridge`` -> ``vsae.cli`` (console front end).
"""

__version__ = "0.1.0"
