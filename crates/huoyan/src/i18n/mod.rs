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

    /// The language a request names with `?lang=`, if any.
    pub fn asked(uri: &axum::http::Uri) -> Option<Locale> {
        uri.query()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")))
            .and_then(Locale::parse)
    }

    /// The catalogue entry for `key`, if there is one: for keys made from recorded names (a
    /// trail's fields), which fall back to something else.
    pub fn find(self, key: &str) -> Option<&'static str> {
        CATALOGUE.get(key).map(|(zh, en)| match self {
            Locale::Zh => zh.as_str(),
            Locale::En => en.as_str(),
        })
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

impl Locale {
    /// The catalogue entry for `key` if there is one, for names that may have none (a form
    /// field's label), where `t` would warn.
    pub fn lookup(self, key: &str) -> Option<&'static str> {
        CATALOGUE.get(key).map(|(zh, en)| match self {
            Locale::Zh => zh.as_str(),
            Locale::En => en.as_str(),
        })
    }

    /// An error message in this locale. Messages are raised in English, which the API answers
    /// in; pages show the Chinese of `messages.toml`, found by the whole message or by a
    /// template whose `{}` stand for the parts that vary (carried over as they are, or in
    /// Chinese when a part is itself a message: "the roster no longer holds (…)"). A message
    /// not in the table shows in English rather than not at all.
    pub fn message(self, english: &str) -> String {
        if self.is_en() {
            return english.to_string();
        }
        if let Some(zh) = MESSAGES.exact.get(english) {
            return zh.clone();
        }
        // The most specific template wins: "unknown role; one of {}" before "one of {}". Only
        // its parts are translated in turn, so the work grows with the nesting, not with every
        // template that could match at every level.
        MESSAGES
            .templates
            .iter()
            .filter_map(|(en, zh)| Some((en, zh, holes(en, english)?)))
            .max_by_key(|(en, _, _)| (en.len(), en.as_str()))
            .map(|(_, zh, parts)| {
                let parts: Vec<String> = parts.into_iter().map(|p| self.message(p)).collect();
                fill(zh, &parts)
            })
            .unwrap_or_else(|| english.to_string())
    }
}

struct Messages {
    exact: HashMap<String, String>,
    /// (English, Chinese) pairs with `{}` holes.
    templates: Vec<(String, String)>,
}

static MESSAGES: LazyLock<Messages> = LazyLock::new(|| {
    let raw: HashMap<String, String> = toml::from_str(include_str!("messages.toml"))
        .expect("messages.toml is checked by its test");
    let (templates, exact): (Vec<_>, Vec<_>) =
        raw.into_iter().partition(|(en, _)| en.contains("{}"));
    Messages {
        exact: exact.into_iter().collect(),
        templates,
    }
});

/// What fills the `{}` holes of `template` in `text`, if `text` has its shape (each hole at
/// least one character).
fn holes<'a>(template: &str, text: &'a str) -> Option<Vec<&'a str>> {
    let parts: Vec<&str> = template.split("{}").collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    let mut rest = text.strip_prefix(first)?.strip_suffix(last)?;
    let mut found = Vec::new();
    for part in &parts[1..parts.len() - 1] {
        // A hole holds at least one character, so the part is looked for after the first.
        let skip = rest.chars().next()?.len_utf8();
        let at = rest[skip..].find(part)? + skip;
        found.push(&rest[..at]);
        rest = &rest[at + part.len()..];
    }
    (!rest.is_empty()).then_some(())?;
    found.push(rest);
    Some(found)
}

/// `template` with its `{}` holes filled in order.
fn fill(template: &str, values: &[String]) -> String {
    let mut out = String::new();
    for (i, part) in template.split("{}").enumerate() {
        if i > 0 {
            out.push_str(values.get(i - 1).map_or("", String::as_str));
        }
        out.push_str(part);
    }
    out
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

    #[test]
    fn every_message_has_its_chinese_with_the_same_holes() {
        let raw: HashMap<String, String> = toml::from_str(include_str!("messages.toml")).unwrap();
        assert!(raw.len() > 50);
        for (en, zh) in raw {
            assert!(!zh.trim().is_empty(), "{en} has no Chinese");
            assert_eq!(
                en.matches("{}").count(),
                zh.matches("{}").count(),
                "{en} and {zh} differ in their holes"
            );
        }
    }

    #[test]
    fn messages_are_shown_in_chinese_whole_or_by_template() {
        let zh = Locale::Zh;
        assert_eq!(zh.message("must not be empty"), "不能为空");
        assert_eq!(zh.message("at most 4000 characters"), "最多 4000 个字符");
        assert_eq!(
            zh.message("a case that is closed cannot be dispatch"),
            "案件当前状态为 closed，不能进行 dispatch"
        );
        assert_eq!(
            zh.message("a file may be at most 10 MB, and one upload 32 MB"),
            "每个文件最大 10 MB，每次上传合计最大 32 MB"
        );
        // The most specific template: not "one of {}".
        assert_eq!(
            zh.message("unknown role; one of admin, office"),
            "未知角色；应为以下之一：admin, office"
        );
        assert_eq!(
            zh.message("one of urgent, high"),
            "应为以下之一：urgent, high"
        );
        // Unknown messages, and English readers, get the English.
        assert_eq!(zh.message("something new"), "something new");
        assert_eq!(Locale::En.message("must not be empty"), "must not be empty");
        // A hole is never empty.
        assert_eq!(zh.message("at most  characters"), "at most  characters");
        // A part that is itself a message is shown in Chinese too.
        assert_eq!(
            zh.message(
                "the roster no longer holds (张三 on 让湖路 2022-08-29 04:30-12:30: blocked that day): re-plan before publishing"
            ),
            "排班已不成立（张三（让湖路 2022-08-29 04:30-12:30）：当天受阻）：请重新排班后再发布"
        );
    }

    #[test]
    fn holes_are_found_in_order() {
        assert_eq!(holes("a {} b {}", "a x b y"), Some(vec!["x", "y"]));
        assert_eq!(holes("a {} b {}", "a x b y b z"), Some(vec!["x", "y b z"]));
        assert_eq!(holes("{} not found", "case not found"), Some(vec!["case"]));
        assert_eq!(holes("a {} b", "a b"), None);
        assert_eq!(holes("a {}", "b x"), None);
        assert_eq!(
            holes("{} 和 {}", "东门 和 西门"),
            Some(vec!["东门", "西门"])
        );
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
