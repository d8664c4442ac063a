"""Runs: orchestration of an indicator computation, its ledger and atomic publication."""
