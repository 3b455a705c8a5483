"""The core layer: shot I/O, colour, the autoencoder, its trainer, the model cache, ONNX export and inference.

Knows no host, no Qt and no OFX. Heavy modules (torch, onnxruntime) are imported by the modules that need them,
so ``import vsae.core`` stays cheap.
"""
