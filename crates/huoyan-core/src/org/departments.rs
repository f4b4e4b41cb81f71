//! The kinds of responsible unit (责任单位) a case can be dispatched to.

crate::coded_enum!(
    DepartmentKind {
        Community = "community", "社区", "Community";
        Police = "police", "公安", "Police";
        MarketRegulator = "market_regulator", "市场监管", "Market regulator";
        PropertyManager = "property_manager", "物业", "Property manager";
        Health = "health", "卫生健康", "Health";
        Supply = "supply", "保供", "Supply";
        Other = "other", "其他", "Other";
    }
);
