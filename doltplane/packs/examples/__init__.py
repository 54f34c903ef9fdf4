"""The example packs shipped with doltplane (registered through the doltplane.packs entry points)."""
