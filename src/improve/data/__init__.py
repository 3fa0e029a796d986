"""Ingestion of ticket, survey and progress files, and the KPI engine."""
