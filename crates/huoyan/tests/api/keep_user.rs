//! Pages that keep the user: an error page keeps the layout, the menu and the signed-in name, in
//! the page's language; a refused form comes back as typed with each error beside its field;
//! a bad address is the 404 page, never a plain-text refusal; long pickers search as you type
//! and the phone's menu folds (in Chromium at 360 px).

use crate::browser::{choose, click, type_into};
use std::time::Duration;

use fantoccini::Locator;
use reqwest::header::CONTENT_TYPE;
use serde_json::json;

use crate::browser::{browser, sign_in};
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
    assert!(
        body.contains("<details class=\"menu\">"),
        "{what}: no menu\n{body}"
    );
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
    // A handler's own refusal without a form of its own: signing out with a stale form.
    let browser = crate::page_client();
    let csrf = crate::page_csrf(&browser, &app, "/login").await;
    let r = browser
        .post(format!("{}/login", app.base))
        .form(&[
            ("username", "office"),
            ("password", huoyan::auth::password::DEMO_PASSWORD),
            ("_csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = browser
        .post(format!("{}/logout", app.base))
        .form(&[("_csrf", "stale")])
        .send()
        .await
        .unwrap();
    let (status, kind, body) = answer(r).await;
    assert_eq!(status, 422, "{body}");
    assert!(kind.starts_with("text/html"), "{kind}: {body}");
    assert_layout(&body, "office", "/cases?view=triage", "the stale sign-out");
    assert!(body.contains("<b>表单</b>: 表单已过期"), "{body}");
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

/// The office files a report at 360 px, finding the compound among the city's by typing part of
/// its name; the menu takes at most two lines and opens to show every entry.
#[tokio::test]
async fn on_a_phone_the_compound_picker_filters_as_you_type_and_the_menu_folds() {
    let app = spawn_app(true).await;
    let (c, _driver, _profile) = browser(360, 780).await;
    sign_in(&c, &app.base, "office", "huoyan-demo").await;
    c.goto(&format!("{}/cases/new", app.base)).await.unwrap();
    let filter = c
        .wait()
        .for_element(Locator::Css("#report input.picker-filter"))
        .await
        .unwrap();
    let options = |c: &fantoccini::Client| {
        let c = c.clone();
        async move {
            c.execute(
                "return Array.from(document.querySelector('select[name=compound_id]').options).map(o => o.text)",
                vec![],
            )
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect::<Vec<_>>()
        }
    };
    let all = options(&c).await;
    assert!(all.len() > 100, "the city's compounds: {}", all.len());
    filter.send_keys("景程").await.unwrap();
    let left = options(&c).await;
    assert!(!left.is_empty() && left.len() < 10, "{left:?}");
    assert!(left.iter().all(|t| t.contains("景程")), "{left:?}");
    assert!(left.contains(&"景程小区".to_string()), "{left:?}");
    // The keys move the choice among what is left, and Enter does not send the form.
    let chosen = |c: &fantoccini::Client| {
        let c = c.clone();
        async move {
            c.execute(
                "var s = document.querySelector('select[name=compound_id]'); return s.options[s.selectedIndex].text",
                vec![],
            )
            .await
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
        }
    };
    assert_eq!(chosen(&c).await, left[0], "the first match is taken");
    if left.len() > 1 {
        filter.send_keys("\u{E015}").await.unwrap(); // ArrowDown
        assert_eq!(chosen(&c).await, left[1]);
    }
    filter.send_keys("\u{E007}").await.unwrap(); // Enter
    assert!(c.current_url().await.unwrap().path() == "/cases/new");
    let jingcheng = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    choose(&c, "select[name=compound_id]", &jingcheng.to_string()).await;
    // Clearing the box shows every compound again, the choice kept.
    filter.clear().await.unwrap();
    filter.send_keys(" ").await.unwrap();
    assert_eq!(options(&c).await.len(), all.len());
    assert_eq!(chosen(&c).await, "景程小区");
    choose(&c, "select[name=category]", "supplies").await;
    type_into(&c, "textarea[name=description]", "3号楼蔬菜包未送达").await;
    crate::browser::fits(&c, "picker", 360).await;
    click(&c, "#report button[type=submit]").await;
    c.wait()
        .for_element(Locator::Id("sent-case"))
        .await
        .unwrap();
    let filed = app
        .id_of("SELECT compound_id FROM cases WHERE description = '3号楼蔬菜包未送达'")
        .await;
    assert_eq!(filed, jingcheng, "the picked compound is the one filed");

    // The menu at 360 px: one button naming the current entry, the header at most two lines.
    c.goto(&format!("{}/cases?view=triage", app.base))
        .await
        .unwrap();
    let summary = c
        .find(Locator::Css("header.top details.menu > summary"))
        .await
        .unwrap();
    assert!(summary.text().await.unwrap().contains("梳理队列"));
    let measure = |c: &fantoccini::Client| {
        let c = c.clone();
        async move {
            c.execute(
                "var h = document.querySelector('header.top').getBoundingClientRect().height; \
                 var line = document.querySelector('header.top .brand').getBoundingClientRect().height; \
                 var links = Array.from(document.querySelectorAll('header.top nav a')).filter(a => a.checkVisibility()).length; \
                 return [h, line, links]",
                vec![],
            )
            .await
            .unwrap()
        }
    };
    let folded = measure(&c).await;
    let (height, line) = (folded[0].as_f64().unwrap(), folded[1].as_f64().unwrap());
    assert_eq!(folded[2], 0, "the entries are folded away");
    assert!(height <= 120.0, "the header is {height} px high at 360 px");
    assert!(height <= 5.0 * line, "{height} px for lines of {line} px");
    crate::browser::fits(&c, "menu-folded", 360).await;
    summary.click().await.unwrap();
    let open = measure(&c).await;
    crate::browser::fits(&c, "menu-open", 360).await;
    assert!(
        open[2].as_u64().unwrap() >= 8,
        "every entry once opened: {open:?}"
    );
    click(&c, "header.top nav a[href='/regions']").await;
    c.wait()
        .for_element(Locator::Id("regions-tree"))
        .await
        .unwrap();
    assert!(
        c.find(Locator::Css("header.top details.menu > summary"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("区域与管控")
    );
    c.close().await.unwrap();

    // At a desk the menu is open across the top, no button.
    let (desk, _d2, _p2) = browser(1280, 900).await;
    sign_in(&desk, &app.base, "office", "huoyan-demo").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let wide = measure(&desk).await;
    crate::browser::fits(&desk, "menu", 1280).await;
    assert!(wide[2].as_u64().unwrap() >= 8, "{wide:?}");
    assert!(wide[0].as_f64().unwrap() <= 2.0 * 60.0, "{wide:?}");
    desk.close().await.unwrap();
}

/// The dispatch form's units are searchable too (marked, though the demo has fewer than 20).
#[tokio::test]
async fn the_dispatch_forms_unit_pickers_filter_as_you_type() {
    let app = spawn_app(true).await;
    let id = crate::cases::triaged_case(&app, "supplies", "蔬菜包未送达").await;
    let (c, _driver, _profile) = browser(360, 780).await;
    sign_in(&c, &app.base, "group", "huoyan-demo").await;
    c.goto(&format!("{}/cases/{id}", app.base)).await.unwrap();
    let form = "form[data-action=dispatch]";
    let open = c
        .execute(
            &format!("return document.querySelector('{form}').closest('details').open"),
            vec![],
        )
        .await
        .unwrap();
    if open != json!(true) {
        click(&c, &format!("details:has(> {form}) > summary")).await;
    }
    let filters = c
        .find_all(Locator::Css(&format!("{form} input.picker-filter")))
        .await
        .unwrap();
    assert_eq!(filters.len(), 2, "the lead and the co-responsible units");
    filters[0].send_keys("市场监督").await.unwrap();
    let lead: serde_json::Value = c
        .execute(
            &format!("var s = document.querySelector('{form} select[name=department_id]'); return [s.options.length, s.options[s.selectedIndex].text]"),
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(lead, json!([1, "大庆市市场监督管理局"]));
    filters[1].send_keys("公安").await.unwrap();
    let shown: Vec<String> = c
        .execute(
            &format!("return Array.from(document.querySelectorAll('{form} fieldset.co label')).filter(l => !l.hidden).map(l => l.textContent.trim())"),
            vec![],
        )
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(shown.iter().all(|s| s.contains("公安")), "{shown:?}");
    click(&c, &format!("{form} fieldset.co label:not([hidden]) input")).await;
    click(&c, &format!("{form} button[type=submit]")).await;
    c.wait()
        .for_element(Locator::Css("h1 .badge.st-dispatched"))
        .await
        .unwrap();
    let group = app.token("group").await;
    let (_, case) = app.get(&group, &format!("/api/v1/cases/{id}")).await;
    let units: Vec<&str> = case["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["department"].as_str().unwrap())
        .collect();
    assert_eq!(units.len(), 2, "{units:?}");
    assert_eq!(units[0], "大庆市市场监督管理局");
    assert!(units[1].contains("公安"), "{units:?}");
    c.close().await.unwrap();
}
