//! 景程小区's residents as its registry sheets list them: 18 buildings of three units, sixteen
//! floors and four doors a floor, households of one to five (some doors empty), ages as an old
//! oil town's, a valid ID-card number and a provincial health code each, a few yellow and red
//! codes. The dispatcher imports one sheet per building, as the application takes them.

use std::collections::HashSet;

use huoyan_core::testing::residents::CodeColour;
use rand::RngExt;
use rand::rngs::StdRng;

use super::super::names::{self, Names};
use crate::tabular::Table;

pub(super) const COMPOUND: &str = "景程小区";
pub(super) const BUILDINGS: usize = 18;
const UNITS: usize = 3;
const FLOORS: usize = 16;
const DOORS: usize = 4;
/// People behind a door: none (empty or away when the order came) to five, by weight.
const HOUSEHOLD: [u32; 6] = [8, 17, 32, 28, 11, 4];
/// Ages by weight: (from, to) in years.
const AGES: [((u32, u32), u32); 6] = [
    ((1, 13), 12),
    ((14, 29), 15),
    ((30, 49), 29),
    ((50, 64), 25),
    ((65, 79), 15),
    ((80, 95), 4),
];
/// From this age a resident is sampled at their door, never in the queue (近一米温暖服务).
const AT_THE_DOOR: u32 = 80;
/// Yellow and red codes among them (close contacts and a case's household).
const YELLOW: usize = 6;
const RED: usize = 2;
/// Where the ID numbers were issued: Daqing's districts and counties.
const ISSUED: [&str; 9] = [
    "230602", "230603", "230604", "230605", "230606", "230621", "230622", "230623", "230624",
];
/// The demo's phones for residents start here, past every other person's.
const PHONES_FROM: usize = 100_000;

pub(super) struct Resident {
    pub code: String,
    /// 1 to `BUILDINGS`.
    pub building: usize,
    /// Sampled at their door by a single tube: too old to queue.
    pub at_the_door: bool,
    pub colour: CodeColour,
}

fn weighted<T: Copy>(rng: &mut StdRng, items: &[(T, u32)]) -> T {
    let mut n = rng.random_range(0..items.iter().map(|(_, w)| w).sum::<u32>());
    for (item, w) in items {
        if n < *w {
            return *item;
        }
        n -= w;
    }
    unreachable!("n is below the weights' sum")
}

/// An ID-card number's 18th character (GB 11643-1999) after its first 17 digits.
fn check_digit(first17: &str) -> char {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).expect("digits") * w)
        .sum();
    ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'][(sum % 11) as usize]
}

/// The residents in registry order (building, unit, floor, door) and each building's sheet.
pub(super) fn residents(rng: &mut StdRng) -> (Vec<Resident>, Vec<Table>) {
    let mut names = Names::default();
    let mut ids = HashSet::new();
    let mut codes = HashSet::new();
    let mut residents = Vec::new();
    let mut sheets = Vec::new();
    let households: Vec<(usize, u32)> =
        HOUSEHOLD.iter().enumerate().map(|(n, w)| (n, *w)).collect();
    for b in 1..=BUILDINGS {
        let mut rows = Vec::new();
        for unit in 1..=UNITS {
            for floor in 1..=FLOORS {
                for door in 1..=DOORS {
                    for _ in 0..weighted(rng, &households) {
                        let age = {
                            let (from, to) = weighted(rng, &AGES);
                            rng.random_range(from..=to)
                        };
                        let (name, gender) = names.next(rng);
                        let id = loop {
                            let first17 = format!(
                                "{}{}{:02}{:02}{:02}{}",
                                ISSUED[rng.random_range(0..ISSUED.len())],
                                2022 - age,
                                rng.random_range(1..=12),
                                rng.random_range(1..=28),
                                rng.random_range(0..100),
                                // The 17th digit is odd for men, even for women.
                                2 * rng.random_range(0..5) + u32::from(gender == "male"),
                            );
                            let id = format!("{first17}{}", check_digit(&first17));
                            if ids.insert(id.clone()) {
                                break id;
                            }
                        };
                        let code = loop {
                            let code = format!("HLJ{:016X}", rng.random::<u64>());
                            if codes.insert(code.clone()) {
                                break code;
                            }
                        };
                        // Children show no phone of their own.
                        let phone = if age >= 14 {
                            names::phone(PHONES_FROM + residents.len())
                        } else {
                            String::new()
                        };
                        rows.push((
                            rows.len() + 2,
                            vec![
                                COMPOUND.to_string(),
                                format!("{b}号楼"),
                                format!("{unit}单元"),
                                format!("{floor}{door:02}"),
                                name,
                                phone,
                                id,
                                code.clone(),
                                CodeColour::Green.zh().to_string(),
                            ],
                        ));
                        residents.push(Resident {
                            code,
                            building: b,
                            at_the_door: age >= AT_THE_DOOR,
                            colour: CodeColour::Green,
                        });
                    }
                }
            }
        }
        sheets.push(Table {
            headers: [
                "小区",
                "楼栋",
                "单元",
                "房号",
                "姓名",
                "电话",
                "身份证号",
                "健康码",
                "码色",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        });
    }
    // A few codes turned yellow or red before the registry was taken.
    let mut flagged = 0;
    while flagged < YELLOW + RED {
        let i = rng.random_range(0..residents.len());
        if residents[i].colour != CodeColour::Green || residents[i].at_the_door {
            continue;
        }
        let colour = if flagged < YELLOW {
            CodeColour::Yellow
        } else {
            CodeColour::Red
        };
        residents[i].colour = colour;
        let b = residents[i].building;
        let row = residents[..i].iter().filter(|r| r.building == b).count();
        sheets[b - 1].rows[row].1[8] = colour.zh().to_string();
        flagged += 1;
    }
    (residents, sheets)
}
