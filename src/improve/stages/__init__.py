"""The six stages as pure functions: inputs and settings in, one artifact out."""
