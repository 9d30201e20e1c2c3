"""Lambda handler: validate an order, price it through a pricing service, return the total.

`event` = {"order": {...}, "pricing_url": "http://..."}; the pricing service answers
GET <pricing_url>?sku=<sku> with {"unit_price": <number>}.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import boto3  # provided by the Lambda runtime, not by our layers
import requests
from pydantic import BaseModel, Field, ValidationError


class Line(BaseModel):
    sku: str = Field(min_length=1)
    quantity: int = Field(gt=0)


class Order(BaseModel):
    order_id: str
    lines: list[Line] = Field(min_length=1)


def handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    try:
        order = Order.model_validate(event.get("order", {}))
    except ValidationError as exc:
        return {"statusCode": 400, "errors": exc.error_count()}
    session = requests.Session()
    total = Decimal(0)
    for line in order.lines:
        response = session.get(event["pricing_url"], params={"sku": line.sku}, timeout=5)
        response.raise_for_status()
        total += Decimal(str(response.json()["unit_price"])) * line.quantity
    return {
        "statusCode": 200,
        "order_id": order.order_id,
        "total": str(total),
        "boto3": boto3.__version__,
    }
