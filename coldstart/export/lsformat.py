"""Label Studio's import rules, checked offline (Label Studio itself accepts broken pre-annotations silently).

The rules, from Label Studio's documentation of tasks and labeling configs:

- every ``$variable`` an object tag (``<Image value="$image">``) reads must be a key of each task's ``data``;
- each prediction's ``result`` item names a control tag (``from_name``), the object tag that
  control labels (``to_name``, one of the control's ``toName``) and the control's type in lower case;
- the chosen ``choices`` / ``labels`` values are among the control's ``<Choice>`` / ``<Label>`` values;
- region geometry (``x``, ``y``, ``width``, ``height``) is in percent of the image, inside 0..100.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..errors import ColdstartError

_OPTION_TAGS = {"Choice", "Label"}
_GEOMETRY = ("x", "y", "width", "height")


def parse_config(config_xml: str) -> tuple[dict[str, set[str]], dict[str, dict]]:
    """``(objects, controls)`` of a labeling config.

    objects: object tag name -> the ``$variables`` it reads. controls: control tag name ->
    ``{"type": lower-case tag, "to": set of object names, "options": set of values}``.
    """
    try:
        root = ET.fromstring(config_xml)
    except ET.ParseError as e:
        raise ColdstartError(f"the labeling config is not valid XML ({e}): fix label_config.xml") from None
    objects: dict[str, set[str]] = {}
    controls: dict[str, dict] = {}
    for el in root.iter():
        name = el.get("name")
        if name is None:
            continue
        if el.get("toName") is not None:
            options = {o.get("value") for o in el.iter() if o.tag in _OPTION_TAGS and o.get("value") is not None}
            controls[name] = {"type": el.tag.lower(), "to": set(el.get("toName").split(",")), "options": options}
        elif (el.get("value") or "").startswith("$"):
            objects[name] = {el.get("value")[1:]}
    return objects, controls


def check_tasks(tasks, config_xml: str) -> list[str]:
    """Every way ``tasks`` break Label Studio's rules for ``config_xml`` (an empty list when none)."""
    objects, controls = parse_config(config_xml)
    variables = set().union(*objects.values()) if objects else set()
    problems: list[str] = []
    if not isinstance(tasks, list):
        return [f"tasks must be a JSON list, got {type(tasks).__name__}"]
    for t, task in enumerate(tasks):
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            problems.append(f"task {t}: needs a 'data' object")
            continue
        missing = sorted(variables - set(task["data"]))
        if missing:
            problems.append(f"task {t}: data lacks {missing} that the config reads")
        for p, pred in enumerate(task.get("predictions", [])):
            if not isinstance(pred, dict) or not isinstance(pred.get("result"), list):
                problems.append(f"task {t} prediction {p}: needs a 'result' list")
                continue
            if "score" in pred and not isinstance(pred["score"], (int, float)):
                problems.append(f"task {t} prediction {p}: score {pred['score']!r} is not a number")
            for r, res in enumerate(pred["result"]):
                problems += [f"task {t} prediction {p} result {r}: {m}" for m in _check_result(res, controls)]
    return problems


def _check_result(res: dict, controls: dict) -> list[str]:
    ctl = controls.get(res.get("from_name"))
    if ctl is None:
        return [f"from_name {res.get('from_name')!r} is not a control of the config ({sorted(controls)})"]
    out = []
    if res.get("to_name") not in ctl["to"]:
        out.append(f"to_name {res.get('to_name')!r} is not what {res['from_name']!r} labels ({sorted(ctl['to'])})")
    if res.get("type") != ctl["type"]:
        out.append(f"type {res.get('type')!r} should be {ctl['type']!r}")
    value = res.get("value")
    if not isinstance(value, dict):
        return out + ["needs a 'value' object"]
    chosen = value.get(ctl["type"])
    if ctl["options"]:
        if not isinstance(chosen, list) or not chosen:
            out.append(f"value.{ctl['type']} must be a non-empty list")
        else:
            out += [f"{c!r} is not an option of {res['from_name']!r} ({sorted(ctl['options'])})"
                    for c in chosen if c not in ctl["options"]]
    if any(k in value for k in _GEOMETRY):
        try:
            x, y, w, h = (float(value[k]) for k in _GEOMETRY)
        except (KeyError, TypeError, ValueError):
            return out + ["a region needs numeric x, y, width and height"]
        if not (0 <= x <= 100 and 0 <= y <= 100 and 0 < w and 0 < h
                and x + w <= 100 + 1e-6 and y + h <= 100 + 1e-6):
            out.append(f"region x={x}, y={y}, width={w}, height={h} is not inside 0..100 percent")
    return out


def raise_for_problems(tasks, config_xml: str) -> None:
    """Raise ColdstartError listing the first problems of :func:`check_tasks`, if any."""
    problems = check_tasks(tasks, config_xml)
    if problems:
        raise ColdstartError(f"the Label Studio tasks break {len(problems)} import rule(s), e.g. "
                             + "; ".join(problems[:3]) + ": fix the labels or the labeling config")
