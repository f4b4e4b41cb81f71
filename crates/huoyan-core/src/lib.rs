//! Huoyan's functional core: the domain rules of every bounded context as plain Rust with no I/O,
//! so they can be read, unit- and property-tested and benchmarked alone. The application crate
//! (`huoyan`) wraps them with storage, HTTP and the command line.

/// A closed set of codes with Chinese and English labels: the code is what storage and the API
/// carry, the labels what pages show.
#[macro_export]
macro_rules! coded_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $code:literal, $zh:literal, $en:literal;)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name { $(#[serde(rename = $code)] $variant),* }

        /// The codes as a string enum, each with its labels in the description. Written by hand:
        /// the derive does not see a `serde(rename)` whose name comes from a macro argument.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let labels: Vec<String> = Self::ALL
                    .iter()
                    .map(|v| format!("`{}`: {} ({})", v.code(), v.zh(), v.en()))
                    .collect();
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some(Self::ALL.iter().map(|v| v.code())))
                    .description(Some(labels.join("; ")))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub fn code(self) -> &'static str { match self { $($name::$variant => $code),* } }
            pub fn parse(code: &str) -> Option<Self> { Self::ALL.iter().copied().find(|v| v.code() == code) }
            pub fn zh(self) -> &'static str { match self { $($name::$variant => $zh),* } }
            pub fn en(self) -> &'static str { match self { $($name::$variant => $en),* } }
            pub fn label(self, english: bool) -> &'static str { if english { self.en() } else { self.zh() } }
            /// Every value as (code, label): the options of a select.
            pub fn choices(english: bool) -> Vec<(&'static str, &'static str)> { Self::ALL.iter().map(|v| (v.code(), v.label(english))).collect() }
        }

        /// Shown as its code (what forms send and URLs carry).
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }

        /// Decoding a stored code: an unknown one is an error, never a default.
        impl TryFrom<String> for $name {
            type Error = $crate::UnknownCode;
            fn try_from(code: String) -> Result<Self, Self::Error> {
                Self::parse(&code).ok_or($crate::UnknownCode { kind: stringify!($name), code })
            }
        }
    };
}

/// A stored or sent code that names no value of its set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?} is not a {kind} we know")]
pub struct UnknownCode {
    pub kind: &'static str,
    pub code: String,
}

pub mod audit;
pub mod auth;
pub mod cases;
pub mod drones;
pub mod inspections;
pub mod org;
pub mod supply;
pub mod testing;
pub mod workforce;
