//! What a scanner reads: a resident's health code (or the printed card standing in for one) and a
//! tube's barcode. Both are checked here, so a scan names its tube and person in one shape
//! whatever camera or wedge scanner read it.

/// Why a scanned text is not a code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("a health code is 4 to 64 letters, digits, '-' or '_'")]
    HealthCode,
    #[error("a tube barcode is 4 to 32 letters, digits or '-'")]
    Barcode,
}

/// A resident's health code as the registry keys it. A scanner may read the code bare or as the
/// link printed on a card (`…/c/CODE` or `…?code=CODE`); both give the same code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HealthCode(String);

/// Letters of the codes on printed cards: no 0/O or 1/I/L, so a code read out over the phone or
/// typed from a smudged card is not misread.
const CARD_LETTERS: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

impl HealthCode {
    pub fn parse(raw: &str) -> Result<Self, CodeError> {
        let raw = raw.trim();
        let code = if let Some((_, q)) = raw.split_once("code=") {
            q.split('&').next().unwrap_or_default()
        } else if let Some((_, tail)) = raw.rsplit_once("/c/") {
            tail.split(['?', '#', '/']).next().unwrap_or_default()
        } else {
            raw
        };
        let ok = (4..=64).contains(&code.len())
            && code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(code.to_string()))
        } else {
            Err(CodeError::HealthCode)
        }
    }

    /// The code of a printed card, from 10 random bytes: `HY` and 10 card letters (about 49
    /// bits), so codes guessed at random hit nobody.
    pub fn card(random: [u8; 10]) -> Self {
        let letters: String = random
            .iter()
            .map(|b| CARD_LETTERS[usize::from(*b) % CARD_LETTERS.len()] as char)
            .collect();
        Self(format!("HY{letters}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A tube's (or antigen kit's) barcode, as printed on it; letters upper-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Barcode(String);

impl Barcode {
    pub fn parse(raw: &str) -> Result<Self, CodeError> {
        let code = raw.trim().to_ascii_uppercase();
        let ok = (4..=32).contains(&code.len())
            && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if ok {
            Ok(Self(code))
        } else {
            Err(CodeError::Barcode)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_card_link_and_a_bare_code_read_the_same() {
        let bare = HealthCode::parse("HY23456789AB").unwrap();
        assert_eq!(
            HealthCode::parse("https://huoyan.example/c/HY23456789AB").unwrap(),
            bare
        );
        assert_eq!(
            HealthCode::parse("https://jkm.example/show?code=HY23456789AB&v=2").unwrap(),
            bare
        );
        assert_eq!(HealthCode::parse(" HY23456789AB\n").unwrap(), bare);
    }

    #[test]
    fn texts_that_are_no_codes_are_refused() {
        for bad in [
            "",
            "abc",
            "has space",
            "<script>",
            "https://x/c/",
            &"A".repeat(65),
        ] {
            assert_eq!(
                HealthCode::parse(bad),
                Err(CodeError::HealthCode),
                "{bad:?}"
            );
        }
        for bad in ["", "T1", "TUBE 1", "tube/1", &"9".repeat(33)] {
            assert_eq!(Barcode::parse(bad), Err(CodeError::Barcode), "{bad:?}");
        }
        assert_eq!(Barcode::parse(" t-0001 ").unwrap().as_str(), "T-0001");
    }

    proptest! {
        /// Every card code is a health code, reads back through its printed link, and uses no
        /// letter that could be misread.
        #[test]
        fn card_codes_read_back(random in any::<[u8; 10]>()) {
            let c = HealthCode::card(random);
            prop_assert_eq!(HealthCode::parse(&format!("https://h.example/c/{}", c.as_str())).unwrap(), c.clone());
            prop_assert!(!c.as_str()[2..].contains(['0', 'O', '1', 'I', 'L']));
        }
    }
}
