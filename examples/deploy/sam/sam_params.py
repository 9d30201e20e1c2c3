"""Turn a hatch-lambda-layers build into `sam deploy --parameter-overrides` values.

Reads manifest.json and the published.json that `lambda-layers publish` wrote next to it, and
prints `LayerArns=... Runtime=... Architecture=... Handler=...` for one region: the published
layer ARNs in manifest order followed by the project's external layers. With --stage-code, it
also copies the function zip to the fixed path the template's CodeUri names.

    python sam_params.py dist/lambda/manifest.json --region eu-west-1 \\
        --stage-code examples/deploy/sam/build/function.zip
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path


def parameters(manifest_path: Path, region: str, function: str | None) -> tuple[list[str], Path]:
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    published_path = manifest_path.parent / "published.json"
    if not published_path.is_file():
        sys.exit(f"{published_path} is missing: run `lambda-layers publish` first")
    published = json.loads(published_path.read_text(encoding="utf-8"))
    # A run that failed in another region finished this one: `regions` says so per region.
    done = published.get("regions", {}).get(region, {}).get("complete", published.get("complete"))
    if not done:
        sys.exit(f"{published_path} records an unfinished publish in {region}: run it again")
    arns = {(x["region"], x["name"]): x["arn"] for x in published["layers"]}
    missing = [x["name"] for x in manifest["layers"] if (region, x["name"]) not in arns]
    if missing:
        sys.exit(f"layers {', '.join(missing)} were not published in {region}")
    functions = manifest["functions"]
    chosen = [f for f in functions if function in (None, f["name"])]
    if len(chosen) != 1:
        names = ", ".join(f["name"] for f in functions) or "none"
        sys.exit(f"choose one function with --function (the manifest has: {names})")
    fn = chosen[0]
    # A function with dependencies of its own lists the layers it attaches; else it gets all.
    attached = fn.get("layers", [x["name"] for x in manifest["layers"]])
    layers = [arns[(region, x["name"])] for x in manifest["layers"] if x["name"] in attached]
    layers += manifest["external_layers"]
    target = manifest["target"]
    return [
        "LayerArns=" + ",".join(layers),
        f"Runtime={target['runtime']}",
        f"Architecture={target['architecture']}",
        f"Handler={fn['handler']}",
    ], manifest_path.parent / fn["file"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--region", required=True)
    parser.add_argument("--function", help="the manifest function to deploy (if several)")
    parser.add_argument("--stage-code", type=Path, help="copy the function zip here")
    args = parser.parse_args()
    params, code = parameters(args.manifest, args.region, args.function)
    if args.stage_code:
        args.stage_code.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(code, args.stage_code)
    print(" ".join(params))


if __name__ == "__main__":
    main()
