"""OpenAPI schema post-processing: the error responses every operation can give, documented in one place.

drf-spectacular documents only the success response of each operation. The API's errors all come from one
exception handler (core/errors.py) in DRF's format, so which of them an operation can answer depends only
on how it is called; this hook adds them to every operation, with the two body shapes DRF uses.
"""

from __future__ import annotations

import re
from decimal import Decimal

ERROR_COMPONENT = "Error"
VALIDATION_ERROR_COMPONENT = "ValidationError"

ERROR_SCHEMA = {
    "type": "object",
    "description": "What went wrong, in words.",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": (
        "Bad input: each offending field (or `non_field_errors`) with its messages, or `detail` for a request "
        "that could not be read at all (malformed JSON, body too large)."
    ),
    "additionalProperties": {},
    "example": {"quantity": ["Ensure this value is greater than or equal to 1."]},
}

# (status, description, component); every operation may answer these.
ANY_OPERATION = [
    ("400", "Bad input: malformed JSON, a wrong type, an out-of-range or unknown value.", VALIDATION_ERROR_COMPONENT),
    ("401", "No credentials, or an unknown token.", ERROR_COMPONENT),
    ("403", "Authenticated, but not allowed (someone else's cart, a staff-only resource, CSRF).", ERROR_COMPONENT),
    ("404", "Not found (or not yours).", ERROR_COMPONENT),
]
# Operations that write may also conflict with the current state, or carry a body that is too large.
WRITE_OPERATION = [
    ("409", "Conflicts with the current state (e.g. the cart is already checked out).", ERROR_COMPONENT),
    ("413", "The request body is larger than DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE.", ERROR_COMPONENT),
]
WRITE_METHODS = {"post", "put", "patch", "delete"}
HTTP_METHODS = WRITE_METHODS | {"get", "head", "options", "trace"}


def _reference(component: str) -> dict:
    return {"$ref": f"#/components/schemas/{component}"}


def _decimal_input(schema: dict) -> dict:
    """A decimal in a request body: the API takes a JSON number or a decimal string (``19.99`` or ``"19.99"``)."""
    whole_digits = re.search(r"\\d\{0,(\d+)\}", schema.get("pattern", ""))
    number: dict = {"type": "number"}
    if whole_digits:
        limit = Decimal(10) ** int(whole_digits.group(1)) - Decimal("0.01")
        number.update(minimum=float(-limit), maximum=float(limit))
    branches = [number, {key: value for key, value in schema.items() if key not in ("description", "readOnly")}]
    accepted = {"oneOf": branches}
    if "description" in schema:
        accepted["description"] = schema["description"]
    return accepted


def _accept_numbers_for_decimals(schemas: dict) -> None:
    """Request components (``…Request``, from COMPONENT_SPLIT_REQUEST) document decimals as number or string."""
    for name, component in schemas.items():
        if not name.endswith("Request"):
            continue
        for field_name, field_schema in component.get("properties", {}).items():
            if field_schema.get("type") == "string" and field_schema.get("format") == "decimal":
                component["properties"][field_name] = _decimal_input(field_schema)


def _offers_csv(operation: dict) -> bool:
    return any(
        parameter.get("name") == "format" and "csv" in parameter.get("schema", {}).get("enum", [])
        for parameter in operation.get("parameters", [])
    )


def _document_csv(operation: dict) -> None:
    """An operation with ``?format=csv`` (the report) answers 200 with CSV text too."""
    success = operation.get("responses", {}).get("200")
    if success is not None:
        success.setdefault("content", {}).setdefault(
            "text/csv", {"schema": {"type": "string", "description": "The same rows as CSV, with a header line."}}
        )


def add_error_responses(result: dict, generator, request, public) -> dict:
    """drf-spectacular POSTPROCESSING_HOOK: document the error responses on every operation (keeps any the view
    declared itself, e.g. 429 on throttled endpoints), the CSV variant of ``?format=csv`` operations, and decimals in
    request bodies as the number-or-string the API accepts."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(ERROR_COMPONENT, ERROR_SCHEMA)
    schemas.setdefault(VALIDATION_ERROR_COMPONENT, VALIDATION_ERROR_SCHEMA)
    _accept_numbers_for_decimals(schemas)
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            if _offers_csv(operation):
                _document_csv(operation)
            errors = ANY_OPERATION + (WRITE_OPERATION if method in WRITE_METHODS else [])
            responses = operation.setdefault("responses", {})
            for code, description, component in errors:
                responses.setdefault(
                    code,
                    {"description": description, "content": {"application/json": {"schema": _reference(component)}}},
                )
    return result
