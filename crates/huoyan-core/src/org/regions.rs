use serde::{Deserialize, Serialize};

/// The six levels of the regions tree, from the city down to one building.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RegionLevel {
    City,
    District,
    Subdistrict,
    Community,
    Compound,
    Building,
}

impl RegionLevel {
    pub const ALL: [RegionLevel; 6] = [
        Self::City,
        Self::District,
        Self::Subdistrict,
        Self::Community,
        Self::Compound,
        Self::Building,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::City => "city",
            Self::District => "district",
            Self::Subdistrict => "subdistrict",
            Self::Community => "community",
            Self::Compound => "compound",
            Self::Building => "building",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.code() == code)
    }

    pub fn zh(self) -> &'static str {
        match self {
            Self::City => "市",
            Self::District => "区",
            Self::Subdistrict => "街道",
            Self::Community => "社区",
            Self::Compound => "小区",
            Self::Building => "楼栋",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            Self::City => "City",
            Self::District => "District",
            Self::Subdistrict => "Subdistrict",
            Self::Community => "Community",
            Self::Compound => "Compound",
            Self::Building => "Building",
        }
    }

    pub fn label(self, english: bool) -> &'static str {
        if english { self.en() } else { self.zh() }
    }

    /// The level a parent of this level must have; `None` for the city, which is the root.
    pub fn parent_level(self) -> Option<Self> {
        let i = Self::ALL.iter().position(|l| *l == self)?;
        i.checked_sub(1).map(|p| Self::ALL[p])
    }

    /// Whether a region of this level may hang under a parent of `parent` level (or be a root).
    pub fn fits_under(self, parent: Option<Self>) -> bool {
        self.parent_level() == parent
    }
}

/// A region's position in the tree as the ids from the root down to itself, stored as
/// `/1/5/23/` so that "the subtree of X" is one prefix match on either database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionPath(String);

impl RegionPath {
    pub fn root(id: i64) -> Self {
        Self(format!("/{id}/"))
    }

    pub fn child(&self, id: i64) -> Self {
        Self(format!("{}{id}/", self.0))
    }

    pub fn from_stored(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Ids from the root down to the region itself.
    pub fn ids(&self) -> Vec<i64> {
        self.0.split('/').filter_map(|s| s.parse().ok()).collect()
    }

    /// True when `other` is this region or lies below it.
    pub fn contains(&self, other: &RegionPath) -> bool {
        other.0.starts_with(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn each_level_hangs_under_the_one_above() {
        assert!(RegionLevel::City.fits_under(None));
        assert!(RegionLevel::Compound.fits_under(Some(RegionLevel::Community)));
        assert!(!RegionLevel::Compound.fits_under(Some(RegionLevel::Subdistrict)));
        assert!(!RegionLevel::District.fits_under(None));
        assert!(!RegionLevel::Building.fits_under(Some(RegionLevel::Building)));
    }

    #[test]
    fn codes_round_trip() {
        for l in RegionLevel::ALL {
            assert_eq!(RegionLevel::parse(l.code()), Some(l));
        }
        assert_eq!(RegionLevel::parse("province"), None);
    }

    proptest! {
        #[test]
        fn a_path_contains_exactly_its_descendants(ids in proptest::collection::vec(1i64..50, 1..6), other in 1i64..50) {
            let mut path = RegionPath::root(ids[0]);
            for id in &ids[1..] { path = path.child(*id); }
            prop_assert_eq!(path.ids(), ids.clone());
            let below = path.child(other);
            prop_assert!(path.contains(&below));
            prop_assert!(path.contains(&path));
            prop_assert!(!below.contains(&path));
            // A sibling whose id shares a prefix (1 vs 12) is not inside.
            let sibling = RegionPath::from_stored(format!("{}{}/", path.as_str().trim_end_matches(&format!("{}/", ids[ids.len()-1])), ids[ids.len()-1] * 10 + 1));
            prop_assert!(!path.contains(&sibling));
        }
    }
}
