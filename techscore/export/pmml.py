"""The WOE scorecard as a PMML 4.4 `Scorecard` model, with reason codes and the PD as an output field.

Attributes are tested in order, so each characteristic lists the missing bin first (``isMissing``), then the bins
(``lessThan`` each upper edge, or ``isIn`` a category group), and last a catch-all (`True`): the top numeric bin,
or, for a categorical feature, unseen categories, which score like missing ones as in optbinning. Each
characteristic's baseline score is its best bin, and reason codes use ``pointsBelow``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from techscore.exceptions import ModelError
from techscore.export.card import CardTable, Characteristic

__all__ = ["PMML_NS", "card_pmml"]

PMML_NS = "http://www.dmg.org/PMML-4_4"


def _n(value: float) -> str:
    return repr(float(value))


def card_pmml(card: CardTable, *, reasons: int = 3, model_name: str = "techscore_scorecard") -> str:
    """PMML 4.4 text of `card`: outputs ``points``, ``pd`` and ``reason_1`` .. ``reason_k``."""
    if reasons < 0:
        raise ModelError(f"reasons must be 0 or more; got {reasons}.")
    root = ET.Element("PMML", {"xmlns": PMML_NS, "version": "4.4"})
    header = ET.SubElement(root, "Header", {"description": "techscore WOE scorecard"})
    ET.SubElement(header, "Application", {"name": "techscore"})
    dictionary = ET.SubElement(root, "DataDictionary", {"numberOfFields": str(len(card.characteristics))})
    for c in card.characteristics:
        categorical = c.kind == "categorical"
        ET.SubElement(dictionary, "DataField", {"name": c.feature, "displayName": c.name,
                                                "optype": "categorical" if categorical else "continuous",
                                                "dataType": "string" if categorical else "double"})
    model = ET.SubElement(root, "Scorecard", {
        "modelName": model_name, "functionName": "regression", "useReasonCodes": "true",
        "reasonCodeAlgorithm": "pointsBelow", "initialScore": _n(card.initial_points), "baselineMethod": "max"})
    schema = ET.SubElement(model, "MiningSchema")
    for c in card.characteristics:
        ET.SubElement(schema, "MiningField", {"name": c.feature, "usageType": "active",
                                              "missingValueTreatment": "asIs", "invalidValueTreatment": "asIs"})
    output = ET.SubElement(model, "Output")
    ET.SubElement(output, "OutputField", {"name": "points", "feature": "predictedValue", "dataType": "double",
                                          "optype": "continuous"})
    pd_field = ET.SubElement(output, "OutputField", {"name": "pd", "feature": "transformedValue",
                                                     "dataType": "double", "optype": "continuous"})
    pd_field.append(_pd_expression(card))
    for r in range(1, reasons + 1):
        ET.SubElement(output, "OutputField", {"name": f"reason_{r}", "feature": "reasonCode", "rank": str(r),
                                              "dataType": "string", "optype": "categorical"})
    chars = ET.SubElement(model, "Characteristics")
    for j, c in enumerate(card.characteristics):
        _characteristic(ET.SubElement(chars, "Characteristic", {"name": f"c{j}_{c.feature}",
                                                                "baselineScore": _n(c.best)}), c)
    ET.indent(root, space=" ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _attribute(parent: ET.Element, points: float, code: str) -> ET.Element:
    return ET.SubElement(parent, "Attribute", {"partialScore": _n(points), "reasonCode": code})


def _characteristic(node: ET.Element, c: Characteristic) -> None:
    missing = _attribute(node, c.missing_points, c.reason_code(None))
    ET.SubElement(missing, "SimplePredicate", {"field": c.feature, "operator": "isMissing"})
    if c.kind == "categorical":
        for i, group in enumerate(c.groups):
            predicate = ET.SubElement(_attribute(node, c.points[i], c.reason_code(i)), "SimpleSetPredicate",
                                      {"field": c.feature, "booleanOperator": "isIn"})
            array = ET.SubElement(predicate, "Array", {"n": str(len(group)), "type": "string"})
            array.text = " ".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in group)
        ET.SubElement(_attribute(node, c.missing_points, c.reason_code(None)), "True")
        return
    for i, edge in enumerate(c.edges):
        ET.SubElement(_attribute(node, c.points[i], c.reason_code(i)), "SimplePredicate",
                      {"field": c.feature, "operator": "lessThan", "value": _n(edge)})
    ET.SubElement(_attribute(node, c.points[-1], c.reason_code(len(c.edges))), "True")


def _apply(function: str, *args: ET.Element) -> ET.Element:
    node = ET.Element("Apply", {"function": function})
    node.extend(args)
    return node


def _const(value: float) -> ET.Element:
    node = ET.Element("Constant", {"dataType": "double"})
    node.text = _n(value)
    return node


def _pd_expression(card: CardTable) -> ET.Element:
    """``1 / (1 + exp((points + unseen-category shifts - offset) / factor))``."""
    points = ET.Element("FieldRef", {"field": "points"})
    for c in card.characteristics:
        if c.kind == "categorical" and c.unseen_pd_shift:
            field = ET.Element("FieldRef", {"field": c.feature})
            values = []
            for v in c.categories:
                const = ET.Element("Constant", {"dataType": "string"})
                const.text = v
                values.append(const)
            unseen = _apply("and", _apply("isNotMissing", ET.Element("FieldRef", {"field": c.feature})),
                            _apply("isNotIn", field, *values))
            points = _apply("+", points, _apply("if", unseen, _const(c.unseen_pd_shift), _const(0.0)))
    z = _apply("/", _apply("-", points, _const(card.offset)), _const(card.factor))
    return _apply("/", _const(1.0), _apply("+", _const(1.0), _apply("exp", z)))
