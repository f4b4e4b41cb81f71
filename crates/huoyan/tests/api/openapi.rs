//! The OpenAPI document is the API's contract: every operation named once (client generators key
//! on it), every answer described, every status a route can give documented with the error body
//! (401 on every secured operation, 403 where a role can be refused, 404 where an id is in the
//! path, 422 where input is parsed), and the closed sets and times typed as the server reads them.
//! scripts/test checks the served document with openapi-spec-validator and fuzzes it with
//! schemathesis; this test keeps the same promises without them.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::spawn_app;

async fn document() -> Value {
    let app = spawn_app(false).await;
    app.client
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Follows a local `$ref` (`#/components/...`).
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.strip_prefix('#').expect("a local reference");
            resolve(
                doc,
                doc.pointer(pointer)
                    .unwrap_or_else(|| panic!("{r} resolves")),
            )
        }
        None => v,
    }
}

/// Whether security requirements demand a credential (`[{}]` makes an operation open).
fn secures(requirements: &Value) -> bool {
    requirements.as_array().is_some_and(|r| {
        !r.is_empty()
            && !r
                .iter()
                .any(|x| x.as_object().is_some_and(|o| o.is_empty()))
    })
}

#[tokio::test]
async fn every_operation_is_named_once_and_documents_every_answer() {
    let doc = document().await;
    let secured_by_default = secures(&doc["security"]);
    let roles: BTreeMap<&str, &str> = crate::authz::TABLE.iter().copied().collect();
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let mut failures = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let route = format!("{} {path}", method.to_uppercase());
            match op["operationId"].as_str() {
                None => failures.push(format!("{route}: no operationId")),
                Some(id) => {
                    if let Some(other) = ids.insert(id.to_string(), route.clone()) {
                        failures.push(format!("{route}: operationId {id} is also {other}'s"));
                    }
                }
            }
            let responses = op["responses"].as_object().unwrap();
            for (status, response) in responses {
                let response = resolve(&doc, response);
                if response["description"]
                    .as_str()
                    .is_none_or(|d| d.trim().is_empty())
                {
                    failures.push(format!("{route}: {status} has no description"));
                }
                if status.starts_with('4') {
                    let schema = &response["content"]["application/json"]["schema"]["$ref"];
                    if schema != "#/components/schemas/ErrorBody" {
                        failures.push(format!("{route}: {status} does not answer ErrorBody"));
                    }
                }
            }
            let mut expect = Vec::new();
            let secured = op.get("security").map_or(secured_by_default, secures);
            if secured {
                expect.extend(["401", "422"]);
            }
            if secured && matches!(method.as_str(), "post" | "put" | "patch") {
                expect.push("409");
            }
            if path.contains('{') {
                expect.extend(["404", "422"]);
            }
            if op.get("requestBody").is_some() {
                expect.extend(["413", "422"]);
            }
            if roles
                .get(route.as_str())
                .is_some_and(|r| *r != crate::authz::EVERYONE)
            {
                expect.push("403");
            }
            for status in expect {
                if !responses.contains_key(status) {
                    failures.push(format!("{route}: {status} undocumented"));
                }
            }
        }
    }
    failures.dedup();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Fields that hold a closed set of codes, wherever they appear in a request or an answer.
const CODED: &[&str] = &[
    "kind", "level", "role", "action", "category", "priority", "source", "gender", "state",
];

/// Fields with a coded name that are open sets: the audit trail's actions are named by each
/// context for its own entities.
const OPEN: &[&str] = &["TrailEvent.action"];

#[tokio::test]
async fn closed_sets_and_times_are_typed_in_the_document() {
    let doc = document().await;
    let mut failures = Vec::new();
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        let Some(properties) = schema["properties"].as_object() else {
            continue;
        };
        for (field, property) in properties {
            // `T | null` is written `oneOf: [null, T]` or `type: [T, null]`.
            let variants: Vec<&Value> = match property["oneOf"].as_array() {
                Some(v) => v.iter().map(|v| resolve(&doc, v)).collect(),
                None => vec![resolve(&doc, property)],
            };
            let typed = |check: &dyn Fn(&Value) -> bool| {
                variants.iter().any(|v| {
                    check(v) || v["items"].is_object() && check(resolve(&doc, &v["items"]))
                })
            };
            let open = OPEN.contains(&format!("{name}.{field}").as_str());
            if CODED.contains(&field.as_str()) && !open && !typed(&|v| v["enum"].is_array()) {
                failures.push(format!("{name}.{field}: no enum"));
            }
            if field.ends_with("_at") && !typed(&|v| v["format"] == "date-time") {
                failures.push(format!("{name}.{field}: not a date-time"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every `$ref` in the document names a component that is there (a query parameter typed by an
/// enum once pointed at a schema no route registered, which the validator refused).
#[tokio::test]
async fn every_reference_resolves() {
    fn walk<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(r)) = o.get("$ref") {
                    out.push(r);
                }
                o.values().for_each(|x| walk(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let doc = document().await;
    let mut refs = Vec::new();
    walk(&doc, &mut refs);
    assert!(!refs.is_empty());
    let dangling: Vec<_> = refs
        .into_iter()
        .filter(|r| {
            r.strip_prefix('#')
                .is_none_or(|pointer| doc.pointer(pointer).is_none())
        })
        .collect();
    assert!(dangling.is_empty(), "dangling references: {dangling:?}");
}
