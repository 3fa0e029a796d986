"""The ImproveError family: every error a user can act on.

    ImproveError
    ├── ConfigError          a programme, playbook or rules file is invalid
    ├── InputDataError       an input file cannot be read or fails validation
    ├── StorageError         the database is unreachable or inconsistent
    │   └── NotFoundError    a programme, cycle or artifact does not exist
    ├── ApprovalError        an approval is refused (unknown approver, wrong state)
    ├── StageError           a stage cannot run on the inputs it was given
    └── ReportError          a workbook or page cannot be written

Every message names the object, the cause and the next step.
"""

from __future__ import annotations


class ImproveError(Exception):
    """Base of the errors a user can act on; the CLI prints them as one line."""


class ConfigError(ImproveError):
    """A programme definition, playbook or rules file is invalid."""


class InputDataError(ImproveError):
    """An input file cannot be read or fails validation."""


class StorageError(ImproveError):
    """The database is unreachable or inconsistent."""


class NotFoundError(StorageError):
    """A programme, cycle or artifact does not exist."""


class ApprovalError(ImproveError):
    """An approval is refused."""


class ConflictError(ApprovalError):
    """Someone else changed the same version at the same time (optimistic locking)."""


class StageError(ImproveError):
    """A stage cannot run on the inputs it was given."""


class ReportError(ImproveError):
    """A workbook or page cannot be written."""
