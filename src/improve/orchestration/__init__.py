"""Prefect tasks and flows: thin wiring around the stages; the only package that imports
prefect (pipeline.py, the plain steps the tasks wrap, does not)."""
