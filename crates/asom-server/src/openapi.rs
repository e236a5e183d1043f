//! The OpenAPI 3.1 document of the server, generated from the code: every
//! [`Operation`]'s path, summary, request and response schema (JSON Schema
//! 2020-12 from `schemars`), plus the ledger's read paths.
//!
//! `docs/openapi.json` is this document, committed; a test fails when the
//! two differ (`ASOM_UPDATE_OPENAPI=1 cargo test -p asom-server --test
//! openapi` rewrites it). The server also serves it at `GET /openapi.json`.

use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::api::{ApiError, Operation};

/// Where schemas live in the document.
const SCHEMAS: &str = "/components/schemas";

fn problem_responses() -> Value {
    let mut out = Map::new();
    for e in [
        ApiError::Invalid(String::new()),
        ApiError::Unauthenticated(String::new()),
        ApiError::Refused(String::new()),
        ApiError::NotFound(String::new()),
        ApiError::Conflict(String::new()),
        ApiError::TooLarge(String::new()),
        ApiError::UnsupportedMediaType(String::new()),
        ApiError::Rule(String::new()),
        ApiError::Unavailable(String::new()),
    ] {
        out.insert(
            e.status().to_string(),
            json!({"$ref": format!("#/components/responses/{}", e.kind())}),
        );
    }
    Value::Object(out)
}

fn operation<O: Operation>(generator: &mut SchemaGenerator) -> (String, Value) {
    let request = generator.subschema_for::<O>();
    let response = generator.subschema_for::<O::Output>();
    let id = O::PATH.trim_start_matches('/').replace('/', "_");
    let mut responses = problem_responses();
    responses["200"] = json!({
        "description": "Done; the body is the answer.",
        "content": {"application/json": {"schema": response}}
    });
    (
        format!("/t/{{tenant}}/v1{}", O::PATH),
        json!({"post": {
            "operationId": id,
            "summary": O::SUMMARY,
            "tags": ["operations"],
            "security": [{"bearer": []}],
            "parameters": [
                {"$ref": "#/components/parameters/tenant"},
                {"$ref": "#/components/parameters/idempotency_key"}
            ],
            "requestBody": {
                "required": true,
                "content": {"application/json": {"schema": request}}
            },
            "responses": responses
        }}),
    )
}

macro_rules! add_operations {
    ($generator:expr, $paths:expr, [$($op:ty),+ $(,)?]) => {{
        $(
            let (path, item) = operation::<$op>($generator);
            $paths.insert(path, item);
        )+
    }};
}

fn text(description: &str, media: &str) -> Value {
    json!({"description": description, "content": {media: {"schema": {"type": "string"}}}})
}

fn ledger_paths(paths: &mut Map<String, Value>) {
    let not_found = json!({"$ref": "#/components/responses/not-found"});
    let invalid = json!({"$ref": "#/components/responses/invalid"});
    paths.insert(
        "/t/{tenant}/checkpoint".into(),
        json!({"get": {
            "operationId": "checkpoint", "tags": ["ledger"],
            "summary": "The latest signed checkpoint (C2SP tlog-checkpoint)",
            "parameters": [{"$ref": "#/components/parameters/tenant"}],
            "responses": {"200": text("The signed note.", "text/plain"), "404": not_found}
        }}),
    );
    paths.insert("/t/{tenant}/tile/{path}".into(), json!({"get": {
        "operationId": "tile", "tags": ["ledger"],
        "summary": "A hash tile `<L>/<N>[.p/<W>]` or an entry bundle `entries/<N>[.p/<W>]` (C2SP tlog-tiles); entry bundles need a token of the tenant unless the server is a public mirror",
        "parameters": [
            {"$ref": "#/components/parameters/tenant"},
            {"name": "path", "in": "path", "required": true, "schema": {"type": "string"},
             "description": "The tile path, e.g. `0/x001/234` or `entries/000.p/5`."}
        ],
        "responses": {
            "200": {"description": "The tile's bytes.", "content": {"application/octet-stream": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}},
            "400": invalid, "401": {"$ref": "#/components/responses/unauthenticated"}, "404": not_found
        }
    }}));
    paths.insert("/t/{tenant}/receipt/{index}".into(), json!({"get": {
        "operationId": "receipt", "tags": ["ledger"],
        "summary": "An entry's inclusion receipt (C2SP tlog-proof@v1)",
        "parameters": [
            {"$ref": "#/components/parameters/tenant"},
            {"name": "index", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 0}},
            {"name": "size", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1},
             "description": "Prove against the checkpoint of this size (default: the latest)."}
        ],
        "responses": {"200": text("The receipt.", "text/plain"), "404": not_found}
    }}));
    paths.insert("/t/{tenant}/consistency".into(), json!({"get": {
        "operationId": "consistency", "tags": ["ledger"],
        "summary": "A consistency proof between two tree sizes (RFC 9162), base64, one hash a line",
        "parameters": [
            {"$ref": "#/components/parameters/tenant"},
            {"name": "from", "in": "query", "required": true, "schema": {"type": "integer", "minimum": 0}},
            {"name": "to", "in": "query", "required": true, "schema": {"type": "integer", "minimum": 0}}
        ],
        "responses": {"200": text("The proof.", "text/plain"), "400": invalid, "404": not_found}
    }}));
    for (path, id, summary) in [
        ("/healthz", "healthz", "The process answers"),
        (
            "/readyz",
            "readyz",
            "The store answers and every tenant's checkpoint reads",
        ),
        (
            "/metrics",
            "metrics",
            "Prometheus metrics (OpenMetrics text)",
        ),
        ("/openapi.json", "openapi", "This document"),
    ] {
        paths.insert(
            path.into(),
            json!({"get": {
                "operationId": id, "tags": ["service"], "summary": summary,
                "responses": {"200": {"description": "OK"}}
            }}),
        );
    }
}

/// The whole document.
#[must_use]
pub fn document() -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = SCHEMAS.into();
    let mut generator = settings.into_generator();
    let mut paths = Map::new();
    crate::with_operations!(add_operations!(&mut generator, paths));
    ledger_paths(&mut paths);
    let mut schemas: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
    schemas.insert(
        "Problem".into(),
        json!({
            "type": "object",
            "description": "An RFC 9457 problem document. `type` is `urn:asom:problem:<kind>`; `exit_code` is what the CLI exits with for it.",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string", "format": "uri"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "exit_code": {"type": "integer"}
            }
        }),
    );
    let mut responses = Map::new();
    for e in [
        ApiError::Invalid(String::new()),
        ApiError::Unauthenticated(String::new()),
        ApiError::Refused(String::new()),
        ApiError::NotFound(String::new()),
        ApiError::Conflict(String::new()),
        ApiError::TooLarge(String::new()),
        ApiError::UnsupportedMediaType(String::new()),
        ApiError::Rule(String::new()),
        ApiError::Unavailable(String::new()),
    ] {
        responses.insert(
            e.kind().into(),
            json!({
                "description": format!("{} (`{}`)", e.status(), e.type_uri()),
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
            }),
        );
    }
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "asom",
            "version": env!("CARGO_PKG_VERSION"),
            "summary": "Release governance: gates that block, a ledger that proves.",
            "description": "Every operation is `POST /t/{tenant}/v1/<operation>` with a JSON body and a bearer token; it runs the same code as the `asom` command of the same name. Errors are RFC 9457 problem documents. The ledger is served as C2SP tlog-tiles.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}
        },
        "servers": [{"url": "http://127.0.0.1:8080", "description": "asom serve's default address"}],
        "tags": [
            {"name": "operations", "description": "What the CLI does, over HTTP"},
            {"name": "ledger", "description": "The tenant's log, for witnesses, mirrors and auditors"},
            {"name": "service", "description": "Health, readiness, metrics"}
        ],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": responses,
            "parameters": {
                "tenant": {"name": "tenant", "in": "path", "required": true,
                           "schema": {"type": "string"}, "description": "The tenant's slug, e.g. `default`."},
                "idempotency_key": {"name": "Idempotency-Key", "in": "header", "required": false,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                    "description": "A retry with the same key and body gets the first answer again (kept 24 h); the same key with another body is a 422."}
            },
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "A token from `asom token create`; it acts as its principal, with that principal's permissions."}
            }
        }
    })
}

/// The document as committed: pretty JSON with a final newline.
#[must_use]
pub fn document_text() -> String {
    let mut text = serde_json::to_string_pretty(&document()).unwrap_or_default();
    text.push('\n');
    text
}
