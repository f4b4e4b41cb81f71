//! The answers every API operation shares, written into the OpenAPI document once instead of in
//! each route's annotation: a secured operation can answer 401 (no valid token) and 422 (a
//! parameter that does not parse, a page session's write without its CSRF header), one that
//! checks a permission 403, a secured write 409 (a unique name, code or membership already
//! taken), one with an id in its path 404, one that takes a body 413. An
//! operation that documents a status itself keeps its own description. Every response gets a
//! description (the OpenAPI schema requires one), and every error answer the `ErrorBody` it has.

use std::collections::BTreeMap;

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder, Responses};

/// Operations open to every signed-in caller whatever the role (the rows marked `*` in the
/// authorisation table of `tests/api/authz.rs`): they never answer 403 for the role, and each that
/// can answer 403 for another reason documents it itself.
const ANY_ROLE: &[&str] = &[
    "me",
    "sign_out",
    "list_auth_tokens",
    "revoke_auth_token",
    "list_notifications",
    "read_notification",
    // Control levels are public announcements: the regions tree and the orders are open to all.
    "list_regions",
    "get_region",
    "list_region_levels",
    "list_control_orders",
    "get_control_order",
    "list_sites",
    "get_site",
    "list_departments",
    "get_department",
];

/// The shared error answers: (status, component name, description).
const ERRORS: &[(u16, &str, &str)] = &[
    (
        401,
        "Unauthenticated",
        "No valid bearer token (or page session) came with the request: sign in first.",
    ),
    (
        403,
        "Forbidden",
        "The caller's role may not do this, or the object lies outside the caller's scope.",
    ),
    (
        404,
        "NotFound",
        "Nothing with this id exists in the caller's view.",
    ),
    (
        409,
        "Conflict",
        "Conflicts with existing data (`fields` names the column that must be unique).",
    ),
    (
        413,
        "TooLarge",
        "The request body is larger than the server accepts.",
    ),
    (
        422,
        "Invalid",
        "A parameter, header or body field does not parse or breaks a rule; `fields` names each, with why.",
    ),
    (429, "RateLimited", "Too many attempts; wait and try again."),
];

pub struct Contract;

impl utoipa::Modify for Contract {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        for (_, name, description) in ERRORS {
            components
                .responses
                .insert(name.to_string(), RefOr::T(error_response(description)));
        }
        close_tagged_unions(components);
        let secured_by_default = doc.security.as_ref().is_some_and(|s| secures(s));
        for (path, item) in doc.paths.paths.iter_mut() {
            let has_id = path.contains('{');
            let operations = [
                (&mut item.get, false),
                (&mut item.put, true),
                (&mut item.post, true),
                (&mut item.delete, false),
                (&mut item.patch, true),
            ];
            for (op, writes) in operations {
                if let Some(op) = op {
                    complete(op, has_id, writes, secured_by_default);
                }
            }
        }
    }
}

/// Whether a list of security requirements demands credentials: `security: [{}]` (what
/// `security(())` writes) makes an operation open.
fn secures(requirements: &[SecurityRequirement]) -> bool {
    !requirements.is_empty() && !requirements.contains(&SecurityRequirement::default())
}

fn complete(op: &mut Operation, has_id: bool, writes: bool, secured_by_default: bool) {
    let secured = op.security.as_deref().map_or(secured_by_default, secures);
    let any_role = op
        .operation_id
        .as_deref()
        .is_some_and(|id| ANY_ROLE.contains(&id));
    let mut add = |status: u16| {
        let name = ERRORS
            .iter()
            .find(|(s, ..)| *s == status)
            .map(|(_, n, _)| *n)
            .expect("a shared error answer");
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
    };
    if secured {
        add(401);
        add(422);
        if !any_role {
            add(403);
        }
    }
    // A write can meet a unique column (a name, a code, a username, a membership) already taken.
    if secured && writes {
        add(409);
    }
    if has_id {
        add(404);
        add(422);
    }
    if op.request_body.is_some() {
        add(413);
        add(422);
    }
    describe(&mut op.responses);
}

/// Gives every response a description (its status's, when the route wrote none) and every error
/// answer written without a body the `ErrorBody` it has.
fn describe(responses: &mut Responses) {
    for (status, response) in responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        let code: u16 = status.parse().unwrap_or(0);
        if response.description.trim().is_empty() {
            response.description = ERRORS
                .iter()
                .find(|(s, ..)| *s == code)
                .map(|(.., d)| d.to_string())
                .unwrap_or_else(|| reason(code).to_string());
        }
        if code >= 400 && response.content.is_empty() {
            response.content.insert(
                "application/json".to_string(),
                RefOr::T(
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                ),
            );
        }
    }
}

fn error_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

fn reason(code: u16) -> &'static str {
    axum::http::StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Answer")
}

/// A tagged union (`#[serde(tag = "action")]`) over structs that refuse unknown fields comes out
/// of the derive as `oneOf: [{allOf: [{$ref: Triage}, {properties: {action}}]}, …]`, which no
/// value satisfies: the referenced struct refuses `action`. Each such branch becomes one object
/// with the struct's fields and the tag, still closed, so the document says what the server takes.
fn close_tagged_unions(components: &mut utoipa::openapi::Components) {
    use serde_json::{Value, json};
    let schemas: BTreeMap<String, Value> = components
        .schemas
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), serde_json::to_value(v).ok()?)))
        .collect();
    for (name, schema) in &schemas {
        let Some(branches) = schema["oneOf"].as_array() else {
            continue;
        };
        let mut closed = Vec::new();
        for branch in branches {
            let Some([part, tag]) = branch["allOf"].as_array().map(Vec::as_slice) else {
                break;
            };
            let Some(target) = part["$ref"]
                .as_str()
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
                .and_then(|r| schemas.get(r))
                .filter(|t| t["additionalProperties"] == json!(false))
            else {
                break;
            };
            let mut merged = target.clone();
            let props = merged["properties"].as_object_mut();
            let Some(props) = props else { break };
            for (k, v) in tag["properties"].as_object().into_iter().flatten() {
                props.insert(k.clone(), v.clone());
            }
            let mut required: Vec<Value> =
                target["required"].as_array().cloned().unwrap_or_default();
            required.extend(tag["required"].as_array().cloned().unwrap_or_default());
            merged["required"] = Value::Array(required);
            closed.push(merged);
        }
        if closed.len() == branches.len() {
            let mut schema = schema.clone();
            schema["oneOf"] = Value::Array(closed);
            if let Ok(schema) = serde_json::from_value(schema) {
                components.schemas.insert(name.clone(), schema);
            }
        }
    }
}
