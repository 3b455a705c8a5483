"""OpenFX plugin shim and its render server (filled in by the OFX bridge issue)."""
