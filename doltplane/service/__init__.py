"""The long-running service (``doltplane serve``): jobs on intervals, metrics, alerts.

Small modules: ``lock`` (one service per data directory), ``state`` (state.json),
``clock``, ``jobs`` (the job registry), ``sampling`` (store sampling and probe reads),
``metrics`` (the Prometheus registry), ``runner`` (the loop and signals), ``status``
(what ``doltplane status`` shows of it).
"""
