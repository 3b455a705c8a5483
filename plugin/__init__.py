"""Host-agnostic node definitions and host adapters (filled in by the node issues)."""
