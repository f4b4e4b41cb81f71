//! Filing a report: the request parsed and checked at the boundary (the compound matched from the
//! point when none is named, in the reporter's scope), then written by the intake's group commit,
//! or, with photos, with them in a transaction of its own.

use huoyan_core::auth::Role;
use huoyan_core::cases::{Category, Kind, Priority, Source};
use huoyan_core::org::RegionLevel;
use serde::Deserialize;
use utoipa::ToSchema;

use super::files::Upload;
use super::intake::{self, Filed, Filing};
use super::{CaseDetail, CasesState};
use crate::auth::Principal;
use crate::check::{Check, Text};
use crate::error::AppResult;
use crate::http::IdempotencyKey;
use crate::org::regions::Located;

/// A problem or suggestion as a reporter files it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    /// Problem when absent.
    pub kind: Option<Kind>,
    /// From the reporter's role when absent.
    pub source: Option<Source>,
    pub category: Category,
    /// Normal when absent.
    pub priority: Option<Priority>,
    /// The compound; matched from `lon`/`lat` when absent.
    pub compound_id: Option<i64>,
    /// WGS-84 longitude, with `lat`.
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    #[serde(default)]
    pub address: Text<200>,
    pub description: Text<4000>,
}

fn default_source(role: Role) -> Source {
    match role {
        Role::Inspector => Source::Inspection,
        Role::Pilot => Source::Drone,
        Role::Office => Source::Hotline,
        _ => Source::Supervisor,
    }
}

/// Files a case with its `photos` (checked uploads; they belong to the report); a repeated
/// `Idempotency-Key` from the same account returns the first case. Answers with the case's id
/// and, when this call made it, the case as written.
pub async fn report(
    app: &CasesState,
    p: &Principal,
    new: &NewCase,
    key: &IdempotencyKey,
    photos: &[Upload],
) -> AppResult<(i64, Option<CaseDetail>)> {
    let key = key.0.as_deref();
    // A resent key is answered by the writer, which looks keys up inside its transaction: no
    // read here, so a new report (nearly every one) costs one round trip less. Only a resend
    // that no longer passes (its point now outside any compound, its reporter's scope changed)
    // is looked up before it is refused, below.
    let mut check = Check::default();
    check.non_empty("description", new.description.as_str(), 4000);
    crate::geo::check_point(&mut check, new.lon, new.lat);
    // A point is matched to its compound; a point outside the city is refused.
    let located = match (new.lon, new.lat) {
        (Some(lon), Some(lat)) if !check.failed("lon") && !check.failed("lat") => {
            Some(crate::org::regions::locate(&app.db, lon, lat).await?)
        }
        _ => None,
    };
    if located == Some(Located::OutsideCity) {
        check.fail("lon", "the point lies outside the city");
    }
    let compound_id = match (new.compound_id, located) {
        (Some(c), _) => Some(c),
        (None, Some(Located::Compound(c))) => Some(c),
        (None, Some(Located::OutsideCity)) => None,
        (None, _) => {
            check.fail(
                "compound_id",
                "name the compound (the report's point, if any, lies in no known compound)",
            );
            None
        }
    };
    if let Some(compound_id) = compound_id {
        match app.regions.get(&app.db, compound_id).await? {
            None => check.fail("compound_id", "no such region"),
            Some((level, _)) if level != RegionLevel::Compound => {
                check.fail("compound_id", "a case is filed against a compound")
            }
            Some((_, path)) => {
                if !p.region_in_scope(&path) {
                    check.outside("compound_id");
                }
            }
        }
    }
    if let Err(refused) = check.done() {
        return match intake::by_key(&app.db, p.account_id, key).await? {
            Some(id) => Ok((id, None)),
            None => Err(refused),
        };
    }
    let filing = Filing {
        actor: p.actor(),
        account_id: p.account_id,
        key: key.map(str::to_string),
        kind: new.kind.unwrap_or(Kind::Problem),
        source: new.source.unwrap_or_else(|| default_source(p.role)),
        category: new.category,
        priority: new.priority.unwrap_or(Priority::Normal),
        compound_id: compound_id.expect("checked"),
        lon: new.lon,
        lat: new.lat,
        address: new.address.trimmed().to_string(),
        description: new.description.trimmed().to_string(),
    };
    if !photos.is_empty() {
        p.require(huoyan_core::auth::Permission::CasesEvidence)?;
        return match intake::write_one(&app.db, &filing, photos).await? {
            Filed::New { id, .. } => Ok((id, Some(super::detail(&app.db, p, id).await?))),
            Filed::Existing(id) => Ok((id, None)),
        };
    }
    match app.intake.file(filing.clone()).await? {
        Filed::New { id, entry, at_ms } => Ok((id, Some(filing.as_written(id, entry, at_ms)))),
        Filed::Existing(id) => Ok((id, None)),
    }
}
