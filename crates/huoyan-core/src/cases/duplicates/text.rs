//! Reading a report: numbers normalised however they are typed (三号楼, 3栋, 3#楼 → 3号楼), so
//! places can be compared and counted as the same.

fn chinese_digit(c: char) -> Option<u32> {
    Some(match c {
        '零' | '〇' => 0,
        '一' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

/// A run of Chinese numerals as ASCII digits: 三 → 3, 十二 → 12, 二十 → 20, 三零一 → 301.
fn chinese_number(run: &[char]) -> Option<String> {
    match run.iter().position(|c| *c == '十') {
        Some(at) => {
            let digit = |part: &[char], empty: u32| match part {
                [] => Some(empty),
                [c] => chinese_digit(*c),
                _ => None,
            };
            let tens = digit(&run[..at], 1)?;
            let units = digit(&run[at + 1..], 0)?;
            Some((tens * 10 + units).to_string())
        }
        None => run
            .iter()
            .map(|c| chinese_digit(*c).and_then(|d| char::from_digit(d, 10)))
            .collect(),
    }
}

pub(super) fn starts_with(chars: &[char], word: &str) -> bool {
    let mut rest = chars.iter();
    word.chars().all(|w| rest.next() == Some(&w))
}

pub(super) fn ends_with(chars: &[char], word: &str) -> bool {
    let n = word.chars().count();
    chars.len() >= n && starts_with(&chars[chars.len() - n..], word)
}

/// Words after a number that make it a place: building, entrance, floor, household.
fn is_place_unit(rest: &[char]) -> bool {
    ["号", "栋", "幢", "单元", "楼", "层", "户", "#"]
        .iter()
        .any(|u| starts_with(rest, u))
}

/// Words after a number that count with it (三天 / 3天, 二十元 / 20元): it is read as digits too,
/// so a resend that types the number the other way reads the same.
fn is_count_unit(rest: &[char]) -> bool {
    [
        "天", "元", "块", "次", "小时", "个", "名", "位", "周", "分钟", "箱", "袋", "斤",
    ]
    .iter()
    .any(|u| starts_with(rest, u))
}

/// A report's characters as the proposer reads them: lower case, full-width digits and numbers
/// written in Chinese before a place (三号楼, 一单元), before a count (三天) or as a room (三零一)
/// as ASCII digits, 3栋 /
/// 3幢 / 3#楼 / 3# as 3号楼, without punctuation and spaces.
pub(super) fn normalise(text: &str) -> Vec<char> {
    let chars: Vec<char> = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '＃' => '#',
            _ => c,
        })
        .collect();
    let mut digits = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let numeral = |c: &char| chinese_digit(*c).is_some() || *c == '十';
        if numeral(&chars[i]) {
            let end = i + chars[i..].iter().take_while(|c| numeral(c)).count();
            let run = &chars[i..end];
            let room = (3..=4).contains(&run.len()) && !run.contains(&'十') && !run.contains(&'两');
            let rest = &chars[end..];
            // A number that ends the text (配送费一单要二十), not a lone 一 (统一).
            let last = rest.iter().all(|c| !c.is_alphanumeric()) && run.len() >= 2;
            let counted = is_count_unit(rest) && !(run == ['一'] && starts_with(rest, "个"));
            match chinese_number(run).filter(|_| is_place_unit(rest) || room || counted || last) {
                Some(number) => digits.extend(number.chars()),
                None => digits.extend_from_slice(run),
            }
            i = end;
        } else {
            digits.push(chars[i]);
            i += 1;
        }
    }
    let mut places = Vec::with_capacity(digits.len());
    let mut i = 0;
    while i < digits.len() {
        places.push(digits[i]);
        if digits[i].is_ascii_digit() && !digits.get(i + 1).is_some_and(char::is_ascii_digit) {
            let rest = &digits[i + 1..];
            let written = ["#楼", "#", "栋", "幢"]
                .into_iter()
                .find(|u| starts_with(rest, u));
            if let Some(unit) = written {
                places.extend(['号', '楼']);
                i += unit.chars().count();
            }
        }
        i += 1;
    }
    places.retain(|c| c.is_alphanumeric());
    places
}
