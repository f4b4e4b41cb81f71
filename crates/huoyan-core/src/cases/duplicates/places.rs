//! The places a report names: two reports that name different buildings, entrances, sampling
//! points, rooms or gates are about different problems however alike their words.

use super::text::{ends_with, starts_with};

/// The places a normalised text names, each kind as a set: when two texts both name places of a
/// kind and none in common, they are about different places.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct Places {
    buildings: Vec<u64>,
    entrances: Vec<u64>,
    sampling_points: Vec<u64>,
    rooms: Vec<u64>,
    /// Compass points of the gates, sides and corners named (东门, 南侧, 西北角): bits 东 西 南 北.
    directions: u8,
}

fn compass(c: char) -> u8 {
    match c {
        '东' => 1,
        '西' => 2,
        '南' => 4,
        '北' => 8,
        _ => 0,
    }
}

impl Places {
    pub(super) fn of(chars: &[char]) -> Self {
        let mut out = Places::default();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_ascii_digit() {
                let end = i + chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                let number: Option<u64> = chars[i..end].iter().collect::<String>().parse().ok();
                let (before, rest) = (&chars[..i], &chars[end..]);
                if let Some(n) = number {
                    if starts_with(rest, "号楼") {
                        out.buildings.push(n);
                    } else if starts_with(rest, "单元") {
                        out.entrances.push(n);
                    } else if starts_with(rest, "号采样点") || starts_with(rest, "号点") {
                        out.sampling_points.push(n);
                    } else if (3..=4).contains(&(end - i))
                        && (i == 0 || ends_with(before, "号楼") || ends_with(before, "单元"))
                    {
                        out.rooms.push(n);
                    }
                }
                i = end;
            } else if compass(c) != 0 {
                let end = i + chars[i..]
                    .iter()
                    .take(2)
                    .take_while(|c| compass(**c) != 0)
                    .count();
                if chars.get(end).is_some_and(|c| "门侧边角面".contains(*c)) {
                    out.directions |= chars[i..end].iter().fold(0, |m, c| m | compass(*c));
                }
                i = end;
            } else {
                i += 1;
            }
        }
        out
    }

    pub(super) fn differ(&self, other: &Places) -> bool {
        let apart = |a: &[u64], b: &[u64]| {
            !a.is_empty() && !b.is_empty() && !a.iter().any(|x| b.contains(x))
        };
        apart(&self.buildings, &other.buildings)
            || apart(&self.entrances, &other.entrances)
            || apart(&self.sampling_points, &other.sampling_points)
            || apart(&self.rooms, &other.rooms)
            || (self.directions != 0
                && other.directions != 0
                && self.directions & other.directions == 0)
    }

    /// Whether both texts name one place of their compound.
    pub(super) fn name_any(&self, other: &Places) -> bool {
        let any = |a: &[u64], b: &[u64]| a.iter().any(|x| b.contains(x));
        any(&self.buildings, &other.buildings)
            || any(&self.entrances, &other.entrances)
            || any(&self.rooms, &other.rooms)
            || self.directions & other.directions != 0
    }

    /// The places both texts name, as words for the clerk (3号楼, 1单元, 2号采样点, 东门…): what
    /// makes two reports about one spot.
    pub(super) fn shared(&self, other: &Places) -> Vec<String> {
        let both = |a: &[u64], b: &[u64], unit: &str| -> Vec<String> {
            a.iter()
                .filter(|x| b.contains(x))
                .map(|x| format!("{x}{unit}"))
                .collect()
        };
        let mut out = both(&self.buildings, &other.buildings, "号楼");
        out.extend(both(&self.entrances, &other.entrances, "单元"));
        out.extend(both(
            &self.sampling_points,
            &other.sampling_points,
            "号采样点",
        ));
        out.extend(both(&self.rooms, &other.rooms, "室"));
        let common = self.directions & other.directions;
        out.extend(
            [('东', 1), ('西', 2), ('南', 4), ('北', 8)]
                .into_iter()
                .filter(|(_, bit)| common & bit != 0)
                .map(|(c, _)| format!("{c}侧")),
        );
        out
    }
}
