"""The app's cache (Flask-Caching), for what is costly to count and may lag a little: a
report's figures (REPORT_CACHE_SECONDS) and the start page's whole-table counts (a minute).

Where it lives: in Redis with REDIS_URL, shared by every web worker; else in files, shared by
the workers of one machine, one folder per database; in memory per app in tests (they reuse
one database for many programmes, so nothing may outlive the app); nowhere with
REPORT_CACHE_SECONDS=0.

A cache is a help, never a need: with Redis gone, reads miss and writes are dropped (and
logged), so the pages count afresh instead of failing, as the rate limits fall back to memory.
"""

import hashlib
import logging
from pathlib import Path

from flask import Flask, current_app
from flask_caching import Cache
from flask_caching.backends import RedisCache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class ForgivingRedisCache(RedisCache):
    def get(self, key):
        try:
            return super().get(key)
        except RedisError as error:
            log.warning("cache unreachable, counting afresh: %s", error)
            return None

    def _write(self, method, *args, failed=False):
        try:
            return method(*args)
        except RedisError as error:
            log.warning("cache unreachable, nothing kept: %s", error)
            return failed

    def set(self, key, value, timeout=None):
        return self._write(super().set, key, value, timeout)

    def add(self, key, value, timeout=None):
        # "Added": whoever asks (a worker taking the computing lock) goes on by itself
        # rather than waiting for a colleague it cannot hear from.
        return self._write(super().add, key, value, timeout, failed=True)

    def delete(self, key):
        return self._write(super().delete, key)

    def clear(self):
        return self._write(super().clear)


def _settings(app: Flask) -> dict:
    config = app.config
    if not config["REPORT_CACHE_SECONDS"]:
        return {"CACHE_TYPE": "NullCache", "CACHE_NO_NULL_WARNING": True}
    if config["REDIS_URL"]:
        return {"CACHE_TYPE": f"{__name__}.ForgivingRedisCache",
                "CACHE_REDIS_URL": config["REDIS_URL"]}
    if app.testing and not config.get("REPORT_CACHE_DIR"):
        return {"CACHE_TYPE": "SimpleCache"}
    folder = config.get("REPORT_CACHE_DIR") or Path(app.instance_path) / "report-cache" / \
        hashlib.sha256(config["DATABASE_URL"].encode()).hexdigest()[:16]
    return {"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": str(folder)}


def get_cache() -> Cache:
    return current_app.extensions["vanringen.cache"]


def init_app(app: Flask) -> None:
    cache = Cache()
    cache.init_app(app, config=_settings(app) | {
        "CACHE_DEFAULT_TIMEOUT": app.config["REPORT_CACHE_SECONDS"],
        "CACHE_KEY_PREFIX": "vanringen:"})
    app.extensions["vanringen.cache"] = cache
