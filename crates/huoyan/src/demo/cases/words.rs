//! The words a story's `{x}` parts are filled from (`Parts`), and an office's reasons to reject.

pub const TIMES: &[&str] = &["凌晨两点多", "晚上十点后", "中午", "清晨五点", "一整夜"];
pub const DIRECTIONS: &[&str] = &["东北", "西北", "东南", "西南", "东", "西", "北", "南"];
pub const SPOTS: &[&str] = &["中心广场", "凉亭", "健身器材区", "北侧空地", "地下车库入口"];
pub const GOODS: &[&str] = &[
    "大米",
    "面粉",
    "鸡蛋",
    "牛奶",
    "婴儿奶粉",
    "卫生巾",
    "食用油",
    "猪肉",
];
pub const VENDORS: &[&str] = &[
    "福源超市",
    "佳佳乐便利店",
    "绿野生鲜",
    "老李家水果店",
    "丰收粮油店",
    "万家福超市",
    "惠民蔬菜店",
    "鑫鑫肉铺",
];
pub const MEDICINES: &[&str] = &["降压药", "降糖药", "胰岛素", "速效救心丸", "抗凝药"];
pub const ROADS: &[&str] = &["小区外主路", "小区北侧道路", "东侧辅路", "南侧商业街"];

/// Why an office rejects a report.
pub const REJECTIONS: &[&str] = &[
    "经电话核实，反映情况不属实，已向反映人说明。",
    "该问题已由社区当场处理完毕，无需交办，已告知反映人。",
    "非疫情防控事项，已告知反映人通过12345热线反映。",
    "反映内容不具体，多次联系反映人未果，无法核实。",
];
