"""A real HTTP server speaking the part of the Confluent Schema Registry REST API we use.

It serves what ``confluent_kafka.schema_registry.SchemaRegistryClient`` calls to register,
look up and fetch by id (``POST /subjects/{s}/versions``, ``POST /subjects/{s}``,
``GET /schemas/ids/{id}``, ``GET /subjects[/{s}/versions[/{v}]]``), with the registry's
JSON bodies and error codes (40401 subject not found, 40403 schema not found). It may
serve HTTPS and require basic auth (401, error code 40101, without the credentials), as a
production registry does.
"""

from __future__ import annotations

import base64
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


@dataclass
class Store:
    """Schemas by id (one id per distinct schema, as the registry does) and subjects' versions."""

    schemas: dict[int, dict[str, Any]] = field(default_factory=dict)
    subjects: dict[str, list[int]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    unauthorized: int = 0  # requests refused for want of the credentials
    lock: threading.Lock = field(default_factory=threading.Lock)

    def register(self, subject: str, body: dict[str, Any]) -> int:
        with self.lock:
            schema_id = self._find(body)
            if schema_id is None:
                schema_id = max(self.schemas, default=0) + 1
                self.schemas[schema_id] = {
                    "schema": body["schema"],
                    "schemaType": body.get("schemaType", "AVRO"),
                }
            versions = self.subjects.setdefault(subject, [])
            if schema_id not in versions:
                versions.append(schema_id)
            return schema_id

    def _find(self, body: dict[str, Any]) -> int | None:
        wanted = (json.loads(body["schema"]), body.get("schemaType", "AVRO"))
        for schema_id, stored in self.schemas.items():
            if (json.loads(stored["schema"]), stored["schemaType"]) == wanted:
                return schema_id
        return None

    def version(self, subject: str, version: int, schema_id: int) -> dict[str, Any]:
        return {"subject": subject, "version": version, "id": schema_id, **self._public(schema_id)}

    def _public(self, schema_id: int) -> dict[str, Any]:
        stored = self.schemas[schema_id]
        # The registry leaves schemaType out for Avro.
        return {"schema": stored["schema"]} if stored["schemaType"] == "AVRO" else dict(stored)


class RegistryError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _subject_not_found(subject: str) -> RegistryError:
    return RegistryError(404, 40401, f"Subject '{subject}' not found.")


def route(store: Store, method: str, parts: list[str], body: Any) -> Any:
    """The answer to one request, or ``RegistryError``."""
    match method, parts:
        case "GET", ["schemas", "ids", schema_id]:
            if not schema_id.isdigit() or int(schema_id) not in store.schemas:
                raise RegistryError(404, 40403, f"Schema {schema_id} not found")
            return store._public(int(schema_id))
        case "GET", ["subjects"]:
            return sorted(store.subjects)
        case "POST", ["subjects", subject, "versions"]:
            return {"id": store.register(subject, body)}
        case "POST", ["subjects", subject]:
            if subject not in store.subjects:
                raise _subject_not_found(subject)
            found = store._find(body)
            if found is None or found not in store.subjects[subject]:
                raise RegistryError(404, 40403, "Schema not found")
            return store.version(subject, store.subjects[subject].index(found) + 1, found)
        case "GET", ["subjects", subject, "versions"]:
            if subject not in store.subjects:
                raise _subject_not_found(subject)
            return list(range(1, len(store.subjects[subject]) + 1))
        case "GET", ["subjects", subject, "versions", version]:
            versions = store.subjects.get(subject)
            if versions is None:
                raise _subject_not_found(subject)
            number = len(versions) if version == "latest" else int(version)
            if not 1 <= number <= len(versions):
                raise RegistryError(404, 40402, f"Version {version} not found.")
            return store.version(subject, number, versions[number - 1])
    raise RegistryError(404, 404, f"HTTP 404 Not Found: {method} /{'/'.join(parts)}")


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _answer(self, method: str) -> None:
        path = urlsplit(self.path).path
        parts = [unquote(part) for part in path.strip("/").split("/") if part]
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length)) if length else None
            self._authorize()
            self.server.store.requests.append((method, path))
            status, answer = 200, route(self.server.store, method, parts, body)
        except RegistryError as exc:
            status, answer = exc.status, {"error_code": exc.code, "message": exc.message}
        except (ValueError, KeyError) as exc:
            status, answer = 422, {"error_code": 42201, "message": f"Invalid schema: {exc}"}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorize(self) -> None:
        wanted = self.server.user_info
        if wanted is None:
            return
        given = self.headers.get("Authorization", "")
        if given != "Basic " + base64.b64encode(wanted.encode()).decode():
            self.server.store.unauthorized += 1
            raise RegistryError(401, 40101, "Unauthorized")

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests say what went wrong."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, store: Store, port: int, user_info: str | None) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.store = store
        self.user_info = user_info


@contextmanager
def running_registry(
    port: int = 0, *, tls: ssl.SSLContext | None = None, user_info: str | None = None
) -> Iterator[tuple[str, Store]]:
    """A registry on 127.0.0.1 (a free port unless given) for the block: its URL and its
    store. ``tls``: the server's context, for HTTPS; ``user_info``: the USER:PASSWORD every
    request must carry."""
    store = Store()
    server = _Server(store, port, user_info)
    scheme = "http"
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="schema-registry", daemon=True
    )
    thread.start()
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}", store
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
