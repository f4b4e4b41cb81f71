//! Filing a report: the request parsed and checked at the boundary (the compound matched from the
//! address or the point when none is named by id, in the reporter's scope; a point in another
//! compound than the one named refused), then written by the intake's group commit, or, with
//! photos, with them in a transaction of its own.

use huoyan_core::auth::Role;
use huoyan_core::cases::{Category, Kind, Priority, Source};
use huoyan_core::org::RegionLevel;
use huoyan_core::org::addresses::AddressMatch;
use serde::Deserialize;
use utoipa::ToSchema;

use super::files::Upload;
use super::intake::{self, Filed, Filing};
use super::labels::Names;
use super::{CaseDetail, CasesState};
use crate::audit::Change;
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
    /// The compound; when absent, the one whose name `address` contains (`大庆市高新区景程小区3号楼`:
    /// a name shared by several is told apart by the point or the regions written in front of it,
    /// else refused listing them), or the one whose outline holds `lon`/`lat`. A point inside
    /// another compound's outline than the one named is refused.
    pub compound_id: Option<i64>,
    /// WGS-84 longitude, with `lat`.
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// Where, as people write it: the compound, building, gate.
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
    let point_in = match located {
        Some(Located::Compound(c)) => Some(c),
        _ => None,
    };
    // The compound as the report names it: by id, else by the name its address contains.
    let named = match new.compound_id {
        Some(c) => Some(("compound_id", c)),
        None if !new.address.trim().is_empty() => {
            let by_address =
                crate::org::addresses::compound_named(&app.db, p, new.address.trimmed()).await?;
            match &by_address.found {
                AddressMatch::Compound(c) => Some(("address", *c)),
                // The point tells which of them.
                AddressMatch::Ambiguous(ids) if point_in.is_some_and(|c| ids.contains(&c)) => None,
                AddressMatch::Ambiguous(ids) => {
                    check.fail(
                        "address",
                        format!(
                            "matches {} compounds: {}",
                            ids.len(),
                            by_address.candidates(ids)
                        ),
                    );
                    None
                }
                // A street, a gate: the point, if any, finds the compound.
                AddressMatch::Unknown if point_in.is_some() => None,
                AddressMatch::Unknown => {
                    check.fail(
                        "address",
                        if by_address.scoped {
                            "names no compound in your scope"
                        } else {
                            "names no known compound"
                        },
                    );
                    None
                }
            }
        }
        None => None,
    };
    let compound_id = match (named, point_in) {
        (Some((_, c)), _) => Some(c),
        (None, Some(c)) => Some(c),
        (None, None) => {
            if !check.failed("address") && located != Some(Located::OutsideCity) {
                check.fail(
                    "compound_id",
                    "name the compound (the report's point, if any, lies in no known compound)",
                );
            }
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
    if let (Some((field, c)), Some(at), Some(lon), Some(lat)) = (named, point_in, new.lon, new.lat)
        && !check.failed("compound_id")
    {
        // A point in another compound's outline is not in the one named, outlines being
        // disjoint; unless they overlap (data drawn roughly), which the named one's outline tells.
        // A named compound without an outline is refused alike: the point lies where another
        // compound is known to be. A point in no outline (the street by the gate, a GPS fix tens
        // of metres off) contradicts nothing and is taken.
        if at != c && !crate::org::regions::outline_contains(&app.db, c, lon, lat).await? {
            let names = Names::of(&app.db, [c, at], None, None).await?;
            let why = format!(
                "the point lies in {} (id {at}), not in {} (id {c})",
                names.compound(&at),
                names.compound(&c)
            );
            check.fail(field, why.clone());
            check.fail("lon", why);
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

/// What another context found that is to become a case (an inspection's failed item, a
/// positive tube's follow-ups).
pub struct Finding {
    pub source: Source,
    pub priority: Priority,
    pub category: Category,
    pub compound_id: i64,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub address: String,
    pub description: String,
}

/// Files `f` as a problem found by `p` (on an inspection, in a lab's results), inside the
/// finder's `change`, so the finding and its case are written together or not at all; returns
/// the case's id. The case then runs the ordinary flow, or is closed as fixed on the spot by the
/// inspector's own step.
pub async fn file_finding(change: &mut Change, p: &Principal, f: Finding) -> AppResult<i64> {
    let filing = Filing {
        actor: p.actor(),
        account_id: p.account_id,
        key: None,
        kind: Kind::Problem,
        source: f.source,
        category: f.category,
        priority: f.priority,
        compound_id: f.compound_id,
        lon: f.lon,
        lat: f.lat,
        address: f.address,
        description: f.description,
    };
    Ok(intake::file_in(change, &filing, &[]).await?.0)
}
