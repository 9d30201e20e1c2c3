"""RECORDED FAKES for the two things the installed moto (5.x) does not do, laid over real boto3
clients that talk to the moto server (everything else is moto's):

1. SnapStart. moto accepts `SnapStart` in UpdateFunctionConfiguration but ignores it and always
   reports ``{"ApplyOn": "None", "OptimizationStatus": "Off"}``; it publishes versions that are
   Active at once. The overlay remembers the setting of $LATEST, gives each published version
   the setting $LATEST had when it was published, reports it as the Lambda API reference does
   (``SnapStart: {ApplyOn: PublishedVersions, OptimizationStatus: On}`` on such a version) and
   keeps a SnapStart version ``State: Pending`` for its first polls, as Lambda does while it
   takes the snapshot.
2. A duplicate statement id. moto appends a second statement with the same id where Lambda
   answers AddLayerVersionPermission with ResourceConflictException (HTTP 409, "The statement
   id (...) provided already exists"). The overlay answers so; it can also make "another
   runner" add the same statement just before the call, to stage the race.

Both hook botocore's events (`before-parameter-build`, `before-call`, `after-call`) on the client
under test; nothing else about the calls is changed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError

__all__ = ["LambdaOverlay", "OverlaySession"]

SNAPSTART_ON = "PublishedVersions"


@dataclass(frozen=True)
class _Http:
    status_code: int
    headers: dict[str, str]


class LambdaOverlay:
    """State of the fakes, shared by every client the overlay is attached to."""

    def __init__(self, *, pending_polls: int = 2) -> None:
        self.pending_polls = pending_polls
        self.latest: dict[str, str] = {}  # function -> SnapStart.ApplyOn of $LATEST
        self.versions: dict[tuple[str, str], str] = {}  # (function, version) -> ApplyOn
        self.polls: Counter[tuple[str, str]] = Counter()
        self.conflicts = 0
        self.race: Callable[[dict[str, Any]], None] | None = None  # runs once before an add

    def attach(self, client: Any) -> Any:
        events = client.meta.events
        events.register("before-parameter-build.lambda", self._remember)
        events.register("after-call.lambda.UpdateFunctionConfiguration", self._configured)
        events.register("after-call.lambda.GetFunction", self._get_function)
        events.register("after-call.lambda.PublishVersion", self._published)
        events.register("after-call.lambda.GetFunctionConfiguration", self._configuration)
        events.register("before-call.lambda.AddLayerVersionPermission", self._add_permission)
        return client

    # ------------------------------------------------------------------ SnapStart

    @staticmethod
    def _remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["overlay_params"] = dict(params)

    @staticmethod
    def _name(context: dict[str, Any]) -> str:
        return str(context.get("overlay_params", {}).get("FunctionName", "")).split(":")[-1]

    def _snap(self, apply_on: str, *, published: bool) -> dict[str, str]:
        on = apply_on == SNAPSTART_ON and published
        return {"ApplyOn": apply_on, "OptimizationStatus": "On" if on else "Off"}

    def _configured(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        wanted = context.get("overlay_params", {}).get("SnapStart")
        name = self._name(context)
        if wanted:
            self.latest[name] = str(wanted.get("ApplyOn", "None"))
        parsed["SnapStart"] = self._snap(self.latest.get(name, "None"), published=False)

    def _get_function(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        config = parsed.get("Configuration")
        if config is not None:
            apply_on = self.latest.get(self._name(context), "None")
            config["SnapStart"] = self._snap(apply_on, published=False)

    def _published(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        name, version = self._name(context), str(parsed.get("Version"))
        apply_on = self.versions.setdefault((name, version), self.latest.get(name, "None"))
        parsed["SnapStart"] = self._snap(apply_on, published=True)
        if apply_on == SNAPSTART_ON:
            parsed["State"] = "Pending"

    def _configuration(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        name = self._name(context)
        qualifier = str(context.get("overlay_params", {}).get("Qualifier") or "$LATEST")
        if qualifier == "$LATEST" or (name, qualifier) not in self.versions:
            parsed["SnapStart"] = self._snap(self.latest.get(name, "None"), published=False)
            return
        apply_on = self.versions[(name, qualifier)]
        parsed["SnapStart"] = self._snap(apply_on, published=True)
        if apply_on == SNAPSTART_ON and self.polls[(name, qualifier)] < self.pending_polls:
            self.polls[(name, qualifier)] += 1
            parsed["State"] = "Pending"

    # ------------------------------------------------------------------ statement ids

    def _add_permission(self, context: dict[str, Any], **_: Any) -> Any:
        params = context.get("overlay_params", {})
        if self.race is not None:
            race, self.race = self.race, None
            race(params)
        sid = params.get("StatementId")
        region = str(context.get("client_region"))
        if sid not in _statement_ids(region, params["LayerName"], int(params["VersionNumber"])):
            return None  # let moto add it
        self.conflicts += 1
        message = (
            f"The statement id ({sid}) provided already exists. Please provide a new statement "
            "id, or remove the existing statement."
        )
        error = {
            "Error": {"Code": "ResourceConflictException", "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": 409},
        }
        return _Http(409, {}), error


def _statement_ids(region: str, layer: str, version: int) -> set[str]:
    """The statement ids moto holds for a layer version (read with a client of its own)."""
    lam = boto3.client("lambda", region_name=region)
    try:
        policy = lam.get_layer_version_policy(LayerName=layer, VersionNumber=version)["Policy"]
    except ClientError:
        return set()
    return {str(s.get("Sid")) for s in json.loads(policy)["Statement"]}


class OverlaySession:
    """A boto3 Session for one region whose Lambda clients carry the overlay."""

    def __init__(self, region: str, overlay: LambdaOverlay) -> None:
        self._session = boto3.session.Session(region_name=region)
        self._overlay = overlay

    def client(self, service: str, **kwargs: Any) -> Any:
        client = self._session.client(service, **kwargs)
        return self._overlay.attach(client) if service == "lambda" else client
