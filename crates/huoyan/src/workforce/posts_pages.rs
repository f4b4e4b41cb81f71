//! The posts on a page: each site's jobs with their shifts and a link to print the day's
//! sign-in code; a form that adds a post, and one that imports a sheet of them.

use axum::Router;
use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::response::{IntoResponse, Redirect, Response};
use huoyan_core::auth::Permission;
use huoyan_core::workforce::posts::Job;
use serde::Deserialize;

use super::WorkforceState;
use super::posts::{self, NewPost, PostFilter, PostView};
use crate::audit::Change;
use crate::auth::{Page, Principal, perm};
use crate::check::Text;
use crate::error::AppError;
use crate::tabular::Format;
use crate::web::{PageCtx, PageError, PageResultExt, render};

#[derive(askama::Template)]
#[template(path = "workforce/posts.html")]
struct PostsPage {
    ctx: PageCtx,
    posts: Vec<PostView>,
    /// The sites the reader may add a post at (id, "site · community"); empty for readers.
    sites: Vec<(i64, String)>,
    jobs: Vec<(&'static str, &'static str)>,
    imported: Option<usize>,
}

#[derive(Deserialize)]
struct Shown {
    imported: Option<usize>,
}

async fn sites_of(state: &WorkforceState, p: &Principal) -> Result<Vec<(i64, String)>, AppError> {
    let mut sql = crate::db::Sql::new(
        "SELECT s.id, s.name, g.name AS region FROM sites s JOIN regions g ON g.id = s.region_id WHERE 1 = 1",
    );
    p.scope_region(&mut sql, "g.path");
    sql.push(" ORDER BY g.name, s.name LIMIT 5000");
    use sqlx::Row;
    sql.query()
        .fetch_all(&state.db.pool)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                format!(
                    "{} · {}",
                    r.try_get::<String, _>("name")?,
                    r.try_get::<String, _>("region")?
                ),
            ))
        })
        .collect()
}

async fn posts_page(
    State(state): State<WorkforceState>,
    Page {
        user, ctx, locale, ..
    }: Page<perm::WorkforceRead>,
    axum::extract::Query(q): axum::extract::Query<Shown>,
) -> Result<Response, PageError> {
    let f = PostFilter {
        region_id: None,
        site_id: None,
        all: None,
    };
    let posts = posts::list(&state.db, &user, &f).await.page(locale)?;
    let sites = if user.role.allows(Permission::WorkforceManage) {
        sites_of(&state, &user).await.page(locale)?
    } else {
        Vec::new()
    };
    Ok(render(&PostsPage {
        jobs: Job::choices(ctx.en()),
        ctx,
        posts,
        sites,
        imported: q.imported,
    }))
}

#[derive(Deserialize)]
struct PostForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    site_id: String,
    #[serde(default)]
    job: String,
    #[serde(default)]
    skills: String,
    #[serde(default)]
    shifts: String,
    #[serde(default)]
    note: String,
}

async fn create_submit(
    State(state): State<WorkforceState>,
    Page { user, locale, .. }: Page<perm::WorkforceManage>,
    axum::Form(form): axum::Form<PostForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    let site_id = form
        .site_id
        .trim()
        .parse::<i64>()
        .map_err(|_| AppError::invalid("site_id", "choose a site"))
        .page(locale)?;
    let job = Job::parse(form.job.trim())
        .ok_or_else(|| AppError::invalid("job", "choose a job"))
        .page(locale)?;
    let shifts = super::posts_import::shifts(&form.shifts)
        .map_err(|why| AppError::invalid("shifts", why))
        .page(locale)?;
    let skills = form
        .skills
        .split([',', '，', '、'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(|w| Text::field("skills", w))
        .collect::<Result<Vec<_>, _>>()
        .page(locale)?;
    let new = NewPost {
        site_id,
        job,
        skills,
        note: Text::field("note", form.note).page(locale)?,
        shifts,
    };
    Change::run(&state.db, &user.actor(), async |c| {
        posts::create(c, &user, &new).await
    })
    .await
    .page(locale)?;
    Ok(Redirect::to("/workforce/posts").into_response())
}

async fn import_submit(
    State(state): State<WorkforceState>,
    Page { user, locale, .. }: Page<perm::WorkforceManage>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let upload = crate::web::upload(form, &["_csrf"]).await.page(locale)?;
    user.check_csrf(upload.fields.get("_csrf").map(String::as_str))
        .page(locale)?;
    let format = Format::from_path(std::path::Path::new(&upload.name))
        .ok()
        .filter(|f| *f != Format::GeoJson)
        .ok_or_else(|| AppError::invalid("file", "use a .xlsx or .csv file"))
        .page(locale)?;
    let n = super::posts_import::run(&state.db, &user, format, &upload.bytes)
        .await
        .page(locale)?;
    Ok(Redirect::to(&format!("/workforce/posts?imported={n}")).into_response())
}

pub fn router() -> Router<WorkforceState> {
    Router::new()
        .route(
            "/workforce/posts",
            axum::routing::get(posts_page).post(create_submit),
        )
        .route(
            "/workforce/posts/import",
            axum::routing::post(import_submit),
        )
}
