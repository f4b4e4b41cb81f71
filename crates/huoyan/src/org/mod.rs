//! `org`: the city's organisation — regions tree, control orders, sites, departments, people,
//! teams and double registration — as storage, JSON routes, pages, imports and exports.

pub mod departments;
pub mod export;
pub mod import;
pub mod orders;
pub mod pages;
pub mod people;
pub mod regions;
pub mod sites;
pub mod teams;

use utoipa_axum::router::OpenApiRouter;

use crate::http::AppState;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(regions::api())
        .merge(orders::api())
        .merge(sites::api())
        .merge(departments::api())
        .merge(people::api())
        .merge(teams::api())
        .merge(import::api())
        .merge(export::api())
}

/// Collects field errors and turns them into one `Invalid` answer, so a client learns every bad
/// field at once.
#[derive(Default)]
pub struct Check(Vec<crate::error::FieldError>);

impl Check {
    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(crate::error::FieldError::new(field, message));
    }

    pub fn non_empty(&mut self, field: &str, value: &str, max: usize) {
        let n = value.trim().chars().count();
        if n == 0 {
            self.fail(field, "must not be empty");
        } else if n > max {
            self.fail(field, format!("at most {max} characters"));
        } else {
            self.storable(field, value);
        }
    }

    /// A text field that may be left empty: at most `max` characters, and storable.
    pub fn optional(&mut self, field: &str, value: &str, max: usize) {
        if value.trim().chars().count() > max {
            self.fail(field, format!("at most {max} characters"));
        } else {
            self.storable(field, value);
        }
    }

    /// Refuses text that a backend cannot store, so that both refuse it alike and before any
    /// write: PostgreSQL's TEXT takes every character but U+0000 (SQLite takes that too).
    pub fn storable(&mut self, field: &str, value: &str) {
        if value.contains('\0') {
            self.fail(field, "must not contain the character U+0000");
        }
    }

    /// Whether `field` has failed already (later checks that build on it are skipped).
    pub fn failed(&self, field: &str) -> bool {
        self.0.iter().any(|e| e.field == field)
    }

    pub fn done(self) -> crate::error::AppResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(crate::error::AppError::Invalid(self.0))
        }
    }
}
