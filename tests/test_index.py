from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
import urllib3

from hatch_lambda_layers.errors import ConfigError, FetchError, HashMismatchError
from hatch_lambda_layers.resolve.http import HttpSession, redact_url
from hatch_lambda_layers.resolve.index import IndexClient
from hatch_lambda_layers.resolve.indexconfig import (
    NO_INDEX_MESSAGE,
    IndexSettings,
    discover_index_settings,
    index_settings,
    pip_config_files,
    pip_default_index,
)
from hatch_lambda_layers.resolve.pages import (
    ACCEPT,
    IndexFile,
    parse_html_page,
    parse_json_page,
    project_of,
)
from tests import localindex
from tests.localindex import LocalIndex
from tests.wheelfactory import make_wheel

local_index = localindex.local_index  # the fixture factory

PAGE = "http://127.0.0.1:8080/simple/demo/"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HATCH_LAMBDA_LAYERS_CACHE_DIR", str(tmp_path / "default-cache"))


FAST = urllib3.Retry(total=3, backoff_factor=0, status_forcelist=(503,))


def _client(*urls: str, find_links: tuple[str, ...] = (), cache: Path | None = None) -> IndexClient:
    return IndexClient(
        IndexSettings(index_urls=urls, find_links=find_links),
        http=HttpSession(environ={}, retries=FAST, use_netrc=False),
        cache_dir=cache,
    )


# --------------------------------------------------------------------------- pure parsing


def test_parse_json_page_reads_every_field() -> None:
    document = {
        "meta": {"api-version": "1.1"},
        "name": "demo",
        "files": [
            {
                "filename": "demo-1.0-py3-none-any.whl",
                "url": "../../files/demo-1.0-py3-none-any.whl",
                "hashes": {"sha256": "AB" * 32, "md5": "00"},
                "requires-python": ">=3.9",
                "core-metadata": {"sha256": "cd" * 32},
                "upload-time": "2024-01-02T03:04:05.000000Z",
                "size": 1234,
            },
            {
                "filename": "demo-0.9-py3-none-any.whl",
                "url": "https://127.0.0.1:9/other/demo-0.9-py3-none-any.whl",
                "hashes": {},
                "yanked": "broken build",
                "dist-info-metadata": True,
            },
            {
                "filename": "demo-0.8.tar.gz",
                "url": "demo-0.8.tar.gz",
                "hashes": {"sha256": "ef" * 32},
                "yanked": True,
                "core-metadata": False,
            },
        ],
    }
    page = parse_json_page(json.dumps(document).encode(), PAGE)
    first, second, third = page.files
    assert page.name == "demo"
    assert first == IndexFile(
        filename="demo-1.0-py3-none-any.whl",
        url="http://127.0.0.1:8080/files/demo-1.0-py3-none-any.whl",
        sha256="ab" * 32,
        requires_python=">=3.9",
        metadata_sha256="cd" * 32,
        upload_time="2024-01-02T03:04:05.000000Z",
        size=1234,
    )
    assert first.metadata_url == first.url + ".metadata"
    assert (second.sha256, second.yanked, second.yanked_reason) == (None, True, "broken build")
    assert second.metadata_sha256 is True  # PEP 658's older key, no hash given
    assert second.url.startswith("https://127.0.0.1:9/other/")
    assert third.url == PAGE + "demo-0.8.tar.gz"
    assert (third.yanked, third.yanked_reason, third.metadata_sha256) == (True, None, None)
    # A mapping parses the same as its bytes.
    assert parse_json_page(document, PAGE) == page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "invalid JSON"),
        (b"[]", "expected a JSON object"),
        (b'{"meta": {"api-version": "2.0"}, "files": []}', "'2.0' is not supported"),
        (b'{"files": [{"filename": "x.whl"}]}', "without a URL"),
    ],
)
def test_parse_json_page_rejects_bad_documents(data: bytes, message: str) -> None:
    with pytest.raises(FetchError, match="malformed index page") as info:
        parse_json_page(data, PAGE)
    assert message in str(info.value)


def test_parse_html_page_reads_pep_503_658_714_attributes() -> None:
    html = f"""<!DOCTYPE html>
<html><head><meta name="pypi:repository-version" content="1.0"></head><body>
<a href="../../files/demo-1.0-py3-none-any.whl#sha256={"AA" * 32}"
   data-requires-python="&gt;=3.8,&lt;4"
   data-core-metadata="sha256={"bb" * 32}">demo-1.0-py3-none-any.whl</a>
<a href="demo-0.9-py3-none-any.whl#md5=0123" data-yanked="" data-dist-info-metadata="true">x</a>
<a href="/files/demo-0.8-py3-none-any.whl" data-yanked="security issue"
   data-dist-info-metadata="sha256={"11" * 32}" data-core-metadata="sha256={"22" * 32}"></a>
<a href="https://127.0.0.1:9/x/demo%2Bextra-0.7.tar.gz#sha256={"cc" * 32}">demo-0.7.tar.gz</a>
<a>no href is ignored</a>
</body></html>"""
    files = parse_html_page(html, PAGE).files
    assert [f.filename for f in files] == [
        "demo-1.0-py3-none-any.whl",
        "demo-0.9-py3-none-any.whl",
        "demo-0.8-py3-none-any.whl",
        "demo+extra-0.7.tar.gz",
    ]
    one, two, three, four = files
    assert one.url == "http://127.0.0.1:8080/files/demo-1.0-py3-none-any.whl"
    assert one.sha256 == "aa" * 32
    assert one.requires_python == ">=3.8,<4"
    assert one.metadata_sha256 == "bb" * 32
    assert not one.yanked
    assert two.url == PAGE + "demo-0.9-py3-none-any.whl"
    assert two.sha256 is None  # only sha256 fragments count
    assert (two.yanked, two.yanked_reason, two.metadata_sha256) == (True, None, True)
    assert three.url == "http://127.0.0.1:8080/files/demo-0.8-py3-none-any.whl"
    assert (three.yanked_reason, three.metadata_sha256) == ("security issue", "22" * 32)
    assert four.sha256 == "cc" * 32
    assert four.metadata_sha256 is None


def test_parse_html_page_honours_base_href_and_rejects_newer_api() -> None:
    html = '<base href="https://127.0.0.1:9/mirror/"><a href="demo-1.0-py3-none-any.whl">d</a>'
    (file,) = parse_html_page(html, PAGE).files
    assert file.url == "https://127.0.0.1:9/mirror/demo-1.0-py3-none-any.whl"
    newer = '<meta name="pypi:repository-version" content="2.0"><a href="a.whl">a</a>'
    with pytest.raises(FetchError, match="not supported"):
        parse_html_page(newer, PAGE)


def test_project_of() -> None:
    assert project_of("Foo_Bar-1.0-py3-none-any.whl") == "foo-bar"
    assert project_of("foo.bar-2.0.tar.gz") == "foo-bar"
    assert project_of("README.txt") is None


def test_redact_url() -> None:
    assert redact_url("https://u:s3cret@127.0.0.1/simple/") == "https://u:****@127.0.0.1/simple/"
    assert redact_url("https://token@127.0.0.1/simple/") == "https://****@127.0.0.1/simple/"
    assert redact_url("https://127.0.0.1/simple/") == "https://127.0.0.1/simple/"


# --------------------------------------------------------------------------- client over HTTP


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    directory = tmp_path / "wheels"
    directory.mkdir()
    make_wheel(directory, "demo", "1.0", {"demo/__init__.py": "x = 1\n"}, requires_dist=["dep>=1"])
    make_wheel(directory, "demo", "2.0", {"demo/__init__.py": "x = 2\n"})
    make_wheel(directory, "other", "1.0", {"other.py": ""})
    (directory / "demo-2.0.tar.gz").write_bytes(b"not really an sdist")
    return directory


@pytest.mark.parametrize("page_format", ["json", "html"])
def test_client_reads_both_formats_alike(
    wheels: Path, local_index: Callable[..., LocalIndex], page_format: str, tmp_path: Path
) -> None:
    index = local_index(wheels, format=page_format)
    client = _client(index.url, cache=tmp_path / "cache")
    page = client.project_page("Demo")
    by_name = {f.filename: f for f in page.files}
    assert set(by_name) == {
        "demo-1.0-py3-none-any.whl",
        "demo-2.0-py3-none-any.whl",
        "demo-2.0.tar.gz",
    }
    wheel = by_name["demo-1.0-py3-none-any.whl"]
    assert wheel.url == index.file_url(wheel.filename)
    assert wheel.sha256 == hashlib.sha256((wheels / wheel.filename).read_bytes()).hexdigest()
    assert isinstance(wheel.metadata_sha256, str)
    # The page was asked for once, under the normalised name, with JSON preferred.
    assert index.paths("/simple/") == ["/simple/demo/"]
    assert index.requests[0][1]["accept"] == ACCEPT
    client.project_page("demo")
    assert index.paths("/simple/") == ["/simple/demo/"]  # memoised

    text = client.metadata(wheel)
    assert "Requires-Dist: dep>=1" in text
    assert index.paths("/files/") == ["/files/demo-1.0-py3-none-any.whl.metadata"]


def test_client_reads_metadata_from_the_wheel_without_pep_658(
    wheels: Path, local_index: Callable[..., LocalIndex], tmp_path: Path
) -> None:
    index = local_index(wheels, metadata=False)
    client = _client(index.url, cache=tmp_path / "cache")
    wheel = next(f for f in client.project_page("demo").files if f.filename.startswith("demo-1.0"))
    assert wheel.metadata_sha256 is None
    assert "Name: demo" in client.metadata(wheel)
    assert index.paths("/files/") == ["/files/demo-1.0-py3-none-any.whl"]


def test_client_refuses_metadata_with_a_wrong_hash(
    wheels: Path, local_index: Callable[..., LocalIndex], tmp_path: Path
) -> None:
    index = local_index(wheels)
    client = _client(index.url, cache=tmp_path / "cache")
    url = index.file_url("demo-1.0-py3-none-any.whl")
    forged = IndexFile("demo-1.0-py3-none-any.whl", url, metadata_sha256="00" * 32)
    with pytest.raises(HashMismatchError, match=r"demo-1\.0-py3-none-any\.whl\.metadata"):
        client.metadata(forged)


def test_client_merges_indexes_and_find_links_first_wins(
    wheels: Path, local_index: Callable[..., LocalIndex], tmp_path: Path
) -> None:
    second_dir = tmp_path / "second"
    second_dir.mkdir()
    make_wheel(second_dir, "demo", "2.0", {"demo/__init__.py": "different bytes\n"})
    make_wheel(second_dir, "demo", "3.0", {"demo/__init__.py": ""})
    links_dir = tmp_path / "links"
    links_dir.mkdir()
    local_wheel = make_wheel(links_dir, "demo", "4.0", {"demo/__init__.py": ""})
    make_wheel(links_dir, "unrelated", "1.0", {"u.py": ""})

    first = local_index(wheels)
    second = local_index(second_dir, format="html")
    client = _client(first.url, second.url, find_links=(str(links_dir),))
    files = {f.filename: f for f in client.project_page("demo").files}
    assert sorted(files) == [
        "demo-1.0-py3-none-any.whl",
        "demo-2.0-py3-none-any.whl",
        "demo-2.0.tar.gz",
        "demo-3.0-py3-none-any.whl",
        "demo-4.0-py3-none-any.whl",
    ]
    two = files["demo-2.0-py3-none-any.whl"]
    assert two.url == first.file_url(two.filename)  # the first index wins
    four = files["demo-4.0-py3-none-any.whl"]
    assert four.url == local_wheel.resolve().as_uri()
    assert four.sha256 == hashlib.sha256(local_wheel.read_bytes()).hexdigest()
    assert "Name: demo" in client.metadata(four)


def test_client_missing_project_is_empty_and_server_errors_are_retried(
    wheels: Path, local_index: Callable[..., LocalIndex]
) -> None:
    index = local_index(wheels)
    client = _client(index.url)
    assert client.project_page("nothing-here").files == ()
    index.fail_next["/simple/demo/"] = 2
    assert len(client.project_page("demo").files) == 3
    assert index.paths("/simple/demo/") == ["/simple/demo/"] * 3


def test_client_gives_up_on_persistent_errors_with_a_clear_message(
    wheels: Path, local_index: Callable[..., LocalIndex]
) -> None:
    index = local_index(wheels)
    index.fail_next["/simple/demo/"] = 100
    with pytest.raises(FetchError, match=re.escape(f"could not fetch {index.url}demo/")):
        _client(index.url).project_page("demo")


def test_client_sends_basic_auth_and_never_shows_the_password(
    wheels: Path, local_index: Callable[..., LocalIndex], tmp_path: Path
) -> None:
    index = local_index(wheels, auth=("alice", "s3cr:et"), relative_urls=False)
    client = _client(index.url_with_auth(), cache=tmp_path / "cache")
    files = client.project_page("demo").files
    assert len(files) == 3
    # The file URLs on the page carry no credentials; the client still authenticates them.
    wheel = next(f for f in files if f.filename == "demo-1.0-py3-none-any.whl")
    assert "@" not in wheel.url
    assert "Name: demo" in client.metadata(wheel)
    assert "s3cr" not in client.describe()
    assert "alice:****@" in client.describe()

    wrong = _client(index.url_with_auth().replace("s3cr%3Aet", "nope"))
    with pytest.raises(FetchError) as info:
        wrong.project_page("demo")
    assert "HTTP 401" in str(info.value)
    assert "nope" not in str(info.value)


def test_client_reads_a_file_index_and_a_local_directory_index(tmp_path: Path) -> None:
    root = tmp_path / "simple"
    (root / "demo").mkdir(parents=True)
    wheel = make_wheel(tmp_path, "demo", "1.0", {"demo/__init__.py": ""})
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (root / "demo" / "index.html").write_text(
        f'<a href="../../{wheel.name}#sha256={digest}">{wheel.name}</a>', encoding="utf-8"
    )
    for location in (root.as_uri() + "/", str(root)):
        (file,) = _client(location, cache=tmp_path / "cache").project_page("demo").files
        assert file.url == wheel.resolve().as_uri()
        assert file.sha256 == digest
    assert _client(root.as_uri()).project_page("missing").files == ()


# --------------------------------------------------------------------------- indexconfig

LOCAL = "http://127.0.0.1:1/simple/"


def _settings(
    config: Mapping[str, object] | None = None,
    environ: dict[str, str] | None = None,
    pip: tuple[str, ...] = (),
    uv: dict[str, object] | None = None,
    default: str | None = "http://127.0.0.1:9/default/",
) -> IndexSettings:
    return index_settings(config, environ or {}, pip, uv, default_index=lambda: default)


def test_config_values_win_over_everything() -> None:
    settings = _settings(
        {"index-url": "http://127.0.0.1:1/cfg/", "extra-index-urls": ["http://127.0.0.1:1/x/"]},
        {"PIP_INDEX_URL": "http://127.0.0.1:1/pip/", "UV_DEFAULT_INDEX": "http://127.0.0.1:1/uv/"},
        ("[global]\nindex-url = http://127.0.0.1:1/conf/\n",),
    )
    assert settings == IndexSettings(("http://127.0.0.1:1/cfg/", "http://127.0.0.1:1/x/"), ())


def test_environment_order_uv_then_pip() -> None:
    env = {
        "UV_DEFAULT_INDEX": "http://127.0.0.1:1/uv/",
        "PIP_INDEX_URL": "http://127.0.0.1:1/pip/",
        "PIP_EXTRA_INDEX_URL": "http://127.0.0.1:1/e1/  http://127.0.0.1:1/e2/",
        "PIP_FIND_LINKS": "/wheels/a /wheels/b",
    }
    settings = _settings(environ=env)
    assert settings.index_urls == (
        "http://127.0.0.1:1/uv/",
        "http://127.0.0.1:1/e1/",
        "http://127.0.0.1:1/e2/",
    )
    assert settings.find_links == ("/wheels/a", "/wheels/b")
    # Without uv's variables pip's primary index applies.
    del env["UV_DEFAULT_INDEX"]
    assert _settings(environ=env).index_urls[0] == "http://127.0.0.1:1/pip/"


def test_uv_index_names_pick_up_credentials_from_the_environment() -> None:
    env = {
        "UV_INDEX": "internal=http://127.0.0.1:1/int/ http://127.0.0.1:1/plain/",
        "UV_INDEX_INTERNAL_USERNAME": "bob",
        "UV_INDEX_INTERNAL_PASSWORD": "p@ss",
        "UV_FIND_LINKS": "/a,/b",
    }
    settings = _settings(environ=env)
    assert settings.index_urls == (
        "http://127.0.0.1:9/default/",
        "http://bob:p%40ss@127.0.0.1:1/int/",
        "http://127.0.0.1:1/plain/",
    )
    assert settings.find_links == ("/a", "/b")
    assert "p%40ss" not in settings.describe()


def test_pip_conf_texts_install_beats_global_and_later_files_win() -> None:
    system = (
        "[global]\n"
        "index-url = http://127.0.0.1:1/system/\n"
        "extra-index-url =\n    http://127.0.0.1:1/e1/\n    http://127.0.0.1:1/e2/\n"
        "find-links = /opt/wheels\n"
    )
    user = "[global]\nindex_url = http://127.0.0.1:1/user/\n"
    site = "[install]\nindex-url = http://127.0.0.1:1/install/\n"
    settings = _settings(pip=(system, user))
    assert settings.index_urls == (
        "http://127.0.0.1:1/user/",
        "http://127.0.0.1:1/e1/",
        "http://127.0.0.1:1/e2/",
    )
    assert settings.find_links == ("/opt/wheels",)
    assert _settings(pip=(site, user)).index_urls[0] == "http://127.0.0.1:1/install/"
    # The environment beats the files.
    env = {"PIP_INDEX_URL": "http://127.0.0.1:1/env/"}
    assert _settings(environ=env, pip=(system,)).index_urls[0] == "http://127.0.0.1:1/env/"


def test_broken_pip_conf_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cannot read pip configuration"):
        _settings(pip=("index-url = no section\n",))


def test_uv_configuration_indexes() -> None:
    uv = {
        "index": [
            {"name": "first", "url": "http://127.0.0.1:1/first/"},
            {"name": "pinned", "url": "http://127.0.0.1:1/pinned/", "explicit": True},
            {"name": "main", "url": "http://127.0.0.1:1/main/", "default": True},
        ],
        "extra-index-url": ["http://127.0.0.1:1/extra/"],
        "find-links": ["/w"],
    }
    settings = _settings(uv=uv)
    assert settings.index_urls == (
        "http://127.0.0.1:1/main/",
        "http://127.0.0.1:1/first/",
        "http://127.0.0.1:1/extra/",
    )
    assert settings.find_links == ("/w",)
    # pip's files come before uv's.
    pip = ("[global]\nindex-url = http://127.0.0.1:1/pip/\n",)
    assert _settings(pip=pip, uv=uv).index_urls[0] == "http://127.0.0.1:1/pip/"


def test_default_index_comes_from_pip_or_fails_clearly() -> None:
    assert _settings().index_urls == ("http://127.0.0.1:9/default/",)
    with pytest.raises(ConfigError) as info:
        _settings(default=None)
    assert str(info.value) == NO_INDEX_MESSAGE
    # Extra indexes alone are enough.
    extra = {"extra-index-urls": ["http://127.0.0.1:1/x/"]}
    assert _settings(extra, default=None).index_urls == ("http://127.0.0.1:1/x/",)


def test_no_index_keeps_find_links_only() -> None:
    env = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "/w", "PIP_INDEX_URL": LOCAL}
    assert _settings(environ=env) == IndexSettings((), ("/w",))
    # tool.lambda-layers still decides for itself.
    assert _settings({"index-url": LOCAL}, env).index_urls == (LOCAL,)
    with pytest.raises(ConfigError):
        _settings(environ={"UV_NO_INDEX": "true"})


def test_pip_default_index_is_an_https_url() -> None:
    url = pip_default_index()
    if url is None:
        pytest.skip("pip is not importable here")
    assert url.startswith("https://")


@dataclass(frozen=True)
class _Config:
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()


def test_discover_reads_files_and_anchors_relative_paths(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".config" / "pip").mkdir(parents=True)
    (home / ".config" / "pip" / "pip.conf").write_text(
        "[global]\nindex-url = http://127.0.0.1:1/user-pip/\n", encoding="utf-8"
    )
    project = tmp_path / "project"
    project.mkdir()
    (project / "uv.toml").write_text(
        'extra-index-url = ["http://127.0.0.1:1/uv-extra/"]\nfind-links = ["vendor"]\n',
        encoding="utf-8",
    )
    env = {"HOME": str(home), "XDG_CONFIG_DIRS": str(tmp_path / "nothing")}
    settings = discover_index_settings(_Config(), project, env)
    assert settings.index_urls == ("http://127.0.0.1:1/user-pip/", "http://127.0.0.1:1/uv-extra/")
    assert settings.find_links == (str(project / "vendor"),)

    config = _Config(find_links=("wheels",))
    assert discover_index_settings(config, project, env).find_links == (str(project / "wheels"),)

    pip_file = tmp_path / "pip.ini"
    pip_file.write_text("[global]\nindex-url = http://127.0.0.1:1/env-file/\n", encoding="utf-8")
    env_file = {**env, "PIP_CONFIG_FILE": str(pip_file)}
    assert pip_config_files(env_file)[-1] == pip_file
    assert home / ".config" / "pip" / "pip.conf" not in pip_config_files(env_file)
    settings = discover_index_settings(_Config(), project, env_file)
    assert settings.index_urls[0] == "http://127.0.0.1:1/env-file/"
    assert pip_config_files({**env, "PIP_CONFIG_FILE": os.devnull}) == []

    (project / "uv.toml").write_text("index-url = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="index-url"):
        discover_index_settings(_Config(), project, {**env, "PIP_CONFIG_FILE": os.devnull})


def test_relative_links_resolve_against_the_page_after_redirects(
    wheels: Path, local_index: Callable[..., LocalIndex]
) -> None:
    index = local_index(wheels, redirect_from="/old/deep/")
    files = _client(f"{index.root}/old/deep/").project_page("demo").files
    assert {f.url for f in files} == {index.file_url(f.filename) for f in files}
    assert index.paths("/")[:2] == ["/old/deep/demo/", "/simple/demo/"]
    # Pages are asked for compressed; wheels are not (their bytes are what the hash covers).
    assert "gzip" in index.requests[1][1].get("accept-encoding", "")


def test_netrc_credentials_are_used_for_hosts_without_userinfo(
    wheels: Path, local_index: Callable[..., LocalIndex], tmp_path: Path
) -> None:
    index = local_index(wheels, auth=("carol", "from-netrc"))
    netrc_file = tmp_path / "netrc"
    netrc_file.write_text("machine 127.0.0.1 login carol password from-netrc\n", encoding="utf-8")
    netrc_file.chmod(0o600)
    http = HttpSession(environ={"NETRC": str(netrc_file)}, retries=FAST)
    client = IndexClient(IndexSettings((index.url,)), http=http)
    assert len(client.project_page("demo").files) == 3


def test_proxy_environment_is_honoured_with_no_proxy_exceptions() -> None:
    env = {"HTTPS_PROXY": "http://u:p@127.0.0.1:3128", "no_proxy": "127.0.0.1,.internal.test"}
    http = HttpSession(environ=env, use_netrc=False)
    proxied = http._manager("https", "mirror.corp.test")
    assert isinstance(proxied, urllib3.ProxyManager)
    assert proxied.proxy is not None
    assert proxied.proxy.auth is None
    assert "proxy-authorization" in {k.lower() for k in proxied.proxy_headers}
    assert not isinstance(http._manager("https", "127.0.0.1"), urllib3.ProxyManager)
    assert not isinstance(http._manager("https", "pkgs.internal.test"), urllib3.ProxyManager)
    assert not isinstance(http._manager("http", "mirror.corp.test"), urllib3.ProxyManager)
    assert http._manager("https", "other.corp.test") is proxied  # one shared manager
