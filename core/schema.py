"""The OpenAPI schema made true for a client generated from it (openapi-python-client in CI,
``scripts/generated_client_check.py``): what drf-spectacular leaves out or gets wrong, fixed in one place.

- The error responses every operation can give. drf-spectacular documents only the success response of each
  operation. The API's errors all come from one exception handler (core/errors.py) in DRF's format, so which of them
  an operation can answer depends only on how it is called; the hook adds them to every operation, with the two body
  shapes DRF uses.
- Response components list every field as required: a serializer always writes each of its fields (a null one as
  null), and a generated client types an optional field as "maybe missing", which it never is.
- The CSV variant of a ``?format=csv`` operation is text, not JSON rows.
- Decimals: their bounds (a price is at least 0.01, a total never negative), and in request bodies the number or
  string the API accepts (a field extension, registered when the app is ready: core/apps.py).
"""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.extensions import OpenApiSerializerFieldExtension

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


class DecimalFieldExtension(OpenApiSerializerFieldExtension):
    """A decimal as drf-spectacular writes it (a string with a pattern), plus what it leaves out:

    - its bounds: with ``min_value`` 0 or more the pattern has no minus sign, and a minimum of one step
      (``0.01`` with two places) also refuses zero, so "no negative prices, at least 0.01" is in the schema;
    - in a request body, the JSON number the API also accepts (``19.99`` or ``"19.99"``), with its minimum and
      maximum.
    """

    target_class = "rest_framework.serializers.DecimalField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        schema = auto_schema._map_serializer_field(field, direction, bypass_extensions=True)
        if schema.get("type") != "string" or "pattern" not in schema:
            return schema
        step = Decimal(1).scaleb(-field.decimal_places)
        if field.min_value is not None and field.min_value >= 0:
            schema["pattern"] = schema["pattern"].replace("^-?", "^", 1)
            if field.min_value == step:
                schema["pattern"] = r"^(?!0*(?:\.0*)?$)" + schema["pattern"][1:]
        if direction != "request":
            return schema
        limit = Decimal(10) ** field.max_whole_digits - step
        number = {
            "type": "number",
            "minimum": float(field.min_value if field.min_value is not None else -limit),
            "maximum": float(field.max_value if field.max_value is not None else limit),
        }
        string = {key: value for key, value in schema.items() if key not in ("description", "readOnly")}
        accepted: dict = {"oneOf": [number, string]}
        if "description" in schema:
            accepted["description"] = schema["description"]
        return accepted


def _require_every_response_field(schemas: dict) -> None:
    """Response components (those without COMPONENT_SPLIT_REQUEST's ``Request`` suffix): every property required."""
    for name, component in schemas.items():
        if name.endswith("Request") or component.get("type") != "object" or "properties" not in component:
            continue
        component["required"] = sorted(component["properties"])


def _offers_csv(operation: dict) -> bool:
    return any(
        parameter.get("name") == "format" and "csv" in parameter.get("schema", {}).get("enum", [])
        for parameter in operation.get("parameters", [])
    )


def _document_csv(operation: dict) -> None:
    """An operation with ``?format=csv`` (the report) answers 200 with CSV text: drf-spectacular gives every media
    type of the view's renderers the JSON rows' schema, which a generated client then tries to parse as JSON."""
    success = operation.get("responses", {}).get("200")
    if success is not None:
        success.setdefault("content", {})["text/csv"] = {
            "schema": {"type": "string", "description": "The same rows as CSV, with a header line (`?format=csv`)."}
        }


def add_error_responses(result: dict, generator, request, public) -> dict:
    """drf-spectacular POSTPROCESSING_HOOK: document the error responses on every operation (keeps any the view
    declared itself, e.g. 429 on throttled endpoints), the CSV variant of ``?format=csv`` operations, and every
    field of a response component as required."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(ERROR_COMPONENT, ERROR_SCHEMA)
    schemas.setdefault(VALIDATION_ERROR_COMPONENT, VALIDATION_ERROR_SCHEMA)
    _require_every_response_field(schemas)
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            if _offers_csv(operation):
                _document_csv(operation)
            if operation.get("security") == [{}]:
                # No credential is read at all (the token exchange): no security requirement, so a generated client
                # takes a plain client rather than one that must carry a token.
                del operation["security"]
            errors = ANY_OPERATION + (WRITE_OPERATION if method in WRITE_METHODS else [])
            responses = operation.setdefault("responses", {})
            for code, description, component in errors:
                responses.setdefault(
                    code,
                    {"description": description, "content": {"application/json": {"schema": _reference(component)}}},
                )
    return result
