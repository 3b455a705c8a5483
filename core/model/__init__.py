"""The shot autoencoder and the ways to run it: network, ShotModel, padding, inference, ONNX export."""
