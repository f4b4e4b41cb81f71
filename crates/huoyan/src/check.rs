//! Field checks shared by every request: collect every bad field of an input, then answer them all
//! at once, each naming its field.

use crate::error::{AppError, AppResult, FieldError};

/// Collects field errors and turns them into one `Invalid` answer, so a client learns every bad
/// field at once.
#[derive(Default)]
pub struct Check(Vec<FieldError>);

impl Check {
    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    pub fn non_empty(&mut self, field: &str, value: &str, max: usize) {
        let n = value.trim().chars().count();
        if n == 0 {
            self.fail(field, "must not be empty");
        } else if n > max {
            self.fail(field, format!("at most {max} characters"));
        }
    }

    /// Whether `field` has failed already (later checks that build on it are skipped).
    pub fn failed(&self, field: &str) -> bool {
        self.0.iter().any(|e| e.field == field)
    }

    pub fn done(self) -> AppResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Invalid(self.0))
        }
    }
}
