//! Rules about people's personal data: phones are validated and masked in lists, birth years
//! bounded.

crate::coded_enum!(
    /// A person's gender as the registers record it.
    Gender {
        Male = "male", "男", "Male";
        Female = "female", "女", "Female";
    }
);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonError {
    #[error("phone: expected an 11-digit mainland mobile number such as 13800001234")]
    BadPhone,
    #[error("birth_year: must lie between 1900 and this year")]
    BadBirthYear,
}

/// Accepts an 11-digit mainland mobile number, tolerating spaces, dashes and a +86 prefix, and
/// returns it in its bare form.
pub fn parse_phone(raw: &str) -> Result<String, PersonError> {
    let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let digits = digits.strip_prefix("+86").unwrap_or(&digits);
    let ok = digits.len() == 11
        && digits.chars().all(|c| c.is_ascii_digit())
        && digits.starts_with('1')
        && matches!(digits.as_bytes()[1], b'3'..=b'9');
    if ok {
        Ok(digits.to_string())
    } else {
        Err(PersonError::BadPhone)
    }
}

/// `13812345678` → `138****5678`, the form lists and exports show.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

pub fn validate_birth_year(year: i64, this_year: i64) -> Result<(), PersonError> {
    if (1900..=this_year).contains(&year) {
        Ok(())
    } else {
        Err(PersonError::BadBirthYear)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn phones() {
        assert_eq!(parse_phone("+86 138-0000-1234").unwrap(), "13800001234");
        assert!(parse_phone("12800001234").is_err());
        assert!(parse_phone("1380000123").is_err());
        assert!(parse_phone("1380000123x").is_err());
        assert_eq!(mask_phone("13800001234"), "138****1234");
    }

    proptest! {
        #[test]
        fn a_masked_phone_never_shows_the_middle(middle in "[0-9]{4}", head in "1[3-9][0-9]", tail in "[0-9]{4}") {
            let phone = format!("{head}{middle}{tail}");
            let masked = mask_phone(&phone);
            prop_assert_eq!(masked, format!("{head}****{tail}"));
        }
    }
}
