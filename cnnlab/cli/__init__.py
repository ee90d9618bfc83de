"""The ``cnnlab`` command: ``train``, ``evaluate``, ``predict``, ``summary``, ``inspect``, ``datasets``, ``compare``.

The entry point is :func:`cnnlab.cli.main.main` (not imported here, so that
``python -m cnnlab.cli.main`` runs it cleanly).
"""
