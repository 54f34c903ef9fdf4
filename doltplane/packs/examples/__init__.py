"""The example packs shipped with doltplane (registered by the doltplane.packs entry points)."""
