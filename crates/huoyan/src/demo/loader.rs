//! The demo's loader state: its random source, the regions made so far by code, and the people
//! it invents.

use std::collections::HashMap;

use rand::RngExt;
use rand::rngs::StdRng;

use super::names;
use crate::audit::Change;
use crate::org::{people, teams};

pub(super) struct Loader {
    pub(super) rng: StdRng,
    pub(super) codes: HashMap<String, i64>,
    pub(super) phones: usize,
    pub(super) names: names::Names,
}

impl Loader {
    pub(super) fn person(
        &mut self,
        home: i64,
        employer: &str,
        skills: &[&str],
        party: bool,
    ) -> people::NewPerson {
        self.phones += 1;
        let (name, gender) = self.names.next(&mut self.rng);
        people::NewPerson {
            name,
            phone: names::phone(self.phones),
            gender: gender.to_string(),
            birth_year: self.rng.random_range(1963..=1999),
            party_member: party,
            employer: employer.to_string(),
            home_region_id: Some(home),
            skills: skills.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// A stand-alone team of `size` people living in random compounds, the first its leader;
    /// returns the team and its members in order.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn staffed_team(
        &mut self,
        change: &mut Change,
        homes: &[i64],
        kind: &str,
        name: String,
        size: usize,
        employer: &str,
        skills: &[&str],
        party: impl Fn(usize) -> bool,
    ) -> crate::error::AppResult<(i64, Vec<i64>)> {
        let team = teams::insert(
            change,
            &teams::NewTeam {
                kind: kind.into(),
                name,
                parent_id: None,
                region_id: None,
            },
            "",
        )
        .await?;
        let mut members = Vec::with_capacity(size);
        for k in 0..size {
            let home = homes[self.rng.random_range(0..homes.len())];
            let pid =
                people::insert(change, &self.person(home, employer, skills, party(k)), "").await?;
            let role = if k == 0 { "leader" } else { "member" };
            teams::add_member(
                change,
                team,
                &teams::NewMember {
                    person_id: pid,
                    role: role.into(),
                },
                "",
            )
            .await?;
            members.push(pid);
        }
        Ok((team, members))
    }

    pub(super) fn code(&self, code: &str) -> i64 {
        *self
            .codes
            .get(code)
            .unwrap_or_else(|| panic!("demo data names region {code}"))
    }
}
