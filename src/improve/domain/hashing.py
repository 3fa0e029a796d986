"""Canonical JSON and content hashes of models: equal content, equal hash."""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel


def canonical_json(model: BaseModel) -> str:
    """The model as JSON with sorted keys and no insignificant white space."""
    return json.dumps(
        model.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )


def content_hash(model: BaseModel) -> str:
    """SHA-256 (hex) of the model's canonical JSON."""
    return hashlib.sha256(canonical_json(model).encode("utf-8")).hexdigest()
