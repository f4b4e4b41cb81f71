//! The checklists on a page: each site kind's newest version, and for the admin and the group a
//! form per kind with one item a line (`code | 中文 | English | category`), saved as the API
//! saves them (a new version only when the items changed).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use huoyan_core::auth::Permission;
use huoyan_core::cases::Category;
use huoyan_core::inspections::checklist::Item;
use huoyan_core::org::SiteKind;
use serde::Deserialize;

use super::InspectionsState;
use super::checklists::{ChecklistView, latest, save};
use crate::audit::Change;
use crate::auth::{Page, perm};
use crate::error::{AppError, FieldError};
use crate::web::{PageCtx, PageError, PageResultExt, render};

#[derive(askama::Template)]
#[template(path = "inspections/checklists.html")]
struct ChecklistsPage {
    ctx: PageCtx,
    lists: Vec<ChecklistView>,
    can_edit: bool,
    saved: bool,
}

impl ChecklistsPage {
    fn lines(&self, c: &ChecklistView) -> String {
        c.items
            .iter()
            .map(|i| format!("{} | {} | {} | {}", i.code, i.zh, i.en, i.category.code()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[derive(Deserialize)]
struct Saved {
    saved: Option<String>,
}

async fn list_page(
    State(state): State<InspectionsState>,
    Page {
        user, ctx, locale, ..
    }: Page<perm::InspectionsRead>,
    Query(q): Query<Saved>,
) -> Result<Response, PageError> {
    let lists = latest(&state.db).await.page(locale)?;
    Ok(render(&ChecklistsPage {
        ctx,
        lists,
        can_edit: user.role.allows(Permission::InspectionsManage),
        saved: q.saved.is_some(),
    }))
}

/// The items of the form's lines, each refused by its line number.
fn parse_lines(text: &str) -> Result<Vec<Item>, AppError> {
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let parts: Vec<&str> = line.split('|').map(str::trim).collect();
        match parts.as_slice() {
            [code, zh, en, category] => match Category::parse(category) {
                Some(category) => items.push(Item {
                    code: (*code).into(),
                    zh: (*zh).into(),
                    en: (*en).into(),
                    category,
                }),
                None => errors.push(FieldError::new(
                    format!("items[line {}]", n + 1),
                    "the fourth part is a case category (static_control, testing, supplies…)",
                )),
            },
            _ => errors.push(FieldError::new(
                format!("items[line {}]", n + 1),
                "code | 中文 | English | category",
            )),
        }
    }
    if errors.is_empty() {
        Ok(items)
    } else {
        Err(AppError::Invalid(errors))
    }
}

#[derive(Deserialize)]
struct ChecklistForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    items: String,
}

async fn save_submit(
    State(state): State<InspectionsState>,
    Page { user, locale, .. }: Page<perm::InspectionsManage>,
    Path(kind): Path<String>,
    axum::Form(form): axum::Form<ChecklistForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    let kind = SiteKind::parse(&kind)
        .ok_or(AppError::NotFound("site kind"))
        .page(locale)?;
    let items = parse_lines(&form.items).page(locale)?;
    Change::run(&state.db, &user.actor(), async |c| {
        save(c, kind, &items).await
    })
    .await
    .page(locale)?;
    Ok(Redirect::to(&format!(
        "/inspections/checklists?saved=1#checklist-{}",
        kind.code()
    ))
    .into_response())
}

pub fn router() -> Router<InspectionsState> {
    Router::new()
        .route("/inspections/checklists", axum::routing::get(list_page))
        .route(
            "/inspections/checklists/{kind}",
            axum::routing::post(save_submit),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checklist_is_read_a_line_an_item_and_a_bad_line_is_named() {
        let items = parse_lines("staffed_24h | 卡口24小时值守 | Gate staffed | static_control\n\n log_kept|台账|Log kept|other ").unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(
            (items[1].code.as_str(), items[1].category),
            ("log_kept", Category::Other)
        );
        let err =
            parse_lines("a | b | c | static_control\nbad line\nx | y | z | nope").unwrap_err();
        let fields: Vec<String> = err.fields().iter().map(|f| f.field.clone()).collect();
        assert_eq!(fields, ["items[line 2]", "items[line 3]"]);
    }
}
