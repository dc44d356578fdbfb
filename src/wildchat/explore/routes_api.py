"""The explorer's JSON API (read-only; every route is a GET).

Routes run as plain ``def`` functions, so FastAPI calls the (blocking)
index in its thread pool.  Every value leaving here goes through
:func:`to_jsonable`: timestamps become ISO 8601 strings and non-finite
floats ``null``, so no record can make the encoder fail with a 500.

The map is the one large response (100K+ points): it is encoded once per
dataset with rounded coordinates, kept for ``map_cache_s`` seconds, and sent
as raw bytes (gzip-compressed by the app's middleware).
"""

from __future__ import annotations

import dataclasses
import gzip
import math
import threading
import time
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from wildchat.explore.model import MAX_LIMIT, ExploreIndex, MapPoints, QueryError, SearchHit
from wildchat.explore.settings import ExploreSettings

__all__ = ["MAX_PARAM_CHARS", "MapCache", "encode_map", "hit_json", "router", "to_jsonable"]

#: Longest value any query parameter may have (a search is not a document).
MAX_PARAM_CHARS = 2000
#: Parameters of /api/map/hits that are not search filters.
_PAGE_PARAMS = ("limit", "cursor", "sort")

router = APIRouter(prefix="/api")


def _index(request: Request) -> ExploreIndex:
    index: ExploreIndex = request.app.state.explore_index
    return index


def _settings(request: Request) -> ExploreSettings:
    settings: ExploreSettings = request.app.state.explore_settings
    return settings


Index = Annotated[ExploreIndex, Depends(_index)]
Settings = Annotated[ExploreSettings, Depends(_settings)]


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON types: dataclasses, datetimes, NaN and bytes handled."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _json(value: Any, status_code: int = 200) -> Response:
    body = orjson.dumps(to_jsonable(value))
    return Response(body, status_code=status_code, media_type="application/json")


def hit_json(hit: SearchHit) -> dict[str, Any]:
    """One search hit as the API returns it (highlights as ``[start, end]`` pairs)."""
    out: dict[str, Any] = to_jsonable(hit)
    return out


def _search_params(request: Request, *, drop: tuple[str, ...] = ()) -> dict[str, str]:
    """The query string as a flat mapping (last value wins); over-long values and NULs are a 400."""
    params: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if len(value) > MAX_PARAM_CHARS:
            raise QueryError(f"{key}: at most {MAX_PARAM_CHARS} characters")
        if "\x00" in value:
            raise QueryError(f"{key}: contains a NUL character")
        if key not in drop:
            params[key] = value
    return params


def _path_id(value: str, what: str) -> str:
    """A conversation id or hashed IP from the path: bounded, no NUL (PostgreSQL refuses it)."""
    if len(value) > MAX_PARAM_CHARS:
        raise QueryError(f"{what} too long")
    if "\x00" in value:
        raise QueryError(f"{what} contains a NUL character")
    return value


def _int_param(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise QueryError(f"{name}: expected an integer, got {raw[:40]!r}") from None
    if not low <= value <= high:
        raise QueryError(f"{name}: must be between {low} and {high}")
    return value


@router.get("/search")
def search(request: Request, index: Index) -> Response:
    """Matching conversations: ``{"total", "results", "next_cursor"}``."""
    from wildchat.explore.query import parse_search_params

    query = parse_search_params(_search_params(request))
    page = index.search(query)
    return _json(
        {"total": page.total, "results": [hit_json(h) for h in page.results], "next_cursor": page.next_cursor}
    )


@router.get("/conversation/{conversation_id:path}")
def conversation(conversation_id: str, index: Index) -> Response:
    """One conversation in the release schema (plus ``dataset``)."""
    return _json(index.conversation(_path_id(conversation_id, "conversation id")))


@router.get("/user/{hashed_ip:path}")
def user(hashed_ip: str, request: Request, index: Index) -> Response:
    """Every conversation of one hashed IP, oldest first, paged by ``cursor``."""
    params = _search_params(request)
    hashed_ip = _path_id(hashed_ip, "hashed IP")
    limit = _int_param(params.get("limit"), "limit", 100, 1, MAX_LIMIT)
    page = index.user(hashed_ip, limit=limit, cursor=params.get("cursor") or None)
    return _json(
        {
            "hashed_ip": page.hashed_ip,
            "total": page.total,
            "conversations": [hit_json(h) for h in page.conversations],
            "next_cursor": page.next_cursor,
        }
    )


@router.get("/datasets")
def datasets(index: Index) -> Response:
    """Loaded datasets with sizes and the filters their data can answer."""
    return _json({"datasets": index.datasets()})


@router.get("/facets")
def facets(index: Index) -> Response:
    """Distinct values for the dropdown filters."""
    return _json(index.facets())


class MapCache:
    """Encoded map responses per dataset, plain and gzip-compressed, kept ``ttl_s`` seconds.

    Compressing 100K+ points costs more than encoding them, so the
    compressed body is cached too and sent as is (thread-safe).
    """

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._items: dict[str | None, tuple[float, bytes, bytes]] = {}

    def get(self, key: str | None) -> tuple[bytes, bytes] | None:
        """``(plain, gzipped)`` for ``key`` while fresh, else ``None``."""
        with self._lock:
            item = self._items.get(key)
            if item is None or time.monotonic() - item[0] > self.ttl_s:
                return None
            return item[1], item[2]

    def put(self, key: str | None, body: bytes) -> tuple[bytes, bytes]:
        """Store ``body`` (and its gzip form); returns both."""
        pair = (body, gzip.compress(body, compresslevel=6))
        if self.ttl_s > 0:
            with self._lock:
                self._items[key] = (time.monotonic(), *pair)
        return pair


def encode_map(points: MapPoints, decimals: int) -> bytes:
    """Column-wise compact JSON of ``points``; points with non-finite coordinates are dropped."""
    keep = [i for i in range(len(points.ids)) if math.isfinite(points.x[i]) and math.isfinite(points.y[i])]
    x = [round(points.x[i], decimals) for i in keep]
    y = [round(points.y[i], decimals) for i in keep]
    data = {
        "count": len(keep),
        "ids": [points.ids[i] for i in keep],
        "x": x,
        "y": y,
        "dataset": [points.dataset[i] for i in keep],
        "language": [points.language[i] for i in keep],
        "datasets": points.datasets,
        "languages": points.languages,
        "model": points.model,
        "bounds": [min(x), min(y), max(x), max(y)] if keep else None,
        "extra": to_jsonable(points.extra),
    }
    return orjson.dumps(data)


@router.get("/map")
def map_points(request: Request, index: Index, settings: Settings) -> Response:
    """All map points (optionally of one ``dataset``), column-wise."""
    params = _search_params(request)
    dataset = params.get("dataset") or None
    cache: MapCache = request.app.state.map_cache
    pair = cache.get(dataset)
    if pair is None:
        points = index.map_points(dataset=dataset, limit=settings.map_max_points)
        pair = cache.put(dataset, encode_map(points, settings.map_decimals))
    headers = {"cache-control": "no-cache", "vary": "accept-encoding"}
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        headers["content-encoding"] = "gzip"
        return Response(pair[1], media_type="application/json", headers=headers)
    return Response(pair[0], media_type="application/json", headers=headers)


@router.get("/map/hits")
def map_hits(request: Request, index: Index, settings: Settings) -> Response:
    """Point ids of the conversations matching the search parameters (for highlighting)."""
    from wildchat.explore.query import parse_search_params

    query = parse_search_params(_search_params(request, drop=_PAGE_PARAMS))
    ids = index.map_hits(query, limit=settings.map_hits_limit)
    return _json({"count": len(ids), "ids": ids})


@router.get("/map/point/{map_id}")
def map_point(map_id: str, index: Index) -> Response:
    """The text of one point (first user turn), fetched when the page hovers it."""
    value = _int_param(map_id, "point id", 0, 0, 2**63 - 1)
    return _json(index.map_point(value))
