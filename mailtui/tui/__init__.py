"""The Textual explorer: pick a provider, watch the scan, read the evidence.

Only this package imports Textual. It calls the core (targets, probe, lab,
findings) and shows what comes back; it decides nothing about mail security
itself. `run_app()` in `mailtui.tui.app` is the entry point the CLI uses.
"""
