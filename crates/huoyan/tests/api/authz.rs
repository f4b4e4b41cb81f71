//! The authorisation matrix: every API route × every role against the table below. A route
//! missing from the table, or a table row with no route, fails the test; later capabilities add
//! their rows. The case pages have a table of their own.

use std::collections::BTreeMap;

use crate::spawn_app;

pub const ROLES: [&str; 14] = [
    "admin",
    "commander",
    "office",
    "group",
    "department",
    "supervisor",
    "inspector",
    "discipline",
    "dispatcher",
    "branch",
    "volunteer",
    "sampler",
    "lab",
    "pilot",
];
pub const EVERYONE: &str = "*";
const PEOPLE_READERS: &str =
    "admin commander office group dispatcher discipline supervisor branch inspector";
const PEOPLE_WRITERS: &str = "admin dispatcher branch";
const CASE_READERS: &str =
    "admin commander office group department supervisor inspector discipline pilot";
/// The case figures and the case workbooks: the command side, discipline, and each unit for
/// its own record.
const FIGURE_READERS: &str = "admin commander office group discipline department";
/// Who may file reports and check in.
const REPORTERS: &str = "supervisor inspector pilot office";
/// The inspections: the command side, the teams, and the commission.
const INSPECTION_READERS: &str = "admin commander office group inspector discipline";
/// The discipline track's readers; for every other role its routes do not exist (404).
const DISCIPLINE: &str = "commander discipline";
/// The dispatcher's side: posts, the duty roll, plans and the roster.
const WORKFORCE_READERS: &str = "admin commander dispatcher branch";
/// Blockers: the workforce's readers and the community offices that decide requests.
const BLOCKER_READERS: &str = "admin commander dispatcher branch department";
/// Mass testing: the command side, the dispatcher, the samplers and the labs.
const TESTING_READERS: &str = "admin commander office group dispatcher sampler lab";
/// A positive tube's recall list (personal data): those who act on it.
const RECALL_READERS: &str = "admin commander office dispatcher supervisor";
/// The drone fleet, its missions and the live map: the command side, the dispatcher, the pilots.
const DRONE_READERS: &str = "admin commander office group dispatcher pilot";
/// Supply batches and deliveries: the command side, the dispatcher, the carriers and the
/// community offices.
const SUPPLY_READERS: &str = "admin commander office group dispatcher branch volunteer department";
/// Assistance requests: the supply readers and the supervisors who pass requests on.
const ASSISTANCE_READERS: &str =
    "admin commander office group dispatcher branch volunteer department supervisor";
/// The register of households that need help (personal data): the community offices, the
/// dispatcher and the carriers.
const HOUSEHOLD_READERS: &str = "admin dispatcher branch volunteer department";
const HOUSEHOLD_WRITERS: &str = "admin dispatcher department";
const TEAM_READERS: &str =
    "admin commander office group dispatcher discipline branch inspector pilot volunteer";

/// Route → roles allowed (space-separated, or `*` for every signed-in role).
pub const TABLE: &[(&str, &str)] = &[
    ("POST /api/v1/auth/token", EVERYONE),
    ("DELETE /api/v1/auth/token", EVERYONE),
    ("GET /api/v1/auth/tokens", EVERYONE),
    ("DELETE /api/v1/auth/tokens/{id}", EVERYONE),
    ("GET /api/v1/me", EVERYONE),
    ("GET /api/v1/accounts", "admin"),
    ("POST /api/v1/accounts", "admin"),
    ("GET /api/v1/accounts/{id}", "admin"),
    ("PATCH /api/v1/accounts/{id}", "admin"),
    ("GET /api/v1/audit", "admin commander discipline"),
    ("GET /api/v1/regions", EVERYONE),
    ("POST /api/v1/regions", "admin"),
    ("GET /api/v1/regions/{id}", EVERYONE),
    ("GET /api/v1/regions/geojson", EVERYONE),
    ("PATCH /api/v1/regions/{id}", "admin"),
    ("GET /api/v1/regions/{id}/levels", EVERYONE),
    ("GET /api/v1/control-orders", EVERYONE),
    ("POST /api/v1/control-orders", "admin commander"),
    ("GET /api/v1/control-orders/{id}", EVERYONE),
    ("PATCH /api/v1/control-orders/{id}", "admin commander"),
    ("GET /api/v1/sites", EVERYONE),
    ("POST /api/v1/sites", "admin dispatcher"),
    ("GET /api/v1/sites/{id}", EVERYONE),
    ("PATCH /api/v1/sites/{id}", "admin dispatcher"),
    ("GET /api/v1/departments", EVERYONE),
    ("POST /api/v1/departments", "admin"),
    ("GET /api/v1/departments/{id}", EVERYONE),
    ("PATCH /api/v1/departments/{id}", "admin"),
    ("GET /api/v1/people", PEOPLE_READERS),
    ("POST /api/v1/people", PEOPLE_WRITERS),
    ("GET /api/v1/people/{id}", PEOPLE_READERS),
    ("PATCH /api/v1/people/{id}", PEOPLE_WRITERS),
    ("GET /api/v1/teams", TEAM_READERS),
    ("POST /api/v1/teams", PEOPLE_WRITERS),
    ("GET /api/v1/teams/{id}", TEAM_READERS),
    ("PATCH /api/v1/teams/{id}", PEOPLE_WRITERS),
    ("POST /api/v1/teams/{id}/members", PEOPLE_WRITERS),
    (
        "DELETE /api/v1/teams/{id}/members/{person_id}",
        PEOPLE_WRITERS,
    ),
    ("GET /api/v1/registrations", PEOPLE_READERS),
    ("POST /api/v1/registrations", PEOPLE_WRITERS),
    ("POST /api/v1/import/{kind}", "admin"),
    ("GET /api/v1/export/{kind}", "admin commander dispatcher"),
    ("GET /api/v1/cases", CASE_READERS),
    ("POST /api/v1/cases", REPORTERS),
    ("GET /api/v1/cases/{id}", CASE_READERS),
    ("GET /api/v1/cases/geojson", CASE_READERS),
    ("GET /api/v1/cases/figures", FIGURE_READERS),
    ("GET /api/v1/cases/figures.xlsx", FIGURE_READERS),
    ("GET /api/v1/cases/export.xlsx", FIGURE_READERS),
    ("POST /api/v1/cases/{id}/transitions", CASE_READERS),
    ("GET /api/v1/notifications", EVERYONE),
    ("GET /api/v1/cases/{id}/duplicates", CASE_READERS),
    (
        "POST /api/v1/cases/{id}/duplicates/{other_id}/refusal",
        "office",
    ),
    ("GET /api/v1/cases/duplicates/in-use", CASE_READERS),
    (
        "POST /api/v1/cases/{id}/files",
        "office group department supervisor inspector pilot",
    ),
    ("GET /api/v1/cases/{id}/files/{file_id}", CASE_READERS),
    ("POST /api/v1/notifications/{id}/read", EVERYONE),
    ("POST /api/v1/check-ins", REPORTERS),
    (
        "GET /api/v1/check-ins/missing",
        "admin commander office group",
    ),
    ("GET /api/v1/inspections/checklists", INSPECTION_READERS),
    ("PUT /api/v1/inspections/checklists/{kind}", "admin group"),
    ("GET /api/v1/inspections/rounds", INSPECTION_READERS),
    ("POST /api/v1/inspections/rounds", "inspector"),
    ("GET /api/v1/inspections/rounds/{id}", INSPECTION_READERS),
    ("POST /api/v1/inspections/stops/{id}/visit", "inspector"),
    ("GET /api/v1/inspections/areas", INSPECTION_READERS),
    ("PUT /api/v1/inspections/areas/{team_id}", "admin group"),
    ("GET /api/v1/inspections/coverage", INSPECTION_READERS),
    ("GET /api/v1/inspections/figures", INSPECTION_READERS),
    ("GET /api/v1/inspections/figures.xlsx", INSPECTION_READERS),
    (
        "POST /api/v1/discipline/flags",
        "inspector commander discipline",
    ),
    ("GET /api/v1/discipline/flags", DISCIPLINE),
    ("GET /api/v1/discipline/flags/{id}", DISCIPLINE),
    ("POST /api/v1/discipline/flags/{id}/steps", DISCIPLINE),
    ("GET /api/v1/discipline/figures", DISCIPLINE),
    ("GET /api/v1/workforce/posts", WORKFORCE_READERS),
    ("POST /api/v1/workforce/posts", "admin dispatcher"),
    ("PATCH /api/v1/workforce/posts/{id}", "admin dispatcher"),
    ("GET /api/v1/workforce/people", WORKFORCE_READERS),
    (
        "PUT /api/v1/workforce/people/{person_id}",
        "admin dispatcher",
    ),
    ("GET /api/v1/workforce/blockers", BLOCKER_READERS),
    ("POST /api/v1/workforce/blockers", EVERYONE),
    ("POST /api/v1/workforce/blockers/{id}/lift", EVERYONE),
    (
        "POST /api/v1/workforce/blockers/{id}/refuse",
        BLOCKER_READERS,
    ),
    ("GET /api/v1/workforce/plans", WORKFORCE_READERS),
    ("POST /api/v1/workforce/plans", "dispatcher"),
    ("GET /api/v1/workforce/plans/{id}", WORKFORCE_READERS),
    ("POST /api/v1/workforce/plans/{id}/cancel", "dispatcher"),
    ("POST /api/v1/workforce/plans/{id}/publish", "dispatcher"),
    ("GET /api/v1/workforce/me", EVERYONE),
    ("POST /api/v1/workforce/sign-ins", EVERYONE),
    ("POST /api/v1/workforce/sign-outs", EVERYONE),
    ("GET /api/v1/workforce/posts/{id}/code", "admin dispatcher"),
    ("GET /api/v1/workforce/on-duty", WORKFORCE_READERS),
    ("GET /api/v1/workforce/hours", WORKFORCE_READERS),
    ("GET /api/v1/workforce/grouping", WORKFORCE_READERS),
    ("GET /api/v1/workforce/grouping.xlsx", WORKFORCE_READERS),
    ("GET /api/v1/workforce/statistics", WORKFORCE_READERS),
    ("GET /api/v1/workforce/statistics.xlsx", WORKFORCE_READERS),
    ("GET /api/v1/workforce/branch", WORKFORCE_READERS),
    ("POST /api/v1/workforce/posts/import", "admin dispatcher"),
    ("GET /api/v1/testing/points", TESTING_READERS),
    ("POST /api/v1/testing/points", "admin dispatcher"),
    ("GET /api/v1/testing/rounds", TESTING_READERS),
    ("POST /api/v1/testing/rounds", "admin dispatcher"),
    ("GET /api/v1/testing/rounds/{id}", TESTING_READERS),
    ("GET /api/v1/testing/residents", "admin dispatcher sampler"),
    ("POST /api/v1/testing/residents", "admin dispatcher sampler"),
    ("POST /api/v1/testing/residents/import", "admin dispatcher"),
    ("POST /api/v1/testing/tubes", "sampler"),
    ("GET /api/v1/testing/tubes/{barcode}", TESTING_READERS),
    ("POST /api/v1/testing/tubes/{barcode}/seal", "sampler"),
    ("POST /api/v1/testing/scans", "sampler"),
    ("POST /api/v1/testing/boxes", "sampler"),
    ("GET /api/v1/testing/boxes/{code}", TESTING_READERS),
    ("POST /api/v1/testing/boxes/{code}/send", "sampler"),
    ("POST /api/v1/testing/boxes/{code}/receive", "lab"),
    ("POST /api/v1/testing/results/import", "lab"),
    ("GET /api/v1/testing/points/{id}/kits", TESTING_READERS),
    ("POST /api/v1/testing/points/{id}/kits", "admin dispatcher"),
    ("GET /api/v1/testing/recalls/{id}", RECALL_READERS),
    (
        "POST /api/v1/testing/proposals/{id}/decision",
        "admin commander",
    ),
    ("GET /api/v1/testing/rounds/{id}/figures", TESTING_READERS),
    (
        "GET /api/v1/testing/rounds/{id}/figures.xlsx",
        TESTING_READERS,
    ),
    ("GET /api/v1/drones", DRONE_READERS),
    ("POST /api/v1/drones", "admin pilot"),
    ("GET /api/v1/drones/{id}", DRONE_READERS),
    ("PATCH /api/v1/drones/{id}", "admin pilot"),
    ("GET /api/v1/drones/missions", DRONE_READERS),
    ("POST /api/v1/drones/missions", "commander pilot"),
    ("GET /api/v1/drones/missions/{id}", DRONE_READERS),
    ("GET /api/v1/drones/missions/{id}/plan", DRONE_READERS),
    ("GET /api/v1/drones/missions/{id}/waypoints", DRONE_READERS),
    ("POST /api/v1/drones/missions/{id}/upload", "pilot"),
    ("POST /api/v1/drones/findings", "pilot"),
    ("GET /api/v1/supply/batches", SUPPLY_READERS),
    ("POST /api/v1/supply/batches", "admin dispatcher"),
    ("GET /api/v1/supply/batches/{id}", SUPPLY_READERS),
    ("GET /api/v1/supply/deliveries", SUPPLY_READERS),
    (
        "POST /api/v1/supply/deliveries/{id}/mark",
        "branch volunteer",
    ),
    ("GET /api/v1/supply/requests", ASSISTANCE_READERS),
    (
        "POST /api/v1/supply/requests",
        "office dispatcher branch volunteer department supervisor",
    ),
    ("GET /api/v1/supply/requests/{id}", ASSISTANCE_READERS),
    (
        "POST /api/v1/supply/requests/{id}/assign",
        "dispatcher branch department",
    ),
    (
        "POST /api/v1/supply/requests/{id}/close",
        ASSISTANCE_READERS,
    ),
    ("GET /api/v1/supply/figures", SUPPLY_READERS),
    ("GET /api/v1/supply/households", HOUSEHOLD_READERS),
    ("POST /api/v1/supply/households", HOUSEHOLD_WRITERS),
    ("POST /api/v1/supply/households/import", HOUSEHOLD_WRITERS),
    ("GET /api/v1/supply/figures.xlsx", SUPPLY_READERS),
];

/// Routes whose refusal is the unknown route's 404, not 403: what they guard must not betray
/// itself even by a refusal.
fn hidden(route: &str) -> bool {
    route.contains(" /api/v1/discipline/") || route.contains(" /discipline")
}

fn allowed(roles: &str, role: &str) -> bool {
    roles == EVERYONE || roles.split(' ').any(|r| r == role)
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_table_says() {
    let app = spawn_app(true).await;
    let doc: serde_json::Value = app
        .client
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            routes.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    let table: BTreeMap<&str, &str> = TABLE.iter().copied().collect();
    for r in &routes {
        assert!(
            table.contains_key(r.as_str()),
            "route {r} is missing from the authorisation table"
        );
    }
    for r in table.keys() {
        assert!(routes.iter().any(|x| x == r), "table row {r} has no route");
    }
    // A token for the revoking route to end, so that no role's own token is ended by it.
    app.token("volunteer").await;
    let spare = app.id_of("SELECT MAX(id) FROM sessions").await.to_string();
    let mut tokens = BTreeMap::new();
    for role in ROLES {
        tokens.insert(role, app.token(role).await);
    }
    let mut failures = Vec::new();
    for route in &routes {
        let (method, path) = route.split_once(' ').unwrap();
        let id = if route == "DELETE /api/v1/auth/tokens/{id}" {
            &spare
        } else {
            "1"
        };
        let url = path
            .replace("{id}", id)
            .replace("{person_id}", "1")
            .replace("{file_id}", "1")
            .replace("{other_id}", "1")
            .replace("{team_id}", "1")
            .replace("{kind}", "people")
            .replace("{barcode}", "T-0001")
            .replace("{code}", "BOX-0001");
        for role in ROLES {
            // Signing out ends the token it is sent with: it gets one of its own.
            let token = if route == "DELETE /api/v1/auth/token" {
                app.token(role).await
            } else {
                tokens[role].clone()
            };
            let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let mut req = app
                .client
                .request(m, format!("{}{url}", app.base))
                .bearer_auth(&token);
            if method != "GET" && method != "DELETE" {
                req = req.header("content-type", "application/json").body("{}");
            }
            let status = req.send().await.unwrap().status().as_u16();
            let expect_allowed = allowed(table[route.as_str()], role);
            let ok = if expect_allowed {
                status != 401 && status != 403 && status < 500
            } else if hidden(route) {
                status == 404
            } else {
                status == 403
            };
            if !ok {
                failures.push(format!(
                    "{route} as {role}: {status} (allowed: {expect_allowed})"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The pages (served beside the API, not in its OpenAPI document): route → roles allowed. A
/// page refuses a role with 403, as the API does, or as an unknown page (404) where hidden.
const PAGES: &[(&str, &str)] = &[
    ("GET /cases", CASE_READERS),
    ("GET /cases/new", REPORTERS),
    ("POST /cases/new", REPORTERS),
    ("POST /cases/bulk", CASE_READERS),
    ("GET /cases/{id}", CASE_READERS),
    ("POST /cases/{id}/act", CASE_READERS),
    (
        "POST /cases/{id}/files",
        "office group department supervisor inspector pilot",
    ),
    ("GET /cases/figures", FIGURE_READERS),
    (
        "GET /check-ins",
        "admin commander office group supervisor inspector pilot",
    ),
    ("POST /check-ins", REPORTERS),
    ("GET /notifications", EVERYONE),
    ("GET /inspections", INSPECTION_READERS),
    ("POST /inspections", "inspector"),
    ("GET /inspections/rounds/{id}", INSPECTION_READERS),
    ("POST /inspections/stops/{id}/visit", "inspector"),
    ("GET /inspections/coverage", INSPECTION_READERS),
    ("GET /inspections/checklists", INSPECTION_READERS),
    ("POST /inspections/checklists/{kind}", "admin group"),
    ("GET /inspections/figures", INSPECTION_READERS),
    ("GET /discipline", DISCIPLINE),
    ("POST /discipline/flags", "inspector commander discipline"),
    ("GET /discipline/{id}", DISCIPLINE),
    ("POST /discipline/{id}", DISCIPLINE),
    ("GET /workforce", WORKFORCE_READERS),
    ("GET /workforce/blockers", BLOCKER_READERS),
    ("POST /workforce/blockers", WORKFORCE_READERS),
    ("POST /workforce/blockers/{id}/lift", EVERYONE),
    ("POST /workforce/blockers/{id}/refuse", BLOCKER_READERS),
    ("POST /workforce/plans", "dispatcher"),
    ("GET /workforce/plans/{id}", WORKFORCE_READERS),
    ("POST /workforce/plans/{id}/cancel", "dispatcher"),
    ("POST /workforce/plans/{id}/publish", "dispatcher"),
    ("GET /duty", EVERYONE),
    ("POST /duty/blockers", EVERYONE),
    ("GET /duty/sign-in", EVERYONE),
    ("POST /duty/sign-ins", EVERYONE),
    ("POST /duty/sign-outs", EVERYONE),
    ("GET /workforce/posts/{id}/code", "admin dispatcher"),
    ("GET /workforce/grouping", WORKFORCE_READERS),
    ("GET /workforce/statistics", WORKFORCE_READERS),
    ("GET /workforce/branch", WORKFORCE_READERS),
    ("GET /testing/cards", "admin dispatcher sampler"),
    ("GET /testing/recalls/{id}", RECALL_READERS),
    ("GET /testing/points/{id}/kits", TESTING_READERS),
    ("POST /testing/points/{id}/kits", "admin dispatcher"),
    ("POST /testing/proposals/{id}/decision", "admin commander"),
    ("GET /testing/scan", "sampler"),
    ("GET /testing/rounds", TESTING_READERS),
    ("GET /testing/rounds/{id}/figures", TESTING_READERS),
    ("GET /testing/boxes", TESTING_READERS),
    ("POST /testing/boxes", "sampler"),
    ("GET /testing/boxes/{code}", TESTING_READERS),
    ("POST /testing/boxes/{code}/send", "sampler"),
    ("POST /testing/boxes/{code}/receive", "lab"),
    ("GET /workforce/posts", WORKFORCE_READERS),
    ("GET /workforce/hours", WORKFORCE_READERS),
    ("POST /workforce/posts", "admin dispatcher"),
    ("POST /workforce/posts/import", "admin dispatcher"),
    ("GET /drones", DRONE_READERS),
    ("GET /drones/live/events", DRONE_READERS),
    ("GET /supply", SUPPLY_READERS),
    ("GET /supply/batches/{id}", SUPPLY_READERS),
    ("GET /supply/figures", SUPPLY_READERS),
    ("GET /supply/households", HOUSEHOLD_READERS),
    ("GET /supply/plan", "admin dispatcher"),
    ("POST /supply/plan", "admin dispatcher"),
    ("POST /supply/deliveries/{id}/mark", "branch volunteer"),
    ("GET /supply/requests", ASSISTANCE_READERS),
    (
        "POST /supply/requests",
        "office dispatcher branch volunteer department supervisor",
    ),
    (
        "POST /supply/requests/{id}/assign",
        "dispatcher branch department",
    ),
    ("POST /supply/requests/{id}/close", ASSISTANCE_READERS),
];

#[tokio::test]
async fn every_case_page_answers_every_role_as_the_table_says() {
    let app = spawn_app(true).await;
    // Not following redirects: a page that did not take the token would send the caller to
    // the login page, which answers 200.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut failures = Vec::new();
    for role in ROLES {
        let token = app.token(role).await;
        for (route, roles) in PAGES {
            let (method, path) = route.split_once(' ').unwrap();
            let url = format!(
                "{}{}",
                app.base,
                path.replace("{id}", "1")
                    .replace("{kind}", "zone_gate")
                    .replace("{code}", "BOX-0001")
            );
            // The smallest body each form takes; a bearer token needs no CSRF value.
            let req = match (method, path) {
                ("GET", _) => client.get(&url),
                ("POST", "/cases/new" | "/cases/{id}/act" | "/cases/{id}/files") => client
                    .post(&url)
                    .multipart(reqwest::multipart::Form::new().text("_csrf", "")),
                ("POST", "/cases/bulk") => client
                    .post(&url)
                    .form(&[("_csrf", ""), ("action", "triage")]),
                _ => client.post(&url).form(&[("_csrf", "")]),
            };
            let status = req.bearer_auth(&token).send().await.unwrap().status();
            let expect_allowed = allowed(roles, role);
            let ok = if expect_allowed {
                !status.is_redirection()
                    && status != 401
                    && status != 403
                    && !status.is_server_error()
            } else if hidden(route) {
                status == 404
            } else {
                status == 403
            };
            if !ok {
                failures.push(format!(
                    "{route} as {role}: {status} (allowed: {expect_allowed})"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
