use super::*;

/// The keys held in tables (which the catalogue scanner cannot see) exist in both languages.
#[test]
fn every_column_and_definition_has_its_text() {
    let keys = SPANS
        .iter()
        .chain(&MEASURE_KEYS)
        .chain(&crate::cases::exports::LIST_COLUMNS)
        .chain(DEFINITIONS.iter().flat_map(|(a, b)| [a, b]))
        .chain(&[
            "figures.sheet.departments",
            "figures.sheet.categories",
            "figures.sheet.notes",
            "figures.sheet.cases",
            "figures.n",
            "figures.median_h",
            "figures.p90_h",
        ]);
    for k in keys {
        for l in [Locale::Zh, Locale::En] {
            assert_ne!(l.t(k), *k, "{k} is missing from the catalogue");
        }
    }
    // Sheet names: at most 31 characters and none that Excel refuses.
    for k in [
        "figures.sheet.departments",
        "figures.sheet.categories",
        "figures.sheet.notes",
        "figures.sheet.cases",
    ] {
        for l in [Locale::Zh, Locale::En] {
            let name = l.t(k);
            assert!(
                name.chars().count() <= 31 && !name.contains(['[', ']', ':', '*', '?', '/', '\\'])
            );
        }
    }
}
