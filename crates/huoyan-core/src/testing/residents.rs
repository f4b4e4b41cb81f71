//! Residents' personal data as the testing registry may hold it: the health code's colour, and the
//! ID-card number, which is checked, then kept only as a keyed hash (to find a resident by it) and
//! a masked form (to show), never in clear.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

crate::coded_enum!(
    /// A health code's colour.
    CodeColour {
        Green = "green", "绿码", "Green";
        Yellow = "yellow", "黄码", "Yellow";
        Red = "red", "红码", "Red";
    }
);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("an ID-card number has 18 characters: 17 digits and a check digit (0-9 or X)")]
    Shape,
    #[error("the ID-card number's birth date is not a date")]
    BirthDate,
    #[error("the ID-card number's check digit is wrong: a digit was mistyped")]
    CheckDigit,
}

/// A resident ID-card number (GB 11643-1999), checked: 17 digits, a valid birth date, and the
/// check digit. Holds the number in clear only while it is being hashed and masked.
#[derive(Clone, PartialEq, Eq)]
pub struct IdNumber(String);

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

impl IdNumber {
    /// Reads a number as typed: spaces ignored, a lower-case x taken as X.
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let id: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let chars: Vec<char> = id.chars().collect();
        if chars.len() != 18
            || !chars[..17].iter().all(char::is_ascii_digit)
            || !(chars[17].is_ascii_digit() || chars[17] == 'X')
        {
            return Err(IdError::Shape);
        }
        let birth = &id[6..14];
        let date =
            chrono::NaiveDate::parse_from_str(birth, "%Y%m%d").map_err(|_| IdError::BirthDate)?;
        if !(1900..=2100).contains(&chrono::Datelike::year(&date)) {
            return Err(IdError::BirthDate);
        }
        let sum: u32 = chars[..17]
            .iter()
            .zip(WEIGHTS)
            .map(|(c, w)| c.to_digit(10).expect("checked digits") * w)
            .sum();
        if CHECK[(sum % 11) as usize] != chars[17] {
            return Err(IdError::CheckDigit);
        }
        Ok(Self(id))
    }

    /// `230602199001011234` → `230602********1234`: the region and the last four, as lists show.
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.0[..6], &self.0[14..])
    }

    /// The look-up form the registry stores: HMAC-SHA256 of the number under a key the database
    /// does not hold (derived from the audit key), so a copy of the database does not give the
    /// numbers back by hashing every possible one.
    pub fn lookup_hash(&self, key: &[u8; 32]) -> String {
        let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
        m.update(self.0.as_bytes());
        hex::encode(m.finalize().into_bytes())
    }
}

/// Never prints the number.
impl std::fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The check digit of 17 digits, for making valid numbers in tests.
    fn with_check(first17: &str) -> String {
        let sum: u32 = first17
            .chars()
            .zip(WEIGHTS)
            .map(|(c, w)| c.to_digit(10).unwrap() * w)
            .sum();
        format!("{first17}{}", CHECK[(sum % 11) as usize])
    }

    #[test]
    fn the_standards_example_is_valid_and_shown_masked() {
        // GB 11643-1999's own example.
        let id = IdNumber::parse("11010519491231002x").unwrap();
        assert_eq!(id.masked(), "110105********002X");
        assert_eq!(format!("{id:?}"), "IdNumber(110105********002X)");
        assert_eq!(IdNumber::parse("1101 0519 4912 3100 2X").unwrap(), id);
    }

    #[test]
    fn bad_numbers_are_refused_by_what_is_wrong() {
        assert_eq!(
            IdNumber::parse("110105194912310021"),
            Err(IdError::CheckDigit)
        );
        assert_eq!(IdNumber::parse("11010519491231002"), Err(IdError::Shape));
        assert_eq!(IdNumber::parse("110105491231002"), Err(IdError::Shape));
        assert_eq!(IdNumber::parse("1101051949123100XX"), Err(IdError::Shape));
        let feb30 = with_check("11010519490230002");
        assert_eq!(IdNumber::parse(&feb30), Err(IdError::BirthDate));
    }

    #[test]
    fn the_lookup_hash_depends_on_the_key() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        let a = id.lookup_hash(&[1; 32]);
        assert_eq!(a, id.lookup_hash(&[1; 32]));
        assert_ne!(a, id.lookup_hash(&[2; 32]));
        assert_eq!(a.len(), 64);
        assert!(!a.contains("110105"));
    }

    proptest! {
        /// One mistyped digit is always caught (the check digit's purpose).
        #[test]
        fn one_wrong_digit_is_always_caught(region in "[1-6][0-9]{5}", day in 1u32..=28, serial in "[0-9]{3}", at in 0usize..17, delta in 1u32..10) {
            let good = with_check(&format!("{region}1990{:02}{day:02}{serial}", 1 + day % 12));
            prop_assert!(IdNumber::parse(&good).is_ok());
            let mut chars: Vec<char> = good.chars().collect();
            chars[at] = char::from_digit((chars[at].to_digit(10).unwrap() + delta) % 10, 10).unwrap();
            let bad: String = chars.into_iter().collect();
            prop_assert!(IdNumber::parse(&bad).is_err());
        }
    }
}
