"""The `improve` command."""
