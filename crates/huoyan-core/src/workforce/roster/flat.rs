//! The problem flattened to what an external MIP/CP model needs: the eligible (person, shift)
//! variables with their linear costs, computed by the same code the engine uses, so a benchmark
//! against another solver optimises exactly our objective.
//!
//! The model it describes, with x(p,s) ∈ {0,1} for each variable:
//! - Σ_p x(p,s) ≤ headcount(s); Σ_{s on day d} x(p,s) ≤ 1; Σ_{s in week k} minutes(s)·x(p,s) ≤ max(p);
//! - x(p,a) + x(p,b) ≤ 1 when a and b are on different days and b starts before a's end plus
//!   `min_rest_minutes` (a starting first);
//! - minimise `constant` + Σ cost·x + unfilled·Σ_s (headcount − Σ_p x) + early_square·Σ_p e_p²
//!   (e_p = Σ early x) + consecutive_early·Σ_{p,d} [early on d ∧ early on d+1]
//!   + group_split·|{(group, day, post) worked}|.

use serde::{Deserialize, Serialize};

use super::model::{Model, NONE};
use super::{RosterError, RosterProblem, Weights};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlatPerson {
    pub id: String,
    pub max_minutes_per_week: u32,
    pub group: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlatShift {
    pub id: String,
    pub day: u16,
    pub post: u32,
    pub start: u32,
    pub end: u32,
    pub headcount: u16,
    pub early: bool,
}

/// One eligible (person, shift) pair, by index, and the linear cost of assigning it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlatVar {
    pub person: u32,
    pub shift: u32,
    pub cost: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlatModel {
    pub days: u16,
    pub min_rest_minutes: u32,
    pub weights: Weights,
    /// Cost of the empty roster apart from unfilled places: every baseline assignment dropped.
    pub constant: i64,
    pub people: Vec<FlatPerson>,
    pub shifts: Vec<FlatShift>,
    pub vars: Vec<FlatVar>,
}

pub fn flatten(problem: &RosterProblem) -> Result<FlatModel, RosterError> {
    let m = Model::new(problem)?;
    let people = problem
        .people
        .iter()
        .enumerate()
        .map(|(i, p)| FlatPerson {
            id: p.id.clone(),
            max_minutes_per_week: p.max_minutes_per_week,
            group: (m.group[i] != NONE).then_some(m.group[i]),
        })
        .collect();
    let shifts = problem
        .shifts
        .iter()
        .enumerate()
        .map(|(i, s)| FlatShift {
            id: s.id.clone(),
            day: s.day,
            post: m.s_post[i],
            start: s.start,
            end: s.end,
            headcount: s.headcount,
            early: m.s_early[i],
        })
        .collect();
    let vars = m
        .eligible
        .iter()
        .enumerate()
        .flat_map(|(s, list)| {
            list.iter().map(move |&(p, cost)| FlatVar {
                person: p,
                shift: s as u32,
                cost,
            })
        })
        .collect();
    Ok(FlatModel {
        days: problem.rules.days,
        min_rest_minutes: problem.rules.min_rest_minutes,
        weights: m.w,
        constant: m.change_constant,
        people,
        shifts,
        vars,
    })
}
