//! The checklists a city starts from, per site kind: what Daqing's supervision teams checked at
//! each kind of place (the demo loads them as version 1; a city edits its own).

use super::checklist::Item;
use crate::cases::Category;
use crate::org::SiteKind;

type Row = (&'static str, &'static str, &'static str, Category);

const SAMPLING_POINT: &[Row] = &[
    (
        "queue_spacing",
        "排队保持一米间距",
        "Queue keeps one-metre spacing",
        Category::Testing,
    ),
    (
        "scanners_working",
        "扫码设备在位且正常",
        "Scanners present and working",
        Category::Testing,
    ),
    (
        "protective_gear",
        "采样人员防护到位",
        "Samplers fully protected",
        Category::Testing,
    ),
    (
        "desks_enough",
        "采样台数量满足需要",
        "Enough sampling desks",
        Category::Testing,
    ),
    (
        "waste_handled",
        "医疗废物按规定处置",
        "Medical waste handled as required",
        Category::Disinfection,
    ),
    (
        "disinfection_log",
        "消杀记录完整",
        "Disinfection log kept",
        Category::Disinfection,
    ),
];

const ZONE_GATE: &[Row] = &[
    (
        "staffed_24h",
        "卡口24小时有人值守",
        "Gate staffed 24 hours",
        Category::StaticControl,
    ),
    (
        "passes_checked",
        "出入通行证逐一查验",
        "Exit passes checked one by one",
        Category::StaticControl,
    ),
    (
        "codes_checked",
        "查验健康码和核酸证明",
        "Health codes and test results checked",
        Category::SpillOver,
    ),
    (
        "handover_outside",
        "物资在卡口外无接触交接",
        "Goods handed over contact-free outside",
        Category::OutsideWorkers,
    ),
    (
        "log_kept",
        "出入登记台账完整",
        "Entry and exit log kept",
        Category::StaticControl,
    ),
];

const SUPPLY_STATION: &[Row] = &[
    (
        "staff_tested",
        "工作人员24小时内核酸阴性",
        "Staff tested negative within 24 h",
        Category::SupplyVendors,
    ),
    (
        "cold_chain_disinfected",
        "冷链物品消杀到位",
        "Cold-chain goods disinfected",
        Category::Disinfection,
    ),
    (
        "stock_enough",
        "物资储备满足需要",
        "Stock meets demand",
        Category::Supplies,
    ),
    (
        "prices_posted",
        "明码标价无哄抬",
        "Prices posted, no gouging",
        Category::SupplyVendors,
    ),
    (
        "disinfection_log",
        "消杀记录完整",
        "Disinfection log kept",
        Category::Disinfection,
    ),
];

const COMMUNITY_OFFICE: &[Row] = &[
    (
        "duty_roster",
        "值班表在岗在位",
        "Duty roster staffed",
        Category::StaticControl,
    ),
    (
        "hotline_answered",
        "求助电话有人接听",
        "Help line answered",
        Category::Assistance,
    ),
    (
        "vulnerable_list",
        "特殊人群台账清楚",
        "Register of vulnerable residents kept",
        Category::Assistance,
    ),
    (
        "notices_posted",
        "通告及时张贴",
        "Notices posted in time",
        Category::Other,
    ),
];

const QUARANTINE_SITE: &[Row] = &[
    (
        "closed_management",
        "实行封闭管理",
        "Closed management kept",
        Category::StaticControl,
    ),
    (
        "one_person_one_room",
        "单人单间",
        "One person per room",
        Category::StaticControl,
    ),
    (
        "meals_delivered",
        "送餐无接触",
        "Meals delivered contact-free",
        Category::Assistance,
    ),
    (
        "waste_handled",
        "生活垃圾按医疗废物处置",
        "Waste handled as medical waste",
        Category::Disinfection,
    ),
    (
        "staff_protected",
        "工作人员防护到位",
        "Staff fully protected",
        Category::Testing,
    ),
];

const VENDOR: &[Row] = &[
    (
        "staff_tested",
        "从业人员24小时内核酸阴性",
        "Vendor staff tested within 24 h",
        Category::SupplyVendors,
    ),
    (
        "masks_worn",
        "从业人员规范佩戴口罩",
        "Staff wear masks properly",
        Category::SupplyVendors,
    ),
    (
        "cold_chain_disinfected",
        "冷链物品消杀到位",
        "Cold-chain goods disinfected",
        Category::Disinfection,
    ),
    (
        "prices_posted",
        "明码标价无哄抬",
        "Prices posted, no gouging",
        Category::SupplyVendors,
    ),
    (
        "scan_code_posted",
        "张贴场所码并查验",
        "Venue code posted and checked",
        Category::SupplyVendors,
    ),
];

/// The starting checklist of a site kind.
pub fn items(kind: SiteKind) -> Vec<Item> {
    let rows = match kind {
        SiteKind::SamplingPoint => SAMPLING_POINT,
        SiteKind::ZoneGate => ZONE_GATE,
        SiteKind::SupplyStation => SUPPLY_STATION,
        SiteKind::CommunityOffice => COMMUNITY_OFFICE,
        SiteKind::QuarantineSite => QUARANTINE_SITE,
        SiteKind::Vendor => VENDOR,
    };
    rows.iter()
        .map(|(code, zh, en, category)| Item {
            code: (*code).into(),
            zh: (*zh).into(),
            en: (*en).into(),
            category: *category,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspections::checklist::check_items;

    #[test]
    fn every_kind_has_a_valid_checklist() {
        for kind in SiteKind::ALL {
            let items = items(*kind);
            assert_eq!(check_items(&items), Ok(()), "{kind:?}");
            assert!(items.len() >= 4, "{kind:?}");
        }
    }
}
