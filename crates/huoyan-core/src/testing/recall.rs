//! What a positive pooled tube sets going beyond its recall list: for each building its people
//! live in, a case for the single-tube retests at their doors and one for the building's control,
//! both in the ordinary case flow, so a unit is dispatched and chased until they are verified.

use std::collections::BTreeMap;

use crate::cases::Category;
use crate::org::ControlLevel;

/// The control a building with a positive pooled tube is proposed to be raised to: sealed as a
/// high-risk area (封控区) until its single-tube retests come back.
pub const PROPOSED: ControlLevel = ControlLevel::HighRisk;

crate::coded_enum!(
    /// Where the commander stands on a building's proposed control.
    ProposalState {
        Proposed = "proposed", "待决定", "Proposed";
        Accepted = "accepted", "已同意", "Accepted";
        Declined = "declined", "未采纳", "Declined";
    }
);

/// A recalled person's home, as the registry holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    pub compound_id: i64,
    pub compound: String,
    pub building: String,
    pub unit: String,
    pub room: String,
}

/// A building with recalled people: where the retests go, and what to control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Building {
    pub compound_id: i64,
    pub compound: String,
    pub building: String,
    /// People to retest.
    pub people: usize,
    /// Their doors (unit and room), each once, in order.
    pub doors: Vec<String>,
}

crate::coded_enum!(
    /// The follow-ups of a recall: what kind of case each building gets. `DoorRetest`: the
    /// single-tube retests at its doors (category testing); `BuildingControl`: the building kept
    /// in (category static control).
    FollowUp {
        DoorRetest = "door_retest", "单管上门复核", "Door-to-door single-tube retests";
        BuildingControl = "building_control", "楼栋管控", "Building control";
    }
);

impl FollowUp {
    pub fn category(self) -> Category {
        match self {
            FollowUp::DoorRetest => Category::Testing,
            FollowUp::BuildingControl => Category::StaticControl,
        }
    }

    /// The case's text: what to do, where, and which tube and recall it comes from.
    pub fn description(self, b: &Building, tube: &str, recall: i64) -> String {
        let place = format!("{}{}", b.compound, b.building);
        match self {
            FollowUp::DoorRetest => format!(
                "【混管阳性·单管复核】试管{tube}混采阳性：{place}的{}人须立即单管上门复核（{}）。召回单{recall}。",
                b.people,
                b.doors.join("、")
            ),
            FollowUp::BuildingControl => format!(
                "【混管阳性·楼栋管控】{place}有混管阳性（试管{tube}）：请立即落实楼栋管控，居民足不出户，待单管复核结果。召回单{recall}。"
            ),
        }
    }
}

/// The buildings of `homes`, in compound and building order; people without a building on
/// record count under their compound's empty building, which still gets its follow-ups.
pub fn buildings(homes: &[Home]) -> Vec<Building> {
    let mut by: BTreeMap<(i64, &str), Building> = BTreeMap::new();
    for h in homes {
        let b = by
            .entry((h.compound_id, h.building.as_str()))
            .or_insert_with(|| Building {
                compound_id: h.compound_id,
                compound: h.compound.clone(),
                building: h.building.clone(),
                people: 0,
                doors: Vec::new(),
            });
        b.people += 1;
        let door = format!("{}{}", h.unit, h.room);
        if !door.is_empty() && !b.doors.contains(&door) {
            b.doors.push(door);
        }
    }
    by.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home(compound_id: i64, building: &str, unit: &str, room: &str) -> Home {
        Home {
            compound_id,
            compound: format!("小区{compound_id}"),
            building: building.into(),
            unit: unit.into(),
            room: room.into(),
        }
    }

    #[test]
    fn a_tube_of_two_buildings_follows_up_each_with_its_doors_once() {
        let homes = [
            home(7, "3号楼", "1单元", "201"),
            home(7, "3号楼", "1单元", "201"),
            home(7, "3号楼", "2单元", "502"),
            home(5, "1号楼", "1单元", "101"),
            home(7, "", "", ""),
        ];
        let b = buildings(&homes);
        assert_eq!(
            b.iter()
                .map(|b| (b.compound_id, b.building.as_str(), b.people, b.doors.len()))
                .collect::<Vec<_>>(),
            [(5, "1号楼", 1, 1), (7, "", 1, 0), (7, "3号楼", 3, 2)]
        );
        assert_eq!(b[2].doors, ["1单元201", "2单元502"]);
        let retest = FollowUp::DoorRetest.description(&b[2], "T-1", 9);
        assert!(retest.contains("小区73号楼的3人") && retest.contains("1单元201、2单元502"));
        assert!(retest.contains("T-1") && retest.contains("召回单9"));
        assert!(
            FollowUp::BuildingControl
                .description(&b[2], "T-1", 9)
                .contains("楼栋管控")
        );
    }
}
