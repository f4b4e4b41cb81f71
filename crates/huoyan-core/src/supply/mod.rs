//! Supplies and assistance (物资保供与关爱服务): under static management nobody leaves the
//! building, so goods are carried to every door and help to those who cannot come down. The core
//! holds the rules that need no I/O: who needs help and with what, how a batch is split among
//! volunteer teams, what a delivery's mark means, which requests are urgent and when they are due.

pub mod assistance;
pub mod delivery;
pub mod figures;

/// The kinds of notice supplies send: a group's buildings of a new batch, a request for help
/// assigned to a volunteer, an urgent medical need told to the community and the group at once,
/// a request past its deadline.
pub const NOTICE_KINDS: [&str; 4] = [
    "supply_planned",
    "assistance_assigned",
    "assistance_urgent",
    "assistance_overdue",
];

crate::coded_enum!(
    /// Why a resident needs help: the household register's conditions.
    Condition {
        ElderlyAlone = "elderly_alone", "独居老人", "Elderly, living alone";
        Disabled = "disabled", "残疾", "Disabled";
        Bedridden = "bedridden", "卧床", "Bedridden";
        Pregnant = "pregnant", "孕妇", "Pregnant";
        Dialysis = "dialysis", "透析", "On dialysis";
        RegularTreatment = "regular_treatment", "定期治疗", "Other regular treatment";
        NoSmartphone = "no_smartphone", "无智能手机", "No smartphone";
    }
);

crate::coded_enum!(
    /// What a household needs brought to its door.
    Help {
        Medicine = "medicine", "代购药品", "Medicine bought";
        DoorSampling = "door_sampling", "上门采样", "Door-to-door sampling";
        HealthCode = "health_code", "代亮健康码", "Help showing the health code";
    }
);

crate::coded_enum!(
    /// What a supply batch carries.
    Goods {
        VegetablePackage = "vegetable_package", "蔬菜包", "Vegetable packages";
        RiceOil = "rice_oil", "米面油", "Rice and oil";
        Medicine = "medicine", "药品", "Medicine";
        AntigenKits = "antigen_kits", "抗原试剂", "Antigen kits";
    }
);

/// A sheet's list of labels (`独居老人、透析`, `elderly_alone,dialysis`), each a code or its
/// Chinese or English label, separated by commas, 、 or spaces; the first that is none of them is
/// the error.
pub fn parse_labels<T: Copy + PartialEq>(
    cell: &str,
    all: &[T],
    names: impl Fn(T) -> [&'static str; 3],
) -> Result<Vec<T>, String> {
    let mut out = Vec::new();
    for word in cell
        .split([',', '，', '、', ' ', ';', '；'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
    {
        let found = all
            .iter()
            .copied()
            .find(|v| names(*v).iter().any(|n| n.eq_ignore_ascii_case(word)))
            .ok_or_else(|| word.to_string())?;
        if !out.contains(&found) {
            out.push(found);
        }
    }
    Ok(out)
}

/// `parse_labels` for the household register's conditions.
pub fn conditions(cell: &str) -> Result<Vec<Condition>, String> {
    parse_labels(cell, Condition::ALL, |c| [c.code(), c.zh(), c.en()])
}

/// `parse_labels` for what households need.
pub fn needs(cell: &str) -> Result<Vec<Help>, String> {
    parse_labels(cell, Help::ALL, |h| [h.code(), h.zh(), h.en()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sheets_labels_read_as_codes_or_either_language_once_each() {
        assert_eq!(
            conditions("独居老人、透析, dialysis").unwrap(),
            vec![Condition::ElderlyAlone, Condition::Dialysis]
        );
        assert_eq!(
            needs("上门采样，medicine").unwrap(),
            vec![Help::DoorSampling, Help::Medicine]
        );
        assert_eq!(conditions("").unwrap(), vec![]);
        assert_eq!(conditions("独居老人、会飞"), Err("会飞".to_string()));
    }
}
