"""The nodes' operations: one array-in, array-out function each (Clean Plate, Retime, Upres, Mask Propagate,
Extend/Stitch/Stretch) and the pixel codes Mask Propagate matches."""
