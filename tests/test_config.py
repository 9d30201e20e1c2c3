"""Tests for the [tool.lambda-layers] table parser."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from hatch_lambda_layers.config import (
    TOOL_KEY,
    Config,
    FunctionConfig,
    load_config,
    parse_config,
    pyproject_path,
)
from hatch_lambda_layers.errors import ConfigError

ARN_1 = "arn:aws:lambda:us-east-1:123456789012:layer:otel:7"
ARN_2 = "arn:aws-cn:lambda:cn-north-1:210987654321:layer:ext_2:12"
ARN_GOV = "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:layer:tools:1"


def problems_of(table: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as info:
        parse_config(table)
    return info.value.problems


def only_problem(table: dict[str, Any]) -> str:
    problems = problems_of(table)
    assert len(problems) == 1, problems
    return problems[0]


# --------------------------------------------------------------------------- valid tables


def test_minimal_table_gets_every_default() -> None:
    config = parse_config({"runtime": "python3.12"})
    assert config == Config(runtime="python3.12")
    assert config.architecture == "x86_64"
    assert config.max_layers == 5
    assert config.lock == "auto"
    assert config.index_url is None
    assert config.default_excludes is True
    assert config.botocore_services is None
    assert (config.strip, config.compile) == (False, False)
    assert config.compile_margin == 5_000_000
    assert (config.upload, config.mode) == ("direct", "layers")
    assert dict(config.layers) == {}
    assert config.functions == ()
    assert config.handler is None
    assert config.license_info is None
    assert config.replan_margin == pytest.approx(0.10)


def test_full_table_round_trips() -> None:
    table = {
        "runtime": "python3.11",
        "architecture": "arm64",
        "provided": ["Boto3", "botocore", "typing_extensions"],
        "external-layers": [ARN_1, ARN_GOV],
        "max-layers": 3,
        "lock": "locks/pylock.prod.toml",
        "index-url": "http://127.0.0.1:8080/simple/",
        "extra-index-urls": ["https://mirror.example/simple", "file:///srv/index"],
        "find-links": ["./wheels", "https://wheels.example/links.html"],
        "exclude": ["**/tests/**", "*.pyi"],
        "default-excludes": False,
        "botocore-services": ["s3", "dynamodb", "sts", "cognito-idp"],
        "strip": True,
        "compile": True,
        "compile-margin": 10_000_000,
        "volatile": ["My.Package"],
        "stable": ["numpy"],
        "upload": "s3",
        "mode": "fat",
        "layers": {"science": ["NumPy", "scipy"], "web_1": ["fastapi"]},
        "functions": {
            "api": {"handler": "app.api.handler", "include": ["app/**"]},
            "worker": {"handler": "app.worker.main"},
        },
        "license-info": "MIT",
        "replan-margin": 0.25,
    }
    config = parse_config(table)
    assert config == Config(
        runtime="python3.11",
        architecture="arm64",
        provided=("boto3", "botocore", "typing-extensions"),
        external_layers=(ARN_1, ARN_GOV),
        max_layers=3,
        lock="locks/pylock.prod.toml",
        index_url="http://127.0.0.1:8080/simple/",
        extra_index_urls=("https://mirror.example/simple", "file:///srv/index"),
        find_links=("./wheels", "https://wheels.example/links.html"),
        exclude=("**/tests/**", "*.pyi"),
        default_excludes=False,
        botocore_services=("s3", "dynamodb", "sts", "cognito-idp"),
        strip=True,
        compile=True,
        compile_margin=10_000_000,
        volatile=("my-package",),
        stable=("numpy",),
        upload="s3",
        mode="fat",
        layers={"science": ("numpy", "scipy"), "web_1": ("fastapi",)},
        functions=(
            FunctionConfig("api", "app.api.handler", ("app/**",)),
            FunctionConfig("worker", "app.worker.main", ()),
        ),
        license_info="MIT",
        replan_margin=0.25,
    )
    assert list(config.layers) == ["science", "web_1"]  # document order kept


def test_config_is_frozen_and_hashable() -> None:
    config = parse_config({"runtime": "python3.13", "layers": {"a": ["x"]}})
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.runtime = "python3.12"  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.layers["b"] = ("y",)  # type: ignore[index]
    again = parse_config({"runtime": "python3.13", "layers": {"a": ["x"]}})
    assert hash(config) == hash(again)
    assert config != parse_config({"runtime": "python3.13", "layers": {"a": ["z"]}})


def test_the_table_passed_in_is_not_shared() -> None:
    table: dict[str, Any] = {"runtime": "python3.12", "layers": {"a": ["x"]}}
    config = parse_config(table)
    table["layers"]["b"] = ["y"]
    assert list(config.layers) == ["a"]


@pytest.mark.parametrize(
    "runtime", ["python3.10", "python3.11", "python3.12", "python3.13", "python3.14"]
)
def test_every_supported_runtime(runtime: str) -> None:
    assert parse_config({"runtime": runtime}).runtime == runtime


@pytest.mark.parametrize(
    ("external", "expected"),
    [([], 5), ([ARN_1], 4), ([ARN_1, ARN_2], 3), ([ARN_1, ARN_2, ARN_GOV, ARN_1[:-1] + "8"], 1)],
)
def test_max_layers_defaults_to_the_slots_external_layers_leave(
    external: list[str], expected: int
) -> None:
    config = parse_config({"runtime": "python3.12", "external-layers": external})
    assert config.max_layers == expected
    assert config.external_layers == tuple(external)


def test_max_layers_may_fill_exactly_the_remaining_slots() -> None:
    config = parse_config({"runtime": "python3.12", "external-layers": [ARN_1], "max-layers": 4})
    assert config.max_layers == 4


@pytest.mark.parametrize(
    ("lock", "expected"), [("auto", "auto"), ("none", "none"), ("uv.lock", "uv.lock")]
)
def test_lock_values(lock: str, expected: str) -> None:
    assert parse_config({"runtime": "python3.12", "lock": lock}).lock == expected


def test_names_are_canonicalized_and_deduplicated_in_order() -> None:
    config = parse_config(
        {"runtime": "python3.12", "provided": ["Zope.Interface", "boto3", "zope_interface"]}
    )
    assert config.provided == ("zope-interface", "boto3")


def test_empty_botocore_services_is_kept_apart_from_unset() -> None:
    assert parse_config({"runtime": "python3.12", "botocore-services": []}).botocore_services == ()


def test_integral_replan_margin_is_accepted_as_float() -> None:
    config = parse_config({"runtime": "python3.12", "replan-margin": 1})
    assert config.replan_margin == 1.0
    assert isinstance(config.replan_margin, float)


def test_top_level_handler_for_the_default_function() -> None:
    config = parse_config({"runtime": "python3.12", "handler": "service.lambda_handler"})
    assert config.handler == "service.lambda_handler"
    assert config.functions == ()


# --------------------------------------------------------------------------- missing table


def test_missing_table_says_what_to_add() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(None)
    assert f"add a [{TOOL_KEY}] table with at least runtime = " in str(info.value)
    assert info.value.exit_code == 2


def test_table_that_is_not_a_table() -> None:
    with pytest.raises(ConfigError, match=r"tool\.lambda-layers must be a table, got an array"):
        parse_config(["runtime"])  # type: ignore[arg-type]


def test_missing_runtime_is_required() -> None:
    message = only_problem({})
    assert message.startswith("tool.lambda-layers.runtime is required: one of ")
    assert '"python3.14"' in message


# --------------------------------------------------------------------------- each key's mistakes

BASE = {"runtime": "python3.12"}


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        # runtime and the other closed choices
        ("runtime", "python3.9", 'tool.lambda-layers.runtime must be one of "python3.10",'),
        ("runtime", "python3.9", 'got "python3.9"'),
        ("runtime", 3.12, "got 3.12 (a float)"),
        ("architecture", "amd64", 'must be one of "x86_64", "arm64", got "amd64"'),
        ("architecture", "aarch64", 'tool.lambda-layers.architecture must be one of "x86_64"'),
        ("upload", "S3", 'tool.lambda-layers.upload must be one of "direct", "s3", got "S3"'),
        ("mode", "fat-zip", 'tool.lambda-layers.mode must be one of "layers", "fat"'),
        ("mode", True, "got true (a boolean)"),
        # max-layers: range and strict integer
        ("max-layers", 7, "tool.lambda-layers.max-layers must be an integer from 1 to 5, got 7"),
        ("max-layers", 0, "tool.lambda-layers.max-layers must be an integer from 1 to 5, got 0"),
        ("max-layers", -1, "must be an integer from 1 to 5, got -1"),
        ("max-layers", True, "must be an integer from 1 to 5, got true (a boolean)"),
        ("max-layers", False, "must be an integer from 1 to 5, got false (a boolean)"),
        ("max-layers", "3", 'must be an integer from 1 to 5, got "3" (a string)'),
        ("max-layers", 3.0, "must be an integer from 1 to 5, got 3.0 (a float)"),
        # booleans
        ("strip", "yes", 'tool.lambda-layers.strip must be true or false, got "yes" (a string)'),
        ("strip", 1, "tool.lambda-layers.strip must be true or false, got 1 (an integer)"),
        (
            "compile",
            0,
            'tool.lambda-layers.compile must be true, false or "auto", got 0 (an integer)',
        ),
        ("compile", "yes", 'tool.lambda-layers.compile must be true, false or "auto", got "yes"'),
        ("compile", "Auto", 'must be true, false or "auto", got "Auto"'),
        (
            "compile-margin",
            -1,
            "tool.lambda-layers.compile-margin must be an integer from 0 to 262144000, got -1",
        ),
        ("compile-margin", 1.5, "compile-margin must be an integer from 0 to 262144000, got 1.5"),
        ("default-excludes", "false", "tool.lambda-layers.default-excludes must be true or false"),
        # floats
        (
            "replan-margin",
            1.5,
            "tool.lambda-layers.replan-margin must be a number from 0 to 1, got 1.5",
        ),
        ("replan-margin", -0.1, "must be a number from 0 to 1, got -0.1"),
        ("replan-margin", float("nan"), "must be a number from 0 to 1, got nan"),
        ("replan-margin", True, "must be a number from 0 to 1, got true (a boolean)"),
        ("replan-margin", "10%", 'got "10%" (a string)'),
        # strings
        ("lock", "", "tool.lambda-layers.lock must not be empty"),
        ("lock", False, "tool.lambda-layers.lock must be a string, got false (a boolean)"),
        ("lock", ["uv.lock"], "tool.lambda-layers.lock must be a string, got an array"),
        (
            "index-url",
            "127.0.0.1/simple",
            'tool.lambda-layers.index-url "127.0.0.1/simple" is not an http',
        ),
        ("index-url", "ftp://host/simple", "is not an http, https or file URL"),
        ("index-url", ["http://127.0.0.1/simple"], "index-url must be a string, got an array"),
        ("license-info", 3, "tool.lambda-layers.license-info must be a string, got 3 (an integer)"),
        ("license-info", "x" * 513, "is 513 characters long; Lambda accepts at most 512"),
        ("handler", "handler", 'tool.lambda-layers.handler must be "module.function"'),
        (
            "handler",
            "app.",
            'must be "module.function" (dotted Python names, e.g. "app.handler"), got "app."',
        ),
        ("handler", "my-app.handler", 'got "my-app.handler"'),
        ("handler", "import.handler", 'got "import.handler"'),
        ("handler", 5, "tool.lambda-layers.handler must be a string, got 5 (an integer)"),
        # lists: a string is not a list, items are strings of the right shape
        (
            "provided",
            "boto3",
            "tool.lambda-layers.provided must be a list of distribution names, got a "
            'string; write ["boto3"]',
        ),
        (
            "provided",
            {"boto3": "*"},
            "tool.lambda-layers.provided must be a list of distribution names, got a table",
        ),
        (
            "provided",
            ["boto3", 3],
            "tool.lambda-layers.provided[1] must be a string, got 3 (an integer)",
        ),
        (
            "provided",
            ["-boto3"],
            'tool.lambda-layers.provided[0] "-boto3" is not a valid distribution name (PEP 508)',
        ),
        (
            "provided",
            ["boto3>=1.0"],
            'tool.lambda-layers.provided[0] "boto3>=1.0" is not a valid distribution name',
        ),
        (
            "volatile",
            ["a b"],
            'tool.lambda-layers.volatile[0] "a b" is not a valid distribution name',
        ),
        (
            "stable",
            "numpy",
            "tool.lambda-layers.stable must be a list of distribution names, got a string",
        ),
        (
            "external-layers",
            ARN_1,
            "tool.lambda-layers.external-layers must be a list of layer version ARNs, got a string",
        ),
        (
            "external-layers",
            ["arn:aws:lambda:us-east-1:123456789012:layer:otel"],
            'has no version; add it, e.g. "arn:aws:lambda:us-east-1:123456789012:layer:otel:1"',
        ),
        (
            "external-layers",
            ["arn:aws:lambda:us-east-1:1234:layer:otel:1"],
            "is not a Lambda layer version ARN",
        ),
        (
            "external-layers",
            ["arn:aws:lambda:us-east-1:123456789012:function:otel:1"],
            "external-layers[0]",
        ),
        (
            "external-layers",
            ["arn:aws:lambda:us-east-1:123456789012:layer:otel:0"],
            "is not a Lambda layer version ARN",
        ),
        (
            "external-layers",
            [ARN_1, ARN_1],
            f'tool.lambda-layers.external-layers lists "{ARN_1}" more than once',
        ),
        (
            "extra-index-urls",
            "http://127.0.0.1/simple",
            "extra-index-urls must be a list of index URLs, got a string",
        ),
        (
            "extra-index-urls",
            ["./local"],
            'tool.lambda-layers.extra-index-urls[0] "./local" is not an http, https or file URL',
        ),
        ("extra-index-urls", ["http://127.0.0.1/ simple"], "is not an http, https or file URL"),
        (
            "find-links",
            ["gopher://wheels"],
            'tool.lambda-layers.find-links[0] "gopher://wheels" is not an http, https or file URL',
        ),
        ("find-links", ["  "], "tool.lambda-layers.find-links[0] is empty"),
        (
            "exclude",
            "*.pyi",
            "tool.lambda-layers.exclude must be a list of glob patterns, got a string; "
            'write ["*.pyi"]',
        ),
        ("exclude", [""], "tool.lambda-layers.exclude[0] is an empty pattern"),
        ("exclude", ["/abs/*"], 'tool.lambda-layers.exclude[0] "/abs/*" is absolute'),
        ("exclude", ["../*"], "climbs out with '..'"),
        (
            "botocore-services",
            "s3",
            "botocore-services must be a list of botocore service names, got a string; "
            'write ["s3"]',
        ),
        (
            "botocore-services",
            ["S3"],
            'tool.lambda-layers.botocore-services[0] "S3" is not a botocore service name '
            '(lowercase, e.g. "s3", "dynamodb"); did you mean "s3"?',
        ),
        ("botocore-services", ["dynamo db"], "is not a botocore service name"),
        (
            "botocore-services",
            [True],
            "tool.lambda-layers.botocore-services[0] must be a string, got true (a boolean)",
        ),
        # sub-tables of the wrong type
        (
            "layers",
            ["numpy"],
            "tool.lambda-layers.layers must be a table of layer name = [distribution "
            "names], got an array",
        ),
        (
            "functions",
            "app.handler",
            "tool.lambda-layers.functions must be a table of function tables, got "
            '"app.handler" (a string)',
        ),
        (
            "functions",
            {},
            "tool.lambda-layers.functions is empty; add a "
            "[tool.lambda-layers.functions.<name>] table",
        ),
    ],
)
def test_typical_mistakes(key: str, value: object, expected: str) -> None:
    message = only_problem({**BASE, key: value})
    assert expected in message
    assert f"tool.lambda-layers.{key}" in message


def test_error_with_nothing_in_common_lists_known_keys() -> None:
    message = only_problem({**BASE, "zzzz": 1})
    assert message.startswith("tool.lambda-layers.zzzz is not a known key; known keys are runtime,")


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("runtim", "runtime"),
        ("max_layers", "max-layers"),
        ("maxlayers", "max-layers"),
        ("external_layers", "external-layers"),
        ("extra-index-url", "extra-index-urls"),
        ("default-exclude", "default-excludes"),
        ("botocore_services", "botocore-services"),
        ("licence-info", "license-info"),
        ("function", "functions"),
    ],
)
def test_unknown_top_level_key_suggests_the_closest(typo: str, meant: str) -> None:
    assert only_problem({**BASE, typo: "x"}) == (
        f"tool.lambda-layers.{typo} is not a known key; did you mean tool.lambda-layers.{meant}?"
    )


@pytest.mark.parametrize(("typo", "meant"), [("handlr", "handler"), ("includes", "include")])
def test_unknown_function_key_suggests_the_closest(typo: str, meant: str) -> None:
    table = {**BASE, "functions": {"api": {"handler": "app.handler", typo: ["x"]}}}
    assert only_problem(table) == (
        f"tool.lambda-layers.functions.api.{typo} is not a known key; "
        f"did you mean tool.lambda-layers.functions.api.{meant}?"
    )


# --------------------------------------------------------------------------- cross-key rules


def test_max_layers_plus_external_layers_over_five_names_both_figures() -> None:
    message = only_problem({**BASE, "external-layers": [ARN_1, ARN_2], "max-layers": 4})
    assert message.startswith(
        "tool.lambda-layers.max-layers is 4, but tool.lambda-layers.external-layers"
    )
    assert "already takes 2 of Lambda's 5 layer slots (4 + 2 > 5); set it to at most 3" in message


def test_five_external_layers_leave_no_slot() -> None:
    arns = [f"arn:aws:lambda:eu-west-1:123456789012:layer:l{i}:1" for i in range(5)]
    message = only_problem({**BASE, "external-layers": arns})
    assert message.startswith("tool.lambda-layers.external-layers lists 5 layers")
    assert "keep at most 4" in message


def test_five_external_layers_and_max_layers_report_once() -> None:
    arns = [f"arn:aws:lambda:eu-west-1:123456789012:layer:l{i}:1" for i in range(6)]
    problems = problems_of({**BASE, "external-layers": arns, "max-layers": 1})
    assert len(problems) == 1
    assert "lists 6 layers" in problems[0]


def test_name_in_volatile_and_stable() -> None:
    message = only_problem({**BASE, "volatile": ["Requests"], "stable": ["requests", "idna"]})
    assert message == (
        'tool.lambda-layers.stable lists "requests", which tool.lambda-layers.volatile lists too; '
        "keep it in one"
    )


def test_package_pinned_to_two_layers() -> None:
    message = only_problem({**BASE, "layers": {"a": ["numpy"], "b": ["NumPy"]}})
    assert message == (
        'tool.lambda-layers.layers.b lists "numpy", already pinned to tool.lambda-layers.layers.a; '
        "a package belongs to one layer"
    )


def test_more_pinned_groups_than_max_layers() -> None:
    table = {**BASE, "max-layers": 2, "layers": {"a": ["x"], "b": ["y"], "c": ["z"]}}
    assert only_problem(table) == (
        "tool.lambda-layers.layers defines 3 layers, more than max-layers (2); merge groups "
        "or raise tool.lambda-layers.max-layers"
    )


def test_pinned_groups_count_against_the_default_max_layers() -> None:
    layers = {f"g{i}": [f"p{i}"] for i in range(4)}
    message = only_problem({**BASE, "external-layers": [ARN_1, ARN_2], "layers": layers})
    assert "defines 4 layers, more than max-layers (3)" in message


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ({"bad name": ["x"]}, 'tool.lambda-layers.layers."bad name" is not a valid layer name'),
        ({"x" * 65: ["x"]}, "is not a valid layer name: use 1 to 64 letters, digits, '-' or '_'"),
        (
            {"empty": []},
            "tool.lambda-layers.layers.empty is empty; list the packages this layer holds",
        ),
        (
            {"g": "numpy"},
            "tool.lambda-layers.layers.g must be a list of distribution names, got a "
            'string; write ["numpy"]',
        ),
        (
            {"g": ["num py"]},
            'tool.lambda-layers.layers.g[0] "num py" is not a valid distribution name',
        ),
    ],
)
def test_layer_group_mistakes(layers: dict[str, Any], expected: str) -> None:
    assert expected in only_problem({**BASE, "layers": layers})


def test_pinned_package_that_is_provided() -> None:
    message = only_problem({**BASE, "provided": ["boto3"], "layers": {"aws": ["Boto3"]}})
    assert message.startswith(
        'tool.lambda-layers.layers.aws pins "boto3", which tool.lambda-layers.provided'
    )


@pytest.mark.parametrize(
    ("functions", "expected"),
    [
        (
            {"api": {}},
            'tool.lambda-layers.functions.api.handler is required: the "module.function"',
        ),
        (
            {"api": {"handler": "app"}},
            'tool.lambda-layers.functions.api.handler must be "module.function"',
        ),
        (
            {"api": {"handler": ["app.h"]}},
            "tool.lambda-layers.functions.api.handler must be a string, got an array",
        ),
        (
            {"api": "app.handler"},
            "tool.lambda-layers.functions.api must be a table with handler = "
            '"module.function", got "app.handler" (a string)',
        ),
        (
            {"my api": {"handler": "app.h"}},
            'tool.lambda-layers.functions."my api" is not a valid function name',
        ),
        (
            {"api": {"handler": "app.h", "include": "app/**"}},
            "tool.lambda-layers.functions.api.include must be a list of glob patterns, "
            'got a string; write ["app/**"]',
        ),
        (
            {"api": {"handler": "app.h", "include": []}},
            "tool.lambda-layers.functions.api.include is empty, so the function would hold nothing",
        ),
        (
            {"api": {"handler": "app.h", "include": ["/app"]}},
            'tool.lambda-layers.functions.api.include[0] "/app" is absolute',
        ),
    ],
)
def test_function_table_mistakes(functions: dict[str, Any], expected: str) -> None:
    assert expected in only_problem({**BASE, "functions": functions})


def test_top_level_handler_conflicts_with_functions() -> None:
    table = {**BASE, "handler": "app.handler", "functions": {"api": {"handler": "app.api"}}}
    assert only_problem(table) == (
        "tool.lambda-layers.handler applies only when tool.lambda-layers.functions is not set; "
        "move it into a function table"
    )


# --------------------------------------------------------------------------- all at once


def test_every_problem_is_reported_in_one_error() -> None:
    table = {
        "runtim": "python3.12",
        "architecture": "amd64",
        "max-layers": 7,
        "strip": "yes",
        "provided": "boto3",
        "functions": {"api": {"handlr": "app.handler"}},
        "replan-margin": 2,
    }
    with pytest.raises(ConfigError) as info:
        parse_config(table)
    error = info.value
    assert error.exit_code == 2
    problems = error.problems
    expected_starts = [
        "tool.lambda-layers.runtim is not a known key; did you mean tool.lambda-layers.runtime?",
        "tool.lambda-layers.runtime is required",
        "tool.lambda-layers.architecture must be one of",
        "tool.lambda-layers.max-layers must be an integer from 1 to 5, got 7",
        "tool.lambda-layers.strip must be true or false",
        "tool.lambda-layers.provided must be a list",
        "tool.lambda-layers.functions.api.handlr is not a known key",
        "tool.lambda-layers.functions.api.handler is required",
        "tool.lambda-layers.replan-margin must be a number from 0 to 1, got 2",
    ]
    for start in expected_starts:
        assert sum(p.startswith(start) for p in problems) == 1, (start, problems)
    assert len(problems) == len(expected_starts)
    assert str(error).startswith(f"{len(expected_starts)} configuration errors: ")


def test_all_items_of_a_list_are_checked() -> None:
    problems = problems_of({**BASE, "provided": ["ok", "-bad", 3, "also bad!"]})
    assert [p.split(" ")[0] for p in problems] == [
        "tool.lambda-layers.provided[1]",
        "tool.lambda-layers.provided[2]",
        "tool.lambda-layers.provided[3]",
    ]


# --------------------------------------------------------------------------- files


def write(root: Path, text: str) -> Path:
    path = root / "pyproject.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_pyproject_path(tmp_path: Path) -> None:
    assert pyproject_path(tmp_path) == tmp_path / "pyproject.toml"
    assert pyproject_path(str(tmp_path)) == tmp_path / "pyproject.toml"


def test_load_config_reads_the_tool_table(tmp_path: Path) -> None:
    write(
        tmp_path,
        '[project]\nname = "demo"\n\n'
        '[tool.lambda-layers]\nruntime = "python3.13"\narchitecture = "arm64"\n'
        'provided = ["boto3"]\n\n'
        '[tool.lambda-layers.layers]\nscience = ["numpy"]\n\n'
        '[tool.lambda-layers.functions.api]\nhandler = "demo.api.handler"\n',
    )
    config = load_config(tmp_path)
    assert config.runtime == "python3.13"
    assert config.architecture == "arm64"
    assert config.provided == ("boto3",)
    assert dict(config.layers) == {"science": ("numpy",)}
    assert config.functions == (FunctionConfig("api", "demo.api.handler"),)


def test_load_config_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere" / "pyproject.toml") in str(info.value)
    assert "does not exist" in str(info.value)
    assert info.value.exit_code == 2


def test_load_config_bad_toml_quotes_path_and_toml_error(tmp_path: Path) -> None:
    path = write(tmp_path, '[tool.lambda-layers]\nruntime = "python3.12\n')
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    message = str(info.value)
    assert message.startswith(f"{path} is not valid TOML: ")
    assert "line 2" in message


def test_load_config_undecodable_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_bytes(b'[tool.lambda-layers]\nruntime = "\xff"\n')
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config(tmp_path)


@pytest.mark.parametrize(
    "text",
    ['[project]\nname = "demo"\n', "[tool.ruff]\nline-length = 100\n"],
)
def test_load_config_without_the_table(tmp_path: Path, text: str) -> None:
    write(tmp_path, text)
    with pytest.raises(
        ConfigError, match=r"add a \[tool\.lambda-layers\] table with at least runtime = "
    ):
        load_config(tmp_path)


def test_load_config_reports_problems_from_the_file(tmp_path: Path) -> None:
    write(tmp_path, '[tool.lambda-layers]\nruntime = "python3.12"\nmax-layers = true\n')
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert info.value.problems == (
        "tool.lambda-layers.max-layers must be an integer from 1 to 5, got true (a boolean)",
    )


# --------------------------------------------------------------------------- layer overhead


def test_layer_overhead_and_external_layer_sizes() -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:layer:deps:4"
    config = parse_config(
        {
            "runtime": "python3.12",
            "layer-overhead": 0,
            "external-layers": [arn],
            "external-layer-sizes": {arn: 12_000_000},
        }
    )
    assert config.layer_overhead == 0
    assert dict(config.external_layer_sizes) == {arn: 12_000_000}
    assert parse_config({"runtime": "python3.12"}).layer_overhead == 500_000
    problems = problems_of(
        {
            "runtime": "python3.12",
            "layer-overhead": -1,
            "external-layer-sizes": {arn: "12 MB"},
        }
    )
    assert any(
        p.startswith("tool.lambda-layers.layer-overhead must be an integer") for p in problems
    )
    assert any("external-layer-sizes" in p and "is not one of" in p for p in problems)


@pytest.mark.parametrize(("value", "expected"), [(True, True), (False, False), ("auto", "auto")])
def test_compile_takes_true_false_or_auto(value: object, expected: object) -> None:
    assert parse_config({**BASE, "compile": value}).compile == expected


def test_compile_margin_is_collected_with_other_problems() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({**BASE, "compile": "sometimes", "compile-margin": "5MB"})
    message = str(info.value)
    assert 'tool.lambda-layers.compile must be true, false or "auto", got "sometimes"' in message
    assert (
        'tool.lambda-layers.compile-margin must be an integer from 0 to 262144000, got "5MB"'
        in (message)
    )
