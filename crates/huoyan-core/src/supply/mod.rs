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
