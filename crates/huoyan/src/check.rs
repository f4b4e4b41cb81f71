//! Field checks shared by every request: collect every bad field of an input, then answer them all
//! at once, each naming its field.

use crate::error::{AppError, AppResult, FieldError};

/// Collects field errors and turns them into one `Invalid` answer, so a client learns every bad
/// field at once.
#[derive(Default)]
pub struct Check {
    invalid: Vec<FieldError>,
    outside: Vec<FieldError>,
}

/// Why a field naming something out of the caller's reach fails.
pub const OUTSIDE: &str = "outside your scope";

impl Check {
    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.invalid.push(FieldError::new(field, message));
    }

    /// `field` names something outside the caller's scope: the request is refused 403 whatever
    /// else is wrong with it.
    pub fn outside(&mut self, field: &str) {
        self.outside.push(FieldError::new(field, OUTSIDE));
    }

    pub fn non_empty(&mut self, field: &str, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.fail(field, "must not be empty");
        } else {
            self.optional(field, value, max);
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

    /// Refuses text that a backend cannot store alike or a page would show otherwise than it is
    /// stored (see `forbidden`), before any write: PostgreSQL's TEXT refuses U+0000, which SQLite
    /// keeps.
    pub fn storable(&mut self, field: &str, value: &str) {
        if let Some(c) = value.chars().find(|c| forbidden(*c)) {
            self.fail(field, invisible(c));
        }
    }

    /// Whether `field` has failed already (later checks that build on it are skipped).
    pub fn failed(&self, field: &str) -> bool {
        self.invalid
            .iter()
            .chain(&self.outside)
            .any(|e| e.field == field)
    }

    /// Out of scope first (403), then invalid (422), else Ok.
    pub fn done(self) -> AppResult<()> {
        if !self.outside.is_empty() {
            Err(AppError::OutsideScope(self.outside))
        } else if !self.invalid.is_empty() {
            Err(AppError::Invalid(self.invalid))
        } else {
            Ok(())
        }
    }
}

/// Text from a request, refused at parsing when it is longer than `MAX` characters, blank when
/// `REQUIRED`, or holds characters no backend stores alike (NUL, which PostgreSQL refuses and
/// SQLite keeps) or that a page would show invisibly (control characters other than line breaks
/// and tabs, the bidirectional overrides). The OpenAPI document shows the limits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text<const MAX: usize, const REQUIRED: bool = false>(String);

/// Text that must say something (not empty, not only spaces).
pub type Required<const MAX: usize> = Text<MAX, true>;

impl<const MAX: usize, const REQUIRED: bool> Text<MAX, REQUIRED> {
    /// `s` if it passes, else why not.
    pub fn parse(s: String) -> Result<Self, String> {
        if let Some(c) = s.chars().find(|c| forbidden(*c)) {
            return Err(invisible(c));
        }
        if REQUIRED && s.trim().is_empty() {
            return Err("must not be empty".into());
        }
        if s.chars().count() > MAX {
            return Err(format!("at most {MAX} characters"));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Without leading and trailing white space: what is stored.
    pub fn trimmed(&self) -> &str {
        self.0.trim()
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// Text the program composed itself (the demo's names, a command line's arguments), parsed
    /// as a request's would be; an error names `field`.
    pub fn field(field: &str, s: impl Into<String>) -> AppResult<Self> {
        Self::parse(s.into()).map_err(|why| AppError::invalid(field, why))
    }
}

/// Read as the text it holds (`trim`, `is_empty`, comparisons).
impl<const MAX: usize, const REQUIRED: bool> std::ops::Deref for Text<MAX, REQUIRED> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

fn invisible(c: char) -> String {
    format!(
        "must not contain the invisible or control character U+{:04X}",
        c as u32
    )
}

/// Characters refused in any text: controls but line breaks and tabs, and the bidirectional
/// embeddings, overrides and isolates that can make text read otherwise than it is stored.
pub fn forbidden(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

impl<'de, const MAX: usize, const REQUIRED: bool> serde::Deserialize<'de> for Text<MAX, REQUIRED> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Text::parse(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl<const MAX: usize, const REQUIRED: bool> serde::Serialize for Text<MAX, REQUIRED> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// What a page would show otherwise than it is stored, as a pattern for the document.
const VISIBLE: &str = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*$";
const SAYS_SOMETHING: &str = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*[^\\s\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069][^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*$";

impl<const MAX: usize, const REQUIRED: bool> utoipa::PartialSchema for Text<MAX, REQUIRED> {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .max_length(Some(MAX))
            .min_length(REQUIRED.then_some(1))
            .pattern(Some(if REQUIRED { SAYS_SOMETHING } else { VISIBLE }))
            .into()
    }
}

impl<const MAX: usize, const REQUIRED: bool> utoipa::ToSchema for Text<MAX, REQUIRED> {
    fn name() -> std::borrow::Cow<'static, str> {
        let kind = if REQUIRED { "Required" } else { "Text" };
        std::borrow::Cow::Owned(format!("{kind}{MAX}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_bounded_and_visible() {
        assert!(Text::<3>::parse("三个字".into()).is_ok());
        assert_eq!(
            Text::<3>::parse("四个字呢".into()),
            Err("at most 3 characters".into())
        );
        assert!(
            Text::<9>::parse("a\0b".into())
                .unwrap_err()
                .contains("U+0000")
        );
        assert!(Text::<9>::parse("a\u{202E}b".into()).is_err());
        assert!(Text::<9>::parse("a\nb\tc".into()).is_ok());
        let t: Text<5> = serde_json::from_str("\" ab \"").unwrap();
        assert_eq!(t.trimmed(), "ab");
        assert!(serde_json::from_str::<Text<1>>("\"ab\"").is_err());
        assert!(Required::<9>::parse(" \n".into()).is_err());
        assert!(Required::<9>::parse(" x ".into()).is_ok());
        assert!(Text::<9>::parse(" ".into()).is_ok());
    }
}
