"""Running a local ``dolt sql-server`` for the server engine: launch, probe, supervise."""
