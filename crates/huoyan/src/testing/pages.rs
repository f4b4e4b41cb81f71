//! The testing pages: the sheets of code cards for residents without a smartphone.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use sqlx::Row;

use super::TestingState;
use super::residents::{ResidentView, carded};
use crate::auth::{Page, perm};
use crate::db::Sql;
use crate::error::AppError;
use crate::web::{PageCtx, PageError, PageResultExt, render};

/// A building with residents who carry a card.
pub struct CardedBuilding {
    pub compound_id: i64,
    pub compound: String,
    pub building: String,
    pub residents: i64,
}

/// A card: its resident and the QR code their code scans as.
pub struct Card {
    pub resident: ResidentView,
    pub svg: String,
}

#[derive(askama::Template)]
#[template(path = "testing/cards.html")]
struct CardsPage {
    ctx: PageCtx,
    buildings: Vec<CardedBuilding>,
    /// The sheet of one building, when one is asked for.
    sheet: Option<(CardedBuilding, Vec<Card>)>,
}

#[derive(Debug, Deserialize)]
struct CardsQuery {
    compound_id: Option<i64>,
    building: Option<String>,
}

/// The buildings with carded residents in the caller's region; with `compound_id` and
/// `building`, that building's A4 sheet of cards, each a QR code that scans as the resident's
/// code (the code written beside it for a wedge scanner or to read out).
async fn cards_page(
    State(state): State<TestingState>,
    Page {
        user, ctx, locale, ..
    }: Page<perm::TestingRegister>,
    Query(q): Query<CardsQuery>,
) -> Result<Response, PageError> {
    let mut sql = Sql::new(
        "SELECT r.compound_id, g.name, r.building, COUNT(*) AS n FROM residents r \
         JOIN regions g ON g.id = r.compound_id WHERE r.carded = 1",
    );
    user.scope_region(&mut sql, "g.path");
    sql.push(" GROUP BY r.compound_id, g.name, r.building ORDER BY g.name, r.building LIMIT 500");
    let rows = sql
        .query()
        .fetch_all(&state.db.pool)
        .await
        .map_err(AppError::from)
        .page(locale)?;
    let buildings = rows
        .iter()
        .map(|r| {
            Ok(CardedBuilding {
                compound_id: r.try_get("compound_id")?,
                compound: r.try_get("name")?,
                building: r.try_get("building")?,
                residents: r.try_get("n")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(AppError::from)
        .page(locale)?;
    let sheet = match (q.compound_id, q.building) {
        (Some(compound), Some(building)) => {
            let residents = carded(&state.db, &user, compound, &building)
                .await
                .page(locale)?;
            let mut cards = Vec::with_capacity(residents.len());
            for resident in residents {
                let svg = qrcode::QrCode::new(resident.code.as_bytes())
                    .map_err(|e| AppError::from(anyhow::anyhow!("QR code: {e}")))
                    .page(locale)?
                    .render::<qrcode::render::svg::Color>()
                    .min_dimensions(150, 150)
                    .build();
                cards.push(Card { resident, svg });
            }
            let head = buildings
                .iter()
                .find(|b| b.compound_id == compound && b.building == building)
                .map(|b| CardedBuilding {
                    compound_id: b.compound_id,
                    compound: b.compound.clone(),
                    building: b.building.clone(),
                    residents: b.residents,
                })
                .ok_or(AppError::NotFound("building"))
                .page(locale)?;
            Some((head, cards))
        }
        _ => None,
    };
    Ok(render(&CardsPage {
        ctx,
        buildings,
        sheet,
    }))
}

pub fn router() -> Router<TestingState> {
    Router::new().route("/testing/cards", axum::routing::get(cards_page))
}
