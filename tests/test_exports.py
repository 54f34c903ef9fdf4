import doltplane


def test_public_names_are_exactly_the_facade() -> None:
    assert sorted(doltplane.__all__) == sorted(
        [
            "Commit",
            "DataPlane",
            "DoltplaneError",
            "InvalidInput",
            "InvalidRevision",
            "MergeConflict",
            "MergeResult",
            "MergeStatus",
            "NotFound",
            "Settings",
            "VersionConflict",
            "connect",
        ]
    )
    for name in doltplane.__all__:
        assert getattr(doltplane, name) is not None


def test_library_never_imports_click() -> None:
    import subprocess
    import sys

    code = (
        "import sys, doltplane, doltplane.planes.operational, doltplane.store.doltlite,"
        " doltplane.planes.ledger, doltplane.planes.jsonl, doltplane.federation, doltplane.admin;"
        "print('click' in sys.modules or 'rich' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"  # nor rich: the library never prints
