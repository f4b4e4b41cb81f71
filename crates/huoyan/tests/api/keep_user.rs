//! Pages that keep the user: an error page keeps the layout, the menu and the signed-in name, in
//! the page's language; a refused form comes back as typed with each error beside its field;
//! a bad address is the 404 page, never a plain-text refusal.

use reqwest::header::CONTENT_TYPE;

use crate::{TestApp, spawn_app};

/// A page as `token`'s holder gets it: status, content type and body.
async fn page(app: &TestApp, token: &str, path: &str) -> (u16, String, String) {
    let r = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    answer(r).await
}

async fn answer(r: reqwest::Response) -> (u16, String, String) {
    let status = r.status().as_u16();
    let kind = r
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, kind, r.text().await.unwrap())
}

/// The layout as a signed-in user sees it: the folded menu with their entries, their name.
fn assert_layout(body: &str, username: &str, entry: &str, what: &str) {
    assert!(body.contains("<nav>"), "{what}: no menu\n{body}");
    assert!(
        body.contains(&format!("href=\"{entry}\"")),
        "{what}: no menu entry {entry}\n{body}"
    );
    assert!(
        body.contains(&format!("<span class=\"user\">{username} · ")),
        "{what}: not signed in as {username}\n{body}"
    );
}

/// An error field's value in a form, as the page shows it back.
fn value_of(body: &str, name: &str) -> String {
    let at = body
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no field {name}"));
    let tag_end = at + body[at..].find('>').unwrap();
    let tag = &body[..tag_end];
    let tag = &tag[tag.rfind('<').unwrap()..];
    tag.split("value=\"")
        .nth(1)
        .map(|v| v.split('"').next().unwrap().to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn bad_page_addresses_answer_the_error_page_with_the_layout_in_the_pages_language() {
    let app = spawn_app(true).await;
    let group = app.token("group").await;
    for path in [
        "/cases/abc",
        "/cases/1e9",
        "/cases/99999999999999999999",
        "/cases/999999",
        "/regions/x",
        "/regions/999999",
        "/people/-",
        "/teams/1.5",
        "/orders/1e9",
        "/orders/999999",
        "/no/such/page",
    ] {
        let (status, kind, body) = page(&app, &group, path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(kind.starts_with("text/html"), "{path}: {kind} {body}");
        assert_layout(&body, "group", "/cases?view=board", path);
        assert!(body.contains("<html lang=\"zh-CN\">"), "{path}");
        assert!(body.contains("未找到。"), "{path}: {body}");
        assert!(!body.contains("Invalid URL"), "{path}: {body}");
        let (status, _, body) = page(&app, &group, &format!("{path}?lang=en")).await;
        assert_eq!(status, 404, "{path}?lang=en");
        assert!(body.contains("<html lang=\"en\">"), "{path}?lang=en");
        assert!(body.contains("Not found."), "{path}?lang=en: {body}");
        assert!(body.contains(">Dispatch board<"), "{path}?lang=en: {body}");
    }
    // Signed out, a page still asks for the login first; an unknown address is the error page.
    let (status, _, body) = answer(
        crate::page_client()
            .get(format!("{}/cases/abc", app.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body.as_str()), (303, ""));
    let (status, kind, body) = answer(
        crate::page_client()
            .get(format!("{}/no/such/page", app.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        kind.starts_with("text/html") && body.contains("未找到。"),
        "{body}"
    );
    assert!(!body.contains("class=\"menu\""), "nobody signed in: {body}");
    // The JSON API keeps its JSON errors.
    let (status, body) = app.get(&group, "/api/v1/cases/abc").await;
    assert_eq!(
        (status, crate::fields(&body)),
        (422, vec!["path".to_string()])
    );
    let (status, body) = app.get(&group, "/api/v1/no-such-route").await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
}

#[tokio::test]
async fn other_refusals_on_pages_are_error_pages_naming_the_field_in_the_pages_language() {
    let app = spawn_app(true).await;
    let office = app.token("office").await;
    // A query that does not parse: the field by its label.
    let (status, kind, body) = page(&app, &office, "/people?offset=abc").await;
    assert_eq!(status, 422, "{body}");
    assert!(kind.starts_with("text/html"));
    assert_layout(&body, "office", "/cases?view=triage", "/people?offset=abc");
    assert!(body.contains("<b>翻页位置</b>"), "{body}");
    let (_, _, body) = page(&app, &office, "/people?offset=abc&lang=en").await;
    assert!(body.contains("<b>Page offset</b>"), "{body}");
    // A method the address does not take: still a page, and the answer's own headers stay.
    let r = app
        .client
        .delete(format!("{}/cases/new", app.base))
        .bearer_auth(&office)
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("allow").is_some());
    let (status, kind, body) = answer(r).await;
    assert_eq!(status, 405);
    assert!(kind.starts_with("text/html"));
    assert_layout(&body, "office", "/cases/new", "DELETE /cases/new");
    assert!(body.contains("此地址不接受这种请求。"), "{body}");
    // A role that may not open a page: the 403 page, with its own menu.
    let department = app.token("department").await;
    let (status, _, body) = page(&app, &department, "/cases/new").await;
    assert_eq!(status, 403);
    assert_layout(&body, "department", "/cases?view=inbox", "403");
    assert!(body.contains("您的角色无权进行此操作。"), "{body}");
    // A handler's own refusal without a form of its own (signing out with a stale form).
    let r = app
        .client
        .post(format!("{}/logout", app.base))
        .header("cookie", "huoyan_session=stale")
        .bearer_auth(&office)
        .form(&[("_csrf", "")])
        .send()
        .await
        .unwrap();
    let (status, kind, _) = answer(r).await;
    assert!(kind.starts_with("text/html"), "{status} {kind}");
}

#[tokio::test]
async fn a_refused_case_action_comes_back_with_the_menu_the_user_and_what_was_typed() {
    let app = spawn_app(true).await;
    let group = app.token("group").await;
    let id = crate::cases::triaged_case(&app, "static_control", "东门岗无人值守").await;
    let dept = app
        .id_of("SELECT id FROM departments WHERE name = '景程社区居委会'")
        .await;
    let co = app
        .id_of("SELECT id FROM departments WHERE name = '大庆市市场监督管理局'")
        .await;
    let events = app.count("audit_events").await;
    let act = |lang: &'static str, lead: String| {
        let form = reqwest::multipart::Form::new()
            .text("_csrf", "")
            .text("action", "dispatch")
            .text("department_id", lead)
            .text("co", co.to_string())
            .text("due_at", "2099-09-01T18:00")
            .text("note", "今日18时前恢复值守，<b>加急</b>");
        app.client
            .post(format!("{}/cases/{id}/act{lang}", app.base))
            .bearer_auth(&group)
            .multipart(form)
            .send()
    };
    // No lead unit chosen: refused, and everything typed is there again.
    let (status, kind, body) = answer(act("", String::new()).await.unwrap()).await;
    assert_eq!(status, 422, "{body}");
    assert!(kind.starts_with("text/html"));
    assert_layout(&body, "group", "/cases?view=board", "the refused dispatch");
    let form = body
        .split("data-action=\"dispatch\"")
        .nth(1)
        .expect("the dispatch form")
        .split("</form>")
        .next()
        .unwrap();
    assert!(
        form.contains("今日18时前恢复值守，&#60;b&#62;加急&#60;/b&#62;</textarea>"),
        "the note as typed, escaped: {form}"
    );
    assert!(
        form.contains(&format!("name=\"co\" value=\"{co}\" checked")),
        "{form}"
    );
    assert_eq!(value_of(form, "due_at"), "2099-09-01T18:00");
    assert!(
        form.contains("</select></label>\n    <span class=\"error\">必须填写</span>"),
        "the lead unit's error beside it: {form}"
    );
    assert!(
        body.contains("<details class=\"act\" open>\n<summary>转办"),
        "the refused form is open"
    );
    assert_eq!(app.count("audit_events").await, events, "nothing written");
    let (_, case) = app.get(&group, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["state"], "triaged");
    // A unit that does not exist: the error beside its field, in the page's language, and the
    // choice that was made still chosen where it exists.
    let (status, _, body) = answer(act("?lang=en", "999999".into()).await.unwrap()).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains(">Dispatch board<"), "{body}");
    assert!(body.contains("<html lang=\"en\">"));
    assert_eq!(app.count("audit_events").await, events, "nothing written");
    // And a good one goes through (to the case page).
    let (status, _, _) = answer(act("", dept.to_string()).await.unwrap()).await;
    assert_eq!(status, 200);
    let (_, case) = app.get(&group, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["state"], "dispatched");
}

#[tokio::test]
async fn a_refused_report_keeps_every_field_and_writes_nothing() {
    let app = spawn_app(true).await;
    let office = app.token("office").await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let before = (app.count("cases").await, app.count("audit_events").await);
    let form = reqwest::multipart::Form::new()
        .text("_csrf", "")
        .text("idempotency_key", "k-1")
        .text("category", "supplies")
        .text("compound_id", compound.to_string())
        .text("priority", "urgent")
        .text("description", " ")
        .text("address", "3号楼东门")
        .text("lon", "125.1")
        .text("lat", "46.6");
    let r = app
        .client
        .post(format!("{}/cases/new", app.base))
        .bearer_auth(&office)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, _, body) = answer(r).await;
    assert_eq!(status, 422, "{body}");
    assert_layout(&body, "office", "/cases?view=triage", "the refused report");
    assert!(body.contains(&format!(
        "<option value=\"{compound}\" selected>景程小区</option>"
    )));
    assert!(
        body.contains("<option value=\"supplies\" selected>"),
        "{body}"
    );
    assert!(
        body.contains("<option value=\"urgent\" selected>"),
        "{body}"
    );
    assert_eq!(value_of(&body, "address"), "3号楼东门");
    assert_eq!(value_of(&body, "lon"), "125.1");
    assert_eq!(value_of(&body, "idempotency_key"), "k-1", "the same report");
    assert!(
        body.contains("<span class=\"error\" data-for=\"description\">不能为空</span>"),
        "{body}"
    );
    assert_eq!(
        (app.count("cases").await, app.count("audit_events").await),
        before,
        "nothing written"
    );
}

#[tokio::test]
async fn the_check_in_offers_a_compound_to_those_without_one_and_comes_back_when_refused() {
    let app = spawn_app(true).await;
    let inspector = app.token("inspector").await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let (status, _, body) = page(&app, &inspector, "/check-ins").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("<select name=\"compound_id\" required>"),
        "an inspector picks the compound: {body}"
    );
    let check_in = |compound: String| {
        app.client
            .post(format!("{}/check-ins", app.base))
            .bearer_auth(&inspector)
            .form(&[
                ("_csrf", String::new()),
                ("nothing_to_report", "1".into()),
                ("compound_id", compound),
            ])
            .send()
    };
    let before = app.count("check_ins").await;
    // Not a compound (the city): refused beside the picker, with the layout.
    let city = app
        .id_of("SELECT id FROM regions WHERE level = 'city'")
        .await;
    let (status, _, body) = answer(check_in(city.to_string()).await.unwrap()).await;
    assert_eq!(status, 422, "{body}");
    assert_layout(&body, "inspector", "/check-ins", "the refused check-in");
    assert!(
        body.contains("<span class=\"error\">不是小区</span>"),
        "{body}"
    );
    assert_eq!(app.count("check_ins").await, before, "nothing written");
    let (status, _, body) = answer(check_in(compound.to_string()).await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("id=\"checked-in\""), "{body}");
    assert_eq!(app.count("check_ins").await, before + 1);
    // The compound's own supervisor needs no picker.
    let supervisor = app.token("supervisor").await;
    let (_, _, body) = page(&app, &supervisor, "/check-ins").await;
    assert!(!body.contains("name=\"compound_id\""), "{body}");
}
