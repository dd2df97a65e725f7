"""`make bench`: the platform's benchmark (not a test; see bench/run.py and the README)."""
