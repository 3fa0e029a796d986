"""Pydantic models of the programme definition and the six stage artifacts; no I/O."""
