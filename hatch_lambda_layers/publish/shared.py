"""Publishing a layer through the shared store: at most one runner publishes a content per
account and region at a time, and every runner ends with the version the store records.

1. Claim the content's slot (a conditional create). A runner that cannot waits for the
   claimant's record, polling, and uses it when it appears; when the claim is abandoned (its
   lease ran out, or its process on this host is gone) one waiting runner takes it over with a
   conditional replace.
2. The claimant looks once more (store record, then the layer's versions by content hash, which
   finds what a killed runner published), publishes only if nothing holds the content, records
   the version with a conditional create, and deletes the claim (also when it failed). Deleting
   is safe whoever holds the claim by then: the record is written first, and a runner that
   claims the slot afterwards reads the record before it publishes anything.
3. A runner whose record write loses (two runners published, because a claim was taken over
   from a runner that was only slow) reads the winner's record and uses that version. Its own
   surplus version is kept, not deleted: another runner may already have found it by its
   content hash and attached it to a function, and an unused layer version costs only storage.

So a content is published at most twice per account and region (the claimant and the one
runner that took its claim over), and every runner converges on the one recorded ARN.
"""

from __future__ import annotations

import time

from ..errors import StoreError
from .claims import StoreRecord, claim_abandoned, lease_seconds
from .context import Context
from .layer_publish import find_existing, publish_new_version
from .plan import LayerStep
from .report import PublishedLayer
from .store import Slot, Store

__all__ = ["POLL_FIRST", "POLL_MAX", "publish_shared", "record_found"]

POLL_FIRST = 0.5  # seconds between looks at a claimant's progress, growing to POLL_MAX
POLL_MAX = 5.0
_WAIT_LEASES = 3  # a waiting runner gives up after this many leases without a record
_RECORD_ATTEMPTS = 5


def _store(ctx: Context) -> Store:
    if ctx.store is None:  # callers only come here with a store
        raise StoreError("no --store given")
    return ctx.store


def _slot(step: LayerStep) -> Slot:
    if step.slot is None:
        raise StoreError(f"layer {step.entry.name!r} has no store slot")
    return step.slot


def _from_record(step: LayerStep, region: str, record: StoreRecord, source: str) -> PublishedLayer:
    return PublishedLayer(
        region,
        step.entry.name,
        record.version,
        record.arn,
        step.entry.content_hash,
        False,
        record.layer_name,
        source,
    )


def _recorded(ctx: Context, step: LayerStep) -> StoreRecord | None:
    """The slot's record, unless it is the stale one planning found."""
    found = _store(ctx).read_record(_slot(step))
    if found is None or found[1] == step.stale_etag:
        return None
    return found[0]


def record_found(
    ctx: Context, region: str, step: LayerStep, layer: PublishedLayer
) -> PublishedLayer:
    """Record `layer` (published or found by its content) as the slot's version; when another
    runner recorded one first, use that instead."""
    store, slot = _store(ctx), _slot(step)
    target = ctx.manifest.target
    record = StoreRecord(
        arn=layer.arn,
        content_hash=layer.content_hash,
        runtime=target.runtime,
        architecture=target.architecture,
        published_by=f"{ctx.manifest.project_name} (run {store.run_id})",
    )
    replace = step.stale_etag
    for _ in range(_RECORD_ATTEMPTS):
        if store.put(slot.record_key, record.to_json(), replace=replace):
            return layer
        found = store.read_record(slot)
        if found is not None and found[1] != replace:
            winner = found[0]
            if winner.arn == layer.arn:
                return layer
            ctx.log(
                f"[{region}] {step.entry.name}: another runner recorded {winner.arn} first; "
                f"using it" + (f" ({layer.arn} stays unused)" if layer.uploaded else "")
            )
            return _from_record(step, region, winner, "adopted")
        replace = None if found is None else found[1]
        time.sleep(POLL_FIRST)
    raise StoreError(
        f"could not record {layer.arn} in {store.url(slot.record_key)} after "
        f"{_RECORD_ATTEMPTS} attempts; run the same command again"
    )


def _claim_or_wait(ctx: Context, region: str, step: LayerStep, lease: float) -> StoreRecord | None:
    """Own the slot's claim (None), or the record another runner wrote while we waited."""
    store, slot = _store(ctx), _slot(step)
    mine = store.claim(lease).to_json()
    limit = max(lease, POLL_MAX) * _WAIT_LEASES
    deadline = time.monotonic() + limit
    delay, told = POLL_FIRST, False
    while True:
        if store.put(slot.claim_key, mine):
            return None
        current = store.read_claim(slot)
        if current is None:  # released between our write and our read: try again
            time.sleep(POLL_FIRST)
            continue
        claim, etag, age = current
        if claim.run == store.run_id:
            return None  # ours: an earlier write whose answer was lost
        if claim_abandoned(claim, age=age, host=store.host):
            if store.put(slot.claim_key, mine, replace=etag):
                ctx.log(f"[{region}] {step.entry.name}: took over the claim of {claim.describe()}")
                return None
            continue
        record = _recorded(ctx, step)
        if record is not None:
            return record
        if time.monotonic() > deadline:
            raise StoreError(
                f"waited {limit:.0f} s for {claim.describe()} to publish layer "
                f"{step.layer_name!r} in {region}; "
                f"delete {store.url(slot.claim_key)} if that run is gone, then run again"
            )
        if not told:
            ctx.log(f"[{region}] {step.entry.name}: waiting for {claim.describe()} to publish it")
            told = True
        time.sleep(delay)
        delay = min(delay * 1.5, POLL_MAX)


def publish_shared(ctx: Context, region: str, step: LayerStep) -> PublishedLayer:
    """The version that holds `step`'s content in `region`, through the store's claim (see the
    module docstring)."""
    waited = _claim_or_wait(ctx, region, step, lease_seconds(step.artifact.size))
    if waited is not None:
        return _from_record(step, region, waited, "store")
    try:
        return _publish_claimed(ctx, region, step)
    finally:
        _store(ctx).release(_slot(step))


def _publish_claimed(ctx: Context, region: str, step: LayerStep) -> PublishedLayer:
    """With the claim held: the record another runner wrote meanwhile, or a version found by
    its content hash (recorded now), or a new version (recorded now)."""
    record = _recorded(ctx, step)
    if record is not None:
        return _from_record(step, region, record, "store")
    entry = step.entry
    found = find_existing(ctx, region, step.layer_name, entry.content_hash)
    if found is not None:
        version, arn = found
        layer = PublishedLayer(
            region, entry.name, version, arn, entry.content_hash, False, step.layer_name, "reused"
        )
    else:
        layer = publish_new_version(
            ctx,
            region,
            entry,
            step.artifact,
            layer_name=step.layer_name,
            s3_present=step.s3_present,
        )
    return record_found(ctx, region, step, layer)
