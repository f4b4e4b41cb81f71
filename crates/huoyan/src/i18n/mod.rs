//! Every UI string in Chinese (the default) and English, from one catalogue with both languages
//! side by side so that neither can be forgotten. The locale travels with each request; there is
//! no process-global locale.

use std::collections::HashMap;
use std::sync::LazyLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    #[default]
    Zh,
    En,
}

impl Locale {
    pub fn parse(s: &str) -> Option<Locale> {
        match s {
            "zh" | "zh-CN" | "zh_CN" => Some(Locale::Zh),
            "en" | "en-US" | "en-GB" => Some(Locale::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Locale::Zh => "zh-CN",
            Locale::En => "en",
        }
    }

    pub fn is_en(self) -> bool {
        self == Locale::En
    }

    /// The catalogue entry for `key`; an unknown key shows itself, so a gap is visible on the page
    /// and caught by the catalogue test instead of rendering blank.
    pub fn t(self, key: &str) -> &str {
        match CATALOGUE.get(key) {
            Some((zh, en)) => match self {
                Locale::Zh => zh,
                Locale::En => en,
            },
            None => {
                tracing::warn!(key, "missing UI string");
                key
            }
        }
    }
}

static CATALOGUE: LazyLock<HashMap<String, (String, String)>> = LazyLock::new(|| {
    let raw: HashMap<String, Vec<String>> = toml::from_str(include_str!("catalog.toml"))
        .expect("catalog.toml is checked by the catalogue test");
    raw.into_iter()
        .map(|(k, v)| {
            let mut it = v.into_iter();
            let zh = it.next().unwrap_or_default();
            let en = it.next().unwrap_or_default();
            (k, (zh, en))
        })
        .collect()
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_has_its_home_page_text() {
        for role in huoyan_core::auth::Role::ALL {
            assert!(
                CATALOGUE.contains_key(&format!("role.intro.{}", role.code())),
                "{role:?}"
            );
        }
    }

    #[test]
    fn every_entry_has_both_languages() {
        let raw: HashMap<String, Vec<String>> =
            toml::from_str(include_str!("catalog.toml")).unwrap();
        for (k, v) in raw {
            assert_eq!(v.len(), 2, "{k} needs [zh, en]");
            assert!(
                v.iter().all(|s| !s.trim().is_empty()),
                "{k} has an empty translation"
            );
        }
    }

    /// Every key used in a template or in code exists in the catalogue.
    #[test]
    fn every_used_key_exists() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/");
        let mut files = Vec::new();
        for dir in ["templates", "src"] {
            collect(&std::path::Path::new(root).join(dir), &mut files);
        }
        let re = ["t(\"", "t(&\""];
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for marker in re {
                for part in text.split(marker).skip(1) {
                    let key = part.split('"').next().unwrap();
                    if key.contains('.') && !key.contains(' ') {
                        assert!(
                            CATALOGUE.contains_key(key),
                            "{}: missing key {key}",
                            f.display()
                        );
                    }
                }
            }
        }
    }

    fn collect(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                collect(&p, out);
            } else if p.extension().is_some_and(|x| x == "html" || x == "rs") {
                out.push(p);
            }
        }
    }
}
