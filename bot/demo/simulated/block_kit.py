"""Block Kit's rules as Slack documents them, checked by the Slack stand-in with rules of its own.

Deliberately independent of `slack_sdk.models` (which the bot builds its blocks with): a gap in the
models would otherwise pass both. Limits from api.slack.com/reference/block-kit (blocks, block
elements, composition objects); errors are worded as Slack words them in `invalid_blocks`:
"<problem> [json-pointer:/blocks/<i>/...]".
"""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]

MAX_BLOCKS = 50
MAX_BLOCK_ID = 255
MAX_HEADER_TEXT = 150
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_ACTION_ID = 255
MAX_BUTTON_VALUE = 2000
MAX_BUTTON_URL = 3000
MAX_ACCESSIBILITY_LABEL = 75
MAX_TEXT_OBJECT = 3000
MAX_CONFIRM_TITLE = 100
MAX_CONFIRM_TEXT = 300
MAX_CONFIRM_BUTTON = 30
MAX_IMAGE_URL = 3000
MAX_ALT_TEXT = 2000
MAX_IMAGE_TITLE = 2000

# The properties each kind may have (Slack refuses others: "invalid additional property").
BLOCK_PROPERTIES: dict[str, set[str]] = {
    "header": {"type", "block_id", "text"},
    "section": {"type", "block_id", "text", "fields", "accessory", "expand"},
    "context": {"type", "block_id", "elements"},
    "actions": {"type", "block_id", "elements"},
    "divider": {"type", "block_id"},
    "image": {"type", "block_id", "image_url", "alt_text", "title"},
}
BUTTON_PROPERTIES = {"type", "text", "action_id", "url", "value", "style", "confirm", "accessibility_label"}
IMAGE_PROPERTIES = {"type", "image_url", "alt_text"}
CONFIRM_PROPERTIES = {"title", "text", "confirm", "deny", "style"}
TEXT_PROPERTIES = {"plain_text": {"type", "text", "emoji"}, "mrkdwn": {"type", "text", "verbatim"}}
BUTTON_STYLES = {"primary", "danger"}


def validate_blocks(blocks: list[Any]) -> list[str]:
    """What Slack would say is wrong with `blocks` (empty when nothing)."""
    errors: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        errors.append(f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")
    seen_ids: set[str] = set()
    for index, block in enumerate(blocks):
        errors += _block(block, f"/blocks/{index}", seen_ids)
    return errors


def _block(block: Any, where: str, seen_ids: set[str]) -> list[str]:
    if not isinstance(block, dict):
        return [f"expected an object [json-pointer:{where}]"]
    kind = block.get("type")
    if kind not in BLOCK_PROPERTIES:
        return [f"unsupported block type '{kind}' [json-pointer:{where}/type]"]
    errors = _extra(block, BLOCK_PROPERTIES[kind], where)
    block_id = block.get("block_id")
    if block_id is not None:
        if not isinstance(block_id, str) or not block_id:
            errors.append(f"must be a non-empty string [json-pointer:{where}/block_id]")
        else:
            errors += _length(block_id, MAX_BLOCK_ID, f"{where}/block_id")
            if block_id in seen_ids:
                errors.append(f"duplicate block_id '{block_id}' [json-pointer:{where}/block_id]")
            seen_ids.add(block_id)
    if kind == "header":
        errors += _text_object(block.get("text"), MAX_HEADER_TEXT, f"{where}/text", plain_only=True)
    elif kind == "section":
        errors += _section(block, where)
    elif kind == "context":
        errors += _elements(block, MAX_CONTEXT_ELEMENTS, where, _context_element)
    elif kind == "actions":
        errors += _elements(block, MAX_ACTIONS_ELEMENTS, where, _interactive)
    elif kind == "image":
        errors += _image(block, where)
        if block.get("title") is not None:
            errors += _text_object(block["title"], MAX_IMAGE_TITLE, f"{where}/title", plain_only=True)
    return errors


def _section(block: Json, where: str) -> list[str]:
    errors: list[str] = []
    if block.get("text") is None and not block.get("fields"):
        errors.append(f"must provide either text or fields [json-pointer:{where}]")
    if block.get("text") is not None:
        errors += _text_object(block["text"], MAX_SECTION_TEXT, f"{where}/text")
    fields = block.get("fields")
    if fields is not None:
        if not isinstance(fields, list):
            errors.append(f"expected an array [json-pointer:{where}/fields]")
        else:
            errors += _items(fields, MAX_SECTION_FIELDS, f"{where}/fields")
            for number, item in enumerate(fields):
                errors += _text_object(item, MAX_FIELD_TEXT, f"{where}/fields/{number}")
    if "accessory" in block:
        accessory = block["accessory"]
        if isinstance(accessory, dict) and accessory.get("type") == "image":
            errors += _image(accessory, f"{where}/accessory", IMAGE_PROPERTIES)
        else:
            errors += _interactive(accessory, f"{where}/accessory")
    return errors


def _elements(block: Json, limit: int, where: str, check: Any) -> list[str]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        return [f"must provide at least 1 item [json-pointer:{where}/elements]"]
    errors = _items(elements, limit, f"{where}/elements")
    for number, element in enumerate(elements):
        errors += check(element, f"{where}/elements/{number}")
    return errors


def _context_element(element: Any, where: str) -> list[str]:
    if isinstance(element, dict) and element.get("type") == "image":
        return _image(element, where, IMAGE_PROPERTIES)
    return _text_object(element, MAX_TEXT_OBJECT, where)


def _interactive(element: Any, where: str) -> list[str]:
    """The one interactive element the bot uses: a button (others are refused here, not by Slack)."""
    if not isinstance(element, dict):
        return [f"expected an object [json-pointer:{where}]"]
    if element.get("type") != "button":
        return [f"unsupported element type '{element.get('type')}' [json-pointer:{where}/type]"]
    errors = _extra(element, BUTTON_PROPERTIES, where)
    errors += _text_object(element.get("text"), MAX_BUTTON_TEXT, f"{where}/text", plain_only=True)
    for name, limit in (
        ("action_id", MAX_ACTION_ID),
        ("value", MAX_BUTTON_VALUE),
        ("url", MAX_BUTTON_URL),
        ("accessibility_label", MAX_ACCESSIBILITY_LABEL),
    ):
        if name in element:
            errors += _string(element[name], limit, f"{where}/{name}")
    if "style" in element and element["style"] not in BUTTON_STYLES:
        errors.append(f"must be one of {', '.join(sorted(BUTTON_STYLES))} [json-pointer:{where}/style]")
    if "confirm" in element:
        errors += _confirm(element["confirm"], f"{where}/confirm")
    return errors


def _confirm(confirm: Any, where: str) -> list[str]:
    if not isinstance(confirm, dict):
        return [f"expected an object [json-pointer:{where}]"]
    errors = _extra(confirm, CONFIRM_PROPERTIES, where)
    errors += _text_object(confirm.get("title"), MAX_CONFIRM_TITLE, f"{where}/title", plain_only=True)
    errors += _text_object(confirm.get("text"), MAX_CONFIRM_TEXT, f"{where}/text")
    for name in ("confirm", "deny"):
        errors += _text_object(confirm.get(name), MAX_CONFIRM_BUTTON, f"{where}/{name}", plain_only=True)
    if "style" in confirm and confirm["style"] not in BUTTON_STYLES:
        errors.append(f"must be one of {', '.join(sorted(BUTTON_STYLES))} [json-pointer:{where}/style]")
    return errors


def _image(image: Json, where: str, allowed: set[str] | None = None) -> list[str]:
    errors = _extra(image, allowed, where) if allowed else []
    errors += _string(image.get("image_url"), MAX_IMAGE_URL, f"{where}/image_url")
    errors += _string(image.get("alt_text"), MAX_ALT_TEXT, f"{where}/alt_text")
    return errors


def _text_object(obj: Any, limit: int, where: str, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return [f"must provide a text object [json-pointer:{where}]"]
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    kind = obj.get("type")
    if kind not in allowed:
        return [f"must be one of {', '.join(allowed)} [json-pointer:{where}/type]"]
    errors = _extra(obj, TEXT_PROPERTIES[str(kind)], where)
    for flag in ("emoji", "verbatim"):
        if flag in obj and not isinstance(obj[flag], bool):
            errors.append(f"must be a boolean [json-pointer:{where}/{flag}]")
    if not obj["text"]:
        return [*errors, f"must be more than 0 characters [json-pointer:{where}/text]"]
    return errors + _length(obj["text"], limit, f"{where}/text")


def _string(value: Any, limit: int, where: str) -> list[str]:
    if not isinstance(value, str) or not value:
        return [f"must be a non-empty string [json-pointer:{where}]"]
    return _length(value, limit, where)


def _extra(obj: Json, allowed: set[str], where: str) -> list[str]:
    return [
        f"invalid additional property: {name} [json-pointer:{where}]" for name in obj if name not in allowed
    ]


def _length(value: str, limit: int, where: str) -> list[str]:
    return [f"must be less than {limit + 1} characters [json-pointer:{where}]"] if len(value) > limit else []


def _items(items: list[Any], limit: int, where: str) -> list[str]:
    return [f"must provide no more than {limit} items [json-pointer:{where}]"] if len(items) > limit else []
