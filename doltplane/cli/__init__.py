"""The ``doltplane`` command line: thin click wrappers over library calls."""
