//! Addresses as people write them: which compound `大庆市高新区景程小区3号楼` names. A 12345 hotline
//! or a reporter types the place with or without the city, district, subdistrict and community in
//! front, a building or gate behind, spaces and full-width digits in between; the compound is the
//! one whose registered name the address contains.
//!
//! The rule: normalise the address (full-width to half-width, no spaces or punctuation, ASCII in
//! lower case); strip the names of the regions above compounds from its front (each recorded, in
//! its usual short forms too: 大庆 for 大庆市, 高新区 for 大庆高新技术产业开发区), stopping where a
//! compound's name begins that is at least as long as any region's name there (格林小镇 is not
//! 格林街道's 格林 and a rest, 黎明街道 is not the compound 黎明 and a rest); then find the
//! compounds whose names the rest contains. The longest name
//! wins (景程小区二期 over 景程小区); among equally long ones, those under more of the stripped
//! regions win; one left is the answer, several are ambiguous. A stripped region that none of
//! them lies in (a district mistyped) narrows nothing, so it does not refuse a clear name.

use std::collections::{HashMap, HashSet};

use super::RegionLevel;

/// A region as the matcher sees it: compounds are what an address may name, the levels above
/// them what it may begin with; buildings are ignored.
#[derive(Debug, Clone)]
pub struct NamedRegion {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub level: RegionLevel,
    pub name: String,
}

/// Which compound an address names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressMatch {
    Compound(i64),
    /// Several compounds fit equally well: their ids, ascending.
    Ambiguous(Vec<i64>),
    /// The address contains no compound's name.
    Unknown,
}

/// Ends of region names that people leave off: 萨尔图区 is written 萨尔图, 格林街道 格林.
const SUFFIXES: [&str; 15] = [
    "社区居民委员会",
    "社区居委会",
    "居民委员会",
    "居委会",
    "村民委员会",
    "村委会",
    "街道办事处",
    "街道",
    "社区",
    "市",
    "区",
    "县",
    "镇",
    "乡",
    "村",
];

/// Official endings and what people say instead.
const ABBREVIATIONS: [(&str, &str); 5] = [
    ("高新技术产业开发区", "高新区"),
    ("经济技术开发区", "经开区"),
    ("社区居委会", "社区"),
    ("社区居民委员会", "社区"),
    ("村民委员会", "村"),
];

/// The text an address and a name are compared in: full-width ASCII (`３号楼`, `Ａ区`) as
/// half-width, no white space (the ideographic space included) or punctuation, ASCII in lower
/// case.
pub fn normalise(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            c => c,
        })
        .filter(|c| !separator(*c))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn separator(c: char) -> bool {
    c.is_whitespace()
        || c.is_ascii_punctuation()
        || matches!(c, '\u{3001}'..='\u{303F}' | '\u{2010}'..='\u{2027}' | '·' | '・')
}

/// The ways a region's name is written: whole, with a usual abbreviation, without its generic
/// ending (when two characters remain), and without its parent's name in front (大庆高新区
/// after 大庆市 is 高新区).
fn forms(name: &str, parent: &[String]) -> Vec<String> {
    let whole = normalise(name);
    let mut out = vec![whole.clone()];
    for (long, short) in ABBREVIATIONS {
        if let Some(head) = whole.strip_suffix(long) {
            out.push(format!("{head}{short}"));
        }
    }
    for f in out.clone() {
        for s in SUFFIXES {
            if let Some(core) = f.strip_suffix(s).filter(|c| c.chars().count() >= 2) {
                out.push(core.to_string());
            }
        }
    }
    for f in out.clone() {
        for p in parent {
            if let Some(rest) = f
                .strip_prefix(p.as_str())
                .filter(|r| r.chars().count() >= 2)
            {
                out.push(rest.to_string());
            }
        }
    }
    out.retain(|f| !f.is_empty());
    out.sort();
    out.dedup();
    out
}

struct Compound {
    id: i64,
    name: String,
    /// The regions it lies in, up to the city.
    above: HashSet<i64>,
}

/// The compounds an address may name, and the regions it may begin with, prepared once for
/// matching many addresses.
pub struct Gazetteer {
    compounds: Vec<Compound>,
    /// Every form of every region above the compounds, longest first, with the regions it names.
    prefixes: Vec<(String, Vec<i64>)>,
    /// Each region's parent and name, for its lineage.
    regions: HashMap<i64, (Option<i64>, String)>,
}

impl Gazetteer {
    /// From the regions: the compounds among them are the ones an address may name (pass only
    /// those a caller may file against), the city, districts, subdistricts and communities the
    /// prefixes. A region whose parent is missing has fewer regions above it.
    pub fn new(regions: impl IntoIterator<Item = NamedRegion>) -> Self {
        let regions: Vec<NamedRegion> = regions.into_iter().collect();
        let by_id: HashMap<i64, &NamedRegion> = regions.iter().map(|r| (r.id, r)).collect();
        let lineage = |id: i64| {
            let mut ids = Vec::new();
            let mut at = by_id.get(&id).and_then(|r| r.parent_id);
            // Bounded by the tree's depth; the bound also stops a cycle in bad data.
            while let Some(p) = at.filter(|_| ids.len() < RegionLevel::ALL.len()) {
                ids.push(p);
                at = by_id.get(&p).and_then(|r| r.parent_id);
            }
            ids
        };
        // Forms from the top down, so each region's parent's forms are known.
        let mut above: Vec<&NamedRegion> = regions
            .iter()
            .filter(|r| r.level < RegionLevel::Compound)
            .collect();
        above.sort_by_key(|r| r.level);
        let mut forms_of: HashMap<i64, Vec<String>> = HashMap::new();
        let mut prefixes: HashMap<String, Vec<i64>> = HashMap::new();
        for r in above {
            let parent = r
                .parent_id
                .and_then(|p| forms_of.get(&p))
                .cloned()
                .unwrap_or_default();
            let fs = forms(&r.name, &parent);
            for f in &fs {
                prefixes.entry(f.clone()).or_default().push(r.id);
            }
            forms_of.insert(r.id, fs);
        }
        let mut prefixes: Vec<(String, Vec<i64>)> = prefixes.into_iter().collect();
        prefixes.sort_by_key(|(f, _)| (std::cmp::Reverse(f.chars().count()), f.clone()));
        let compounds = regions
            .iter()
            .filter(|r| r.level == RegionLevel::Compound)
            .map(|r| Compound {
                id: r.id,
                name: normalise(&r.name),
                above: lineage(r.id).into_iter().collect(),
            })
            .filter(|c| !c.name.is_empty())
            .collect();
        Gazetteer {
            compounds,
            prefixes,
            regions: regions
                .iter()
                .map(|r| (r.id, (r.parent_id, r.name.clone())))
                .collect(),
        }
    }

    /// Which compound `address` names (see the module's rule).
    pub fn find(&self, address: &str) -> AddressMatch {
        let text = normalise(address);
        let mut rest = text.as_str();
        let mut named: Vec<&[i64]> = Vec::new();
        loop {
            let compound = self
                .compounds
                .iter()
                .filter(|c| rest.starts_with(&c.name))
                .map(|c| c.name.chars().count())
                .max()
                .unwrap_or(0);
            match self.prefixes.iter().find(|(f, _)| rest.starts_with(f)) {
                Some((form, ids)) if form.chars().count() > compound => {
                    named.push(ids);
                    rest = &rest[form.len()..];
                }
                _ => break,
            }
        }
        let found: Vec<&Compound> = self
            .compounds
            .iter()
            .filter(|c| rest.contains(&c.name))
            .collect();
        let Some(longest) = found.iter().map(|c| c.name.chars().count()).max() else {
            return AddressMatch::Unknown;
        };
        let scored: Vec<(usize, i64)> = found
            .iter()
            .filter(|c| c.name.chars().count() == longest)
            .map(|c| {
                let under = named
                    .iter()
                    .filter(|ids| ids.iter().any(|id| c.above.contains(id)))
                    .count();
                (under, c.id)
            })
            .collect();
        let best = scored.iter().map(|(s, _)| *s).max().unwrap_or_default();
        let mut ids: Vec<i64> = scored
            .into_iter()
            .filter(|(s, _)| *s == best)
            .map(|(_, id)| id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        match ids.as_slice() {
            [one] => AddressMatch::Compound(*one),
            _ => AddressMatch::Ambiguous(ids),
        }
    }

    /// The names of the regions from the city down to `id` (the ones given to `new`).
    pub fn lineage(&self, id: i64) -> Vec<&str> {
        let mut names = Vec::new();
        let mut at = Some(id);
        while let Some((parent, name)) = at
            .filter(|_| names.len() < RegionLevel::ALL.len())
            .and_then(|i| self.regions.get(&i))
        {
            names.push(name.as_str());
            at = *parent;
        }
        names.reverse();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use RegionLevel as L;

    fn region(id: i64, parent_id: Option<i64>, level: RegionLevel, name: &str) -> NamedRegion {
        NamedRegion {
            id,
            parent_id,
            level,
            name: name.into(),
        }
    }

    /// A piece of Daqing: 景程小区 in the High-tech Zone, and a second one in Sartu, which two
    /// real compounds could well share.
    fn daqing() -> Vec<NamedRegion> {
        vec![
            region(1, None, L::City, "大庆市"),
            region(2, Some(1), L::District, "大庆高新技术产业开发区"),
            region(3, Some(2), L::Subdistrict, "开发区黎明街道"),
            region(4, Some(3), L::Community, "景程社区居委会"),
            region(10, Some(4), L::Compound, "景程小区"),
            region(11, Some(4), L::Compound, "景程东苑"),
            region(12, Some(4), L::Compound, "景程小区二期"),
            region(20, Some(1), L::District, "萨尔图区"),
            region(21, Some(20), L::Subdistrict, "格林街道"),
            region(22, Some(21), L::Community, "月亮湾社区居委会"),
            region(30, Some(22), L::Compound, "毅腾商都"),
            region(31, Some(22), L::Compound, "格林小镇"),
            region(40, Some(1), L::District, "让胡路区"),
            region(41, Some(40), L::Subdistrict, "黎明街道"),
            region(42, Some(41), L::Community, "新村社区居委会"),
            region(43, Some(42), L::Compound, "新村七区"),
            region(44, Some(42), L::Compound, "黎明"),
            region(50, Some(10), L::Building, "3号楼"),
        ]
    }

    fn with_second_jingcheng() -> Gazetteer {
        let mut regions = daqing();
        regions.push(region(32, Some(22), L::Compound, "景程小区"));
        Gazetteer::new(regions)
    }

    #[test]
    fn a_compound_is_found_however_the_address_is_written() {
        let g = Gazetteer::new(daqing());
        for address in [
            "景程小区",
            "景程小区3号楼",
            "景程小区 3号楼 2单元",
            "大庆市高新区景程小区",
            "大庆市高新区景程小区3号楼东门",
            "大庆高新区景程小区",
            "高新区 黎明街道 景程社区 景程小区",
            "大庆市　高新区　景程小区　３号楼",
            "黑龙江省大庆市景程小区（3号楼）",
            "景程小区，3-2-101",
        ] {
            assert_eq!(g.find(address), AddressMatch::Compound(10), "{address}");
        }
        assert_eq!(
            g.find("萨尔图区格林街道毅腾商都"),
            AddressMatch::Compound(30)
        );
        assert_eq!(g.find("新村七区５栋"), AddressMatch::Compound(43));
    }

    #[test]
    fn full_width_and_case_are_folded() {
        assert_eq!(normalise("３号楼　Ａ区, 2单元"), "3号楼a区2单元");
        assert_eq!(normalise("景程小区（东门）"), "景程小区东门");
        let mut regions = daqing();
        regions.push(region(33, Some(22), L::Compound, "CBD国际"));
        let g = Gazetteer::new(regions);
        assert_eq!(g.find("ｃｂｄ国际 8栋"), AddressMatch::Compound(33));
    }

    #[test]
    fn the_longest_name_wins() {
        let g = Gazetteer::new(daqing());
        assert_eq!(g.find("景程小区二期5号楼"), AddressMatch::Compound(12));
        assert_eq!(g.find("景程东苑2号楼"), AddressMatch::Compound(11));
    }

    #[test]
    fn a_prefix_is_not_read_as_a_compound_and_does_not_eat_one() {
        let g = Gazetteer::new(daqing());
        // 黎明 is a compound, but here it is the subdistrict in front.
        assert_eq!(g.find("让胡路区黎明街道3号楼"), AddressMatch::Unknown);
        assert_eq!(g.find("黎明5栋"), AddressMatch::Compound(44));
        // 格林 is 格林街道's short form and the start of 格林小镇.
        assert_eq!(g.find("格林小镇"), AddressMatch::Compound(31));
        assert_eq!(
            g.find("萨尔图区格林街道格林小镇"),
            AddressMatch::Compound(31)
        );
    }

    #[test]
    fn a_name_shared_by_two_compounds_is_told_apart_by_the_regions_in_front() {
        let g = with_second_jingcheng();
        assert_eq!(
            g.find("景程小区3号楼"),
            AddressMatch::Ambiguous(vec![10, 32])
        );
        assert_eq!(g.find("大庆市高新区景程小区"), AddressMatch::Compound(10));
        assert_eq!(g.find("萨尔图区景程小区"), AddressMatch::Compound(32));
        assert_eq!(g.find("萨尔图景程小区"), AddressMatch::Compound(32));
        assert_eq!(g.find("月亮湾社区景程小区"), AddressMatch::Compound(32));
        assert_eq!(g.find("开发区黎明街道景程小区"), AddressMatch::Compound(10));
        // A district that holds neither narrows nothing.
        assert_eq!(
            g.find("让胡路区景程小区"),
            AddressMatch::Ambiguous(vec![10, 32])
        );
    }

    #[test]
    fn a_wrong_district_does_not_refuse_a_clear_name() {
        let g = Gazetteer::new(daqing());
        assert_eq!(g.find("萨尔图区景程东苑"), AddressMatch::Compound(11));
    }

    #[test]
    fn two_compounds_named_in_one_address_are_ambiguous() {
        let g = Gazetteer::new(daqing());
        assert_eq!(
            g.find("景程小区与毅腾商都之间"),
            AddressMatch::Ambiguous(vec![10, 30])
        );
    }

    #[test]
    fn an_address_naming_no_compound_is_unknown() {
        let g = Gazetteer::new(daqing());
        for address in [
            "",
            "   ",
            "中央大街12号",
            "大庆市高新区",
            "景程社区",
            "3号楼",
        ] {
            assert_eq!(g.find(address), AddressMatch::Unknown, "{address:?}");
        }
    }

    #[test]
    fn only_the_compounds_given_count() {
        // A caller scoped to 月亮湾 is given only its compounds: the other 景程小区 is not a
        // candidate, and the High-tech Zone's compounds are unknown to it.
        let mut regions: Vec<NamedRegion> = daqing()
            .into_iter()
            .filter(|r| r.level != L::Compound)
            .collect();
        regions.push(region(30, Some(22), L::Compound, "毅腾商都"));
        regions.push(region(32, Some(22), L::Compound, "景程小区"));
        let g = Gazetteer::new(regions);
        assert_eq!(g.find("景程小区3号楼"), AddressMatch::Compound(32));
        assert_eq!(g.find("景程东苑"), AddressMatch::Unknown);
    }

    #[test]
    fn short_forms_of_region_names() {
        let city = forms("大庆市", &[]);
        assert!(city.contains(&"大庆".to_string()), "{city:?}");
        let zone = forms("大庆高新技术产业开发区", &city);
        for f in ["大庆高新区", "高新区", "高新技术产业开发区"] {
            assert!(zone.contains(&f.to_string()), "{f} in {zone:?}");
        }
        let community = forms("景程社区居委会", &[]);
        for f in ["景程社区居委会", "景程社区", "景程"] {
            assert!(community.contains(&f.to_string()), "{f} in {community:?}");
        }
        // A one-character core is no form: 区 alone would strip too much.
        assert_eq!(forms("东区", &[]), vec!["东区".to_string()]);
    }

    #[test]
    fn lineage_runs_from_the_city_down() {
        let g = Gazetteer::new(daqing());
        assert_eq!(
            g.lineage(10),
            vec![
                "大庆市",
                "大庆高新技术产业开发区",
                "开发区黎明街道",
                "景程社区居委会",
                "景程小区"
            ]
        );
        assert!(g.lineage(999).is_empty());
    }
}
