"""Exit 0 when the PostgreSQL and Redis of the second test leg answer; say which does not."""

import sys
from urllib.parse import urlsplit

import psycopg
import redis


def main(database_url: str, broker_url: str) -> int:
    ok = True
    try:
        psycopg.connect(database_url, connect_timeout=3).close()
    except psycopg.Error as exc:
        print(f"PostgreSQL at {urlsplit(database_url).netloc} is not reachable: {exc}")
        ok = False
    try:
        redis.Redis.from_url(broker_url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        print(f"Redis at {urlsplit(broker_url).netloc} is not reachable: {exc}")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
