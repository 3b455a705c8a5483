"""Frames in and out: image sequences and movies (OpenImageIO, OpenCV), where outputs may go, contact sheets."""
