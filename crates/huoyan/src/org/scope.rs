//! Where a caller may write: the ids a request names, and the row it changes, checked against
//! the caller's scope inside the writing change, so the check and the write see the same rows and
//! nothing is written outside it. A region-scoped caller (a district's dispatcher or commander)
//! writes inside their region's subtree; a team-scoped one (a branch leader) inside their team's
//! region (a branch: its compound), for their team and its groups and their members; an
//! administrator anywhere. Rows with no region (a city-wide team, a person with no home) lie at
//! the city level: only a caller whose region is the whole city reaches them.
//!
//! An id outside the reach fails its field as `Check::outside` (403, naming the field, nothing
//! written); an id that does not exist is left to the caller's existence check, which names it.

use sqlx::Row;

use crate::audit::Change;
use crate::auth::Principal;
use crate::check::Check;
use crate::error::AppResult;

enum Area {
    Everywhere,
    /// A region's subtree, by its path; `root` when that region is the whole city.
    Under {
        path: String,
        root: bool,
    },
    Nowhere,
}

impl Area {
    fn under(path: String) -> Area {
        let root = path.trim_matches('/').split('/').count() == 1;
        Area::Under { path, root }
    }
}

/// A caller's reach for writing, read inside the change.
pub struct Reach {
    area: Area,
    /// A team-scoped caller's team: they reach it, its groups and the people in them.
    team: Option<i64>,
}

impl Reach {
    pub async fn of(change: &mut Change, p: &Principal) -> AppResult<Reach> {
        let area = if let Some(path) = &p.scope_path {
            Area::under(path.clone())
        } else if let Some(team) = p.scope.team_id {
            let path: Option<Option<String>> = sqlx::query_scalar(
                "SELECT COALESCE(r.path, pr.path) FROM teams t LEFT JOIN regions r ON r.id = t.region_id \
                 LEFT JOIN teams pt ON pt.id = t.parent_id LEFT JOIN regions pr ON pr.id = pt.region_id \
                 WHERE t.id = $1",
            )
            .bind(team)
            .fetch_optional(&mut *change.tx)
            .await?;
            path.flatten().map_or(Area::Nowhere, Area::under)
        } else if p.scope.department_id.is_some() {
            Area::Nowhere
        } else {
            Area::Everywhere
        };
        Ok(Reach {
            area,
            team: p.scope.team_id,
        })
    }

    /// Whether a row in the region of `path` (None: a row of no region) is in reach.
    fn covers(&self, path: Option<&str>) -> bool {
        match (&self.area, path) {
            (Area::Everywhere, _) => true,
            (Area::Under { path: under, .. }, Some(p)) => p.starts_with(under.as_str()),
            (Area::Under { root, .. }, None) => *root,
            (Area::Nowhere, _) => false,
        }
    }

    fn everywhere(&self) -> bool {
        matches!(self.area, Area::Everywhere)
    }

    /// Fails `field` when region `id` lies outside the reach.
    pub async fn region(
        &self,
        change: &mut Change,
        check: &mut Check,
        field: &str,
        id: i64,
    ) -> AppResult<()> {
        if !self.everywhere()
            && let Some(path) = region_path(change, id).await?
            && !self.covers(Some(&path))
        {
            check.outside(field);
        }
        Ok(())
    }

    /// Fails `field` when a row of no region (a person with no home) would lie out of reach.
    pub fn no_region(&self, check: &mut Check, field: &str) {
        if !self.covers(None) {
            check.outside(field);
        }
    }

    /// Fails `field` when region `id` shares no ground with the reach: it neither lies inside it
    /// nor holds it (a branch leader's community holds their compound).
    pub async fn overlapping_region(
        &self,
        change: &mut Change,
        check: &mut Check,
        field: &str,
        id: i64,
    ) -> AppResult<()> {
        let inside = match &self.area {
            Area::Everywhere => true,
            Area::Nowhere => false,
            Area::Under { path: under, .. } => match region_path(change, id).await? {
                Some(path) => under.starts_with(&path) || path.starts_with(under.as_str()),
                None => true,
            },
        };
        if !inside {
            check.outside(field);
        }
        Ok(())
    }

    /// Fails `field` when person `id` is out of reach: their home lies outside, and (for a
    /// team-scoped caller) they are in neither the team nor its groups.
    pub async fn person(
        &self,
        change: &mut Change,
        check: &mut Check,
        field: &str,
        id: i64,
    ) -> AppResult<()> {
        if self.everywhere() {
            return Ok(());
        }
        let home: Option<Option<String>> = sqlx::query_scalar(
            "SELECT r.path FROM people p LEFT JOIN regions r ON r.id = p.home_region_id WHERE p.id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *change.tx)
        .await?;
        let Some(home) = home else { return Ok(()) };
        if self.covers(home.as_deref()) {
            return Ok(());
        }
        if let Some(team) = self.team {
            let member = sqlx::query(
                "SELECT 1 FROM team_members m JOIN teams t ON t.id = m.team_id \
                 WHERE m.person_id = $1 AND (t.id = $2 OR t.parent_id = $2)",
            )
            .bind(id)
            .bind(team)
            .fetch_optional(&mut *change.tx)
            .await?;
            if member.is_some() {
                return Ok(());
            }
        }
        check.outside(field);
        Ok(())
    }

    /// Fails `field` when team `id` is out of reach: for a team-scoped caller, any team but
    /// theirs and its groups; for others, a team working outside their region (a group without
    /// a region of its own works in its branch's).
    pub async fn team(
        &self,
        change: &mut Change,
        check: &mut Check,
        field: &str,
        id: i64,
    ) -> AppResult<()> {
        if self.everywhere() {
            return Ok(());
        }
        // A group with no region of its own works where its branch does.
        let Some(row) = sqlx::query(
            "SELECT t.parent_id AS parent_id, COALESCE(r.path, pr.path) AS path FROM teams t \
             LEFT JOIN regions r ON r.id = t.region_id \
             LEFT JOIN teams pt ON pt.id = t.parent_id LEFT JOIN regions pr ON pr.id = pt.region_id \
             WHERE t.id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *change.tx)
        .await?
        else {
            return Ok(());
        };
        let parent: Option<i64> = row.try_get("parent_id")?;
        let path: Option<String> = row.try_get("path")?;
        let inside = match self.team {
            Some(own) => id == own || parent == Some(own),
            None => self.covers(path.as_deref()),
        };
        if !inside {
            check.outside(field);
        }
        Ok(())
    }
}

async fn region_path(change: &mut Change, id: i64) -> AppResult<Option<String>> {
    Ok(sqlx::query_scalar("SELECT path FROM regions WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *change.tx)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn under(path: &str) -> Reach {
        Reach {
            area: Area::under(path.into()),
            team: None,
        }
    }

    #[test]
    fn a_subtree_covers_itself_and_below_only() {
        let district = under("/1/5/");
        assert!(district.covers(Some("/1/5/")));
        assert!(district.covers(Some("/1/5/40/288/")));
        assert!(!district.covers(Some("/1/50/")), "a sibling sharing digits");
        assert!(!district.covers(Some("/1/")));
        assert!(
            !district.covers(None),
            "rows of no region lie at the city level"
        );
        assert!(under("/1/").covers(None), "the city reaches them");
        let nowhere = Reach {
            area: Area::Nowhere,
            team: Some(3),
        };
        assert!(!nowhere.covers(Some("/1/")));
    }
}
