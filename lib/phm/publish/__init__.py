"""Publish: the results, metadata and run-ledger Delta tables, and Atlas-ready exports."""
