crate::coded_enum!(
    /// Kinds of named places.
    SiteKind {
        SamplingPoint = "sampling_point", "核酸采样点", "Sampling point";
        ZoneGate = "zone_gate", "卡口", "Zone gate";
        SupplyStation = "supply_station", "物资保供站", "Supply station";
        CommunityOffice = "community_office", "社区办公室", "Community office";
        QuarantineSite = "quarantine_site", "隔离点", "Quarantine site";
        Vendor = "vendor", "保供商户", "Vendor";
    }
);
