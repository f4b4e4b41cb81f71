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

/// A resident's contact number: a mainland mobile (as `parse_phone`), or a landline with its area
/// code (0 and 9 to 11 more digits); bare digits. A number without its area code is refused: too
/// few digits are left to mask.
pub fn parse_contact_phone(raw: &str) -> Result<String, &'static str> {
    if let Ok(mobile) = parse_phone(raw) {
        return Ok(mobile);
    }
    let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if digits.starts_with('0')
        && (10..=12).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
    {
        Ok(digits)
    } else {
        Err("a mobile number (13800001234) or a landline with its area code (045961234567)")
    }
}

/// A contact number as lists show it: a mobile as `mask_phone`; a landline with its area code
/// and last two digits (`0459******67`).
pub fn mask_contact(phone: &str) -> String {
    if phone.starts_with('0') && phone.len() > 6 {
        format!(
            "{}{}{}",
            &phone[..4],
            "*".repeat(phone.len() - 6),
            &phone[phone.len() - 2..]
        )
    } else {
        mask_phone(phone)
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

    #[test]
    fn a_residents_number_is_a_mobile_or_a_landline_with_its_area_code_masked_to_its_ends() {
        assert_eq!(parse_contact_phone("139 0459 1234").unwrap(), "13904591234");
        assert_eq!(parse_contact_phone("0459-6123456").unwrap(), "04596123456");
        assert!(parse_contact_phone("6123456").is_err());
        assert!(parse_contact_phone("84561234").is_err());
        assert_eq!(mask_contact("04596123456"), "0459*****56");
        assert_eq!(mask_contact("13904591234"), "139****1234");
    }
}
