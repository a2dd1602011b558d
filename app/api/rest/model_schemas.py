"""JSON Schemas for the OpenAPI document, made from botocore's SageMaker model, the API's one source of truth.

The REST routes take and give SageMaker's shapes, so their documented schemas are those shapes, converted
once: structures with their required members, strings with their patterns and lengths, numbers with their
ranges, enums, lists and maps with their sizes. Two REST renderings differ from the AWS wire: timestamps
are ISO 8601 strings (`format: date-time`), and blobs are not used by any route. Named shapes become
components (`#/components/schemas/<Shape>`), so recursive and shared shapes are written once.
"""

from __future__ import annotations

from typing import Any

from app.wire.model import service_model

REF_PREFIX = "#/components/schemas/"


class ModelSchemas:
    """Collects the components a document needs while routes ask for shapes by name."""

    def __init__(self) -> None:
        self.components: dict[str, dict[str, Any]] = {}

    def ref(self, shape_name: str) -> dict[str, Any]:
        """A `$ref` to the shape, adding it (and every shape it uses) to the components."""
        self._add(service_model().shape_for(shape_name))
        return {"$ref": REF_PREFIX + shape_name}

    def member(self, shape_name: str, member: str) -> dict[str, Any]:
        """The schema of one member of a structure (a query or path parameter's)."""
        return self._schema(service_model().shape_for(shape_name).members[member])

    def _add(self, shape: Any) -> None:
        if shape.name in self.components:
            return
        self.components[shape.name] = {}  # placeholder first: recursive shapes refer to themselves
        self.components[shape.name] = self._body(shape)

    def _schema(self, shape: Any) -> dict[str, Any]:
        if shape.type_name in ("structure", "list", "map"):
            self._add(shape)
            return {"$ref": REF_PREFIX + shape.name}
        return self._body(shape)

    def _body(self, shape: Any) -> dict[str, Any]:
        kind = shape.type_name
        meta = shape.metadata
        schema: dict[str, Any]
        if kind == "structure":
            schema = {
                "type": "object",
                "properties": {name: self._schema(member) for name, member in shape.members.items()},
                "additionalProperties": False,
            }
            required = list(getattr(shape, "required_members", []))
            if required:
                schema["required"] = required
        elif kind == "list":
            schema = {"type": "array", "items": self._schema(shape.member)}
            _bounds(schema, meta, "minItems", "maxItems")
        elif kind == "map":
            schema = {"type": "object", "additionalProperties": self._schema(shape.value)}
            _bounds(schema, meta, "minProperties", "maxProperties")
        elif kind == "string":
            schema = {"type": "string"}
            if shape.enum:
                schema["enum"] = list(shape.enum)
            else:
                _bounds(schema, meta, "minLength", "maxLength")
                if "pattern" in meta:
                    schema["pattern"] = _anchored(meta["pattern"])
        elif kind in ("integer", "long"):
            schema = {"type": "integer"}
            _bounds(schema, meta, "minimum", "maximum")
        elif kind in ("float", "double"):
            schema = {"type": "number"}
            _bounds(schema, meta, "minimum", "maximum")
        elif kind == "boolean":
            schema = {"type": "boolean"}
        elif kind == "timestamp":
            schema = {"type": "string", "format": "date-time"}
        else:  # blob: base64 text
            schema = {"type": "string", "format": "byte"}
        if shape.documentation:
            schema["description"] = _plain(shape.documentation)
        return schema


def _bounds(schema: dict[str, Any], meta: dict[str, Any], low: str, high: str) -> None:
    if "min" in meta:
        schema[low] = meta["min"]
    if "max" in meta:
        schema[high] = meta["max"]


def _anchored(pattern: str) -> str:
    """JSON Schema patterns search; botocore's constrain the whole value (as the validator applies them).
    Java's Unicode classes are written as the ranges every regex dialect reads (a subset: what the
    document promises is accepted is accepted)."""
    for java, portable in _UNICODE_CLASSES.items():
        pattern = pattern.replace(java, portable)
    return f"^(?:{pattern})$"


_LATIN_LETTERS = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff"
_UNICODE_CLASSES = {"\\p{L}": _LATIN_LETTERS, "\\p{Z}": " ", "\\p{N}": "0-9", "\\p{Alnum}": "A-Za-z0-9"}


def _plain(html: str) -> str:
    """botocore's documentation is HTML; the document keeps its first sentence, as text."""
    text = " ".join(html.replace("<p>", " ").replace("</p>", " ").split())
    for tag in ("<code>", "</code>", "<b>", "</b>", "<i>", "</i>", "<note>", "</note>"):
        text = text.replace(tag, "")
    first = text.split(". ")[0]
    return first if len(first) <= 300 else first[:297] + "..."
