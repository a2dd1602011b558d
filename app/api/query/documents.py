"""The Query protocol's XML documents, shaped as botocore's query parser reads them; pure.

A result:
    <GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
      <GetRoleResult><Role>…</Role></GetRoleResult>
      <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata>
    </GetRoleResponse>
members in the output shape's order, lists as `<member>` items (flattened ones repeat the element), maps
as `<entry><key/><value/></entry>`, timestamps in ISO 8601, booleans as `true`/`false`.
An error:
    <ErrorResponse xmlns="…"><Error><Type>Sender</Type><Code>…</Code><Message>…</Message></Error>
      <RequestId>…</RequestId></ErrorResponse>
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from xml.etree import ElementTree as ET


def result(operation_model: Any, output: dict[str, Any], *, namespace: str, request_id: str) -> bytes:
    """`<{Operation}Response>` with the output's members inside the shape's result wrapper."""
    root = ET.Element(f"{operation_model.name}Response", xmlns=namespace)
    shape = operation_model.output_shape
    if shape is not None:
        wrapper_tag = shape.serialization.get("resultWrapper", f"{operation_model.name}Result")
        wrapper = ET.SubElement(root, wrapper_tag)
        _members(wrapper, shape, output)
    metadata = ET.SubElement(root, "ResponseMetadata")
    ET.SubElement(metadata, "RequestId").text = request_id
    return _document(root)


def error(*, code: str, message: str, sender: bool, namespace: str | None, request_id: str) -> bytes:
    """`<ErrorResponse>`: `Sender` for the caller's mistakes, `Receiver` for the service's own."""
    root = ET.Element("ErrorResponse", xmlns=namespace) if namespace else ET.Element("ErrorResponse")
    detail = ET.SubElement(root, "Error")
    ET.SubElement(detail, "Type").text = "Sender" if sender else "Receiver"
    ET.SubElement(detail, "Code").text = code
    ET.SubElement(detail, "Message").text = message
    ET.SubElement(root, "RequestId").text = request_id
    return _document(root)


def _document(root: ET.Element) -> bytes:
    serialized: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return serialized


def _members(parent: ET.Element, shape: Any, value: dict[str, Any]) -> None:
    for name, member in shape.members.items():
        if value.get(name) is not None:
            _write(parent, member.serialization.get("name", name), member, value[name])


def _write(parent: ET.Element, tag: str, shape: Any, value: Any) -> None:
    kind = shape.type_name
    if kind == "list" and shape.serialization.get("flattened"):
        for item in value:
            _write(parent, tag, shape.member, item)
        return
    element = ET.SubElement(parent, tag)
    if kind == "structure":
        _members(element, shape, value)
    elif kind == "list":
        item_tag = shape.member.serialization.get("name", "member")
        for item in value:
            _write(element, item_tag, shape.member, item)
    elif kind == "map":
        for key, item in value.items():
            entry = ET.SubElement(element, "entry")
            _write(entry, "key", shape.key, key)
            _write(entry, "value", shape.value, item)
    else:
        element.text = _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        utc = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    return str(value)
