"""The node registry: name -> node definition, imported on first use so that listing nodes stays cheap.

New nodes are added here once; the CLI, the OFX bridge and host adapters find them through ``all_nodes()``.
"""

from __future__ import annotations

from importlib import import_module

NODES = {
    "retime": "vsae.plugin.nodes.retime:RetimeNode",
    "upres": "vsae.plugin.nodes.upres:UpresNode",
    "clean_plate": "vsae.plugin.nodes.clean_plate:CleanPlateNode",
    "mask_propagate": "vsae.plugin.nodes.mask_propagate:MaskPropagateNode",
    "extend": "vsae.plugin.nodes.canvas:ExtendNode",
    "stretch": "vsae.plugin.nodes.canvas:StretchNode",
    "stitch": "vsae.plugin.nodes.canvas:StitchNode",
    "paint": "vsae.plugin.nodes.paint:PaintNode",
    "loop": "vsae.plugin.nodes.loop:LoopNode",
    "conform": "vsae.plugin.nodes.conform:ConformNode",
}


def load_node(name: str):
    """An instance of the node registered under ``name``."""
    module, _, cls = NODES[name].partition(":")
    return getattr(import_module(module), cls)()


def all_nodes() -> list:
    return [load_node(name) for name in NODES]
