//! What a case is about and where it came from.

crate::coded_enum!(
    Category {
        StaticControl = "static_control", "静态管控", "Static control";
        Testing = "testing", "核酸检测", "Testing";
        Supplies = "supplies", "物资保供", "Supplies";
        OutsideWorkers = "outside_workers", "外来人员管控", "Outside workers";
        SupplyVendors = "supply_vendors", "保供主体防疫", "Supply vendors";
        SpillOver = "spill_over", "防外溢", "Spill-over";
        Disinfection = "disinfection", "消杀", "Disinfection";
        Assistance = "assistance", "群众帮扶", "Assistance";
        Other = "other", "其他", "Other";
    }
);

// `Testing`: the follow-ups a positive test result sets going (`testing`'s recall). `Supply`: a
// delivery short or missed (`supply`).
crate::coded_enum!(
    Source {
        Supervisor = "supervisor", "小区监督员", "Compound supervisor";
        Inspection = "inspection", "督战队督查", "Inspection";
        Drone = "drone", "空中督导", "Drone";
        Resident = "resident", "居民", "Resident";
        Hotline = "hotline", "热线", "Hotline";
        Testing = "testing", "核酸结果", "Test results";
        Supply = "supply", "物资配送", "Supply deliveries";
    }
);

crate::coded_enum!(
    Kind {
        Problem = "problem", "问题", "Problem";
        Suggestion = "suggestion", "建议", "Suggestion";
    }
);
