use super::profile::{tokens, words};
use super::text::normalise;
use super::*;
use proptest::prelude::*;

fn profile(id: i64, category: &str, text: &str, day: i64) -> Profile {
    Profile::new(
        &CaseText {
            id,
            category,
            text,
            reported_at_ms: day * 86_400_000,
        },
        &Idf::default(),
    )
}

#[test]
fn the_same_problem_told_twice_is_proposed_first_with_its_reasons() {
    let idf = Idf::new([
        ("static_control", "3号楼东门岗无人值守，居民随意进出。"),
        ("supplies", "蔬菜包没有送到5号楼"),
        ("static_control", "小区里有人遛狗"),
        ("testing", "采样点排队太挤"),
        ("static_control", "东门口有人聚集"),
    ]);
    let case = |id: i64, category: &str, text: &str, day: i64| {
        Profile::new(
            &CaseText {
                id,
                category,
                text,
                reported_at_ms: day * 86_400_000,
            },
            &idf,
        )
    };
    let a = case(1, "static_control", "三号楼东门没人守 随便进出", 0);
    let queue = [
        (
            case(
                2,
                "static_control",
                "经督查，该小区3号楼东侧出入口值守人员脱岗，人员随意进出未登记。",
                1,
            ),
            Proximity::SameCompound,
        ),
        (
            case(3, "static_control", "3号楼西门岗无人值守", 0),
            Proximity::SameCompound,
        ),
        (
            case(4, "supplies", "蔬菜包没有送到3号楼", 0),
            Proximity::SameCompound,
        ),
        (
            case(
                5,
                "static_control",
                "3号楼东门岗无人值守，居民随意进出。",
                9,
            ),
            Proximity::SameCompound,
        ),
        (
            case(6, "static_control", "东门岗没人 随意进出", 1),
            Proximity::SameCommunity,
        ),
    ];
    let found = propose(
        &a,
        queue.iter().map(|(p, n)| (p, n)),
        &DuplicateRule::default(),
    );
    let ids: Vec<i64> = found.iter().map(|p| p.id).collect();
    assert_eq!(
        ids.first(),
        Some(&2),
        "the formal report of the same gate comes first: {found:?}"
    );
    assert!(!ids.contains(&3), "the west gate is another place");
    assert!(!ids.contains(&4), "vegetables are another problem");
    assert!(!ids.contains(&5), "nine days later is out of the window");
    let reasons = &found[0].reasons;
    assert_eq!(reasons[0], Reason::SameCompound);
    assert!(reasons.contains(&Reason::SamePlace {
        places: vec!["3号楼".into(), "东侧".into()]
    }));
    assert!(reasons.contains(&Reason::SameCategory));
    assert!(reasons.contains(&Reason::DaysApart { days: 1 }));
    assert!(
        reasons
            .iter()
            .any(|r| matches!(r, Reason::SharedWords { words } if words.iter().any(|w| w.contains("值守人员")))),
        "the guard concept is shared and shown by its first word: {reasons:?}"
    );
}

#[test]
fn a_shared_site_across_community_lines_is_a_reason() {
    let a = profile(1, "testing", "福瑞采样点排队太挤", 0);
    let b = profile(
        2,
        "testing",
        "市民来电反映福瑞采样点人员密集，未保持间距",
        0,
    );
    let near = Proximity::SharedSite("福瑞采样点".into());
    let found = propose(
        &a,
        [(&b, &near)],
        &DuplicateRule {
            threshold: 0.0,
            ..Default::default()
        },
    );
    assert_eq!(
        found[0].reasons[0],
        Reason::SharedSite {
            site: "福瑞采样点".into()
        }
    );
}

#[test]
fn the_most_proposed_is_bounded() {
    let a = profile(1, "testing", "采样点排队太挤", 0);
    let queue: Vec<(Profile, Proximity)> = (2..20)
        .map(|id| {
            (
                profile(id, "testing", "采样点排队太挤", 0),
                Proximity::SameCompound,
            )
        })
        .collect();
    let rule = DuplicateRule {
        threshold: 0.0,
        ..Default::default()
    };
    let found = propose(&a, queue.iter().map(|(p, n)| (p, n)), &rule);
    assert_eq!(found.len(), rule.most);
    assert_eq!(found[0].id, 2, "ties go to the oldest case");
}

fn normalised(text: &str) -> String {
    normalise(text).into_iter().collect()
}

#[test]
fn numbers_read_the_same_however_they_are_typed() {
    assert_eq!(normalised("三号楼东门"), "3号楼东门");
    assert_eq!(normalised("3栋一单元"), "3号楼1单元");
    assert_eq!(normalised("3#楼、13# 楼"), "3号楼13号楼");
    assert_eq!(normalised("１２幢"), "12号楼");
    assert_eq!(normalised("十号楼和二十二号楼"), "10号楼和22号楼");
    assert_eq!(normalised("二号楼三零一"), "2号楼301");
    assert_eq!(normalised("8栋6楼"), "8号楼6楼");
    assert_eq!(
        normalised("十多个人排队"),
        "十多个人排队",
        "numerals that count are words"
    );
}

fn read(text: &str) -> Vec<String> {
    tokens(&normalise(text))
        .into_iter()
        .map(|t| words(u64::from(t)))
        .collect()
}

#[test]
fn the_two_registers_meet_in_concepts_and_filler_goes() {
    assert_eq!(read("东门没人守"), ["东", "门岗", "无人", "值守人员"]);
    assert_eq!(
        read("经督查，该小区东侧出入口值守人员脱岗"),
        ["东", "侧", "门岗", "值守人员", "无人"]
    );
    assert_eq!(
        read("市民来电反映其所在楼栋蔬菜包没送到"),
        ["楼", "栋", "蔬菜包", "未送达"]
    );
    assert_eq!(
        read("有人在小区里"),
        Vec::<String>::new(),
        "nothing but filler"
    );
}

fn differ(a: &str, b: &str) -> bool {
    let of = |t: &str| places::Places::of(&normalise(t));
    of(a).differ(&of(b))
}

#[test]
fn different_places_of_a_compound_are_different_problems() {
    assert!(differ("5号楼蔬菜包还没送到", "3号楼蔬菜包还没送到"));
    assert!(differ("11号楼蔬菜包没到", "1号楼蔬菜包没到"));
    assert!(differ("3号楼1单元封条被撕", "3号楼2单元封条被撕"));
    assert!(differ("3号采样点排队太挤", "5号采样点排队太挤"));
    assert!(differ("2号楼301老人没药了", "2号楼302家里孩子发烧"));
    assert!(differ("东门岗无人值守", "西门岗无人值守"));
    assert!(differ("小区西北角围栏有个口子", "东南角围栏有个口子"));

    assert!(
        !differ("3号楼东门岗无人值守", "三号楼东门没人"),
        "the same places"
    );
    assert!(!differ(
        "单元门封条被撕了 3号楼1单元",
        "3栋一单元封条让人撕掉了"
    ));
    assert!(!differ("西北角围栏", "北门外"), "overlapping directions");
    assert!(
        !differ("5号楼有人遛狗", "楼下有人遛狗"),
        "one names no building"
    );
    assert!(
        !differ("8号楼601老人卧床", "8栋6楼有个老太太"),
        "a floor is not a room"
    );
    assert!(!differ("往北边跑了", "往外跑"));
}

/// 7号楼 or the east gate of two compounds are two places: the same words from two compounds are
/// two problems, in one community or across a place the compounds share; from one compound, one.
#[test]
fn a_compounds_own_places_are_its_own() {
    let rule = DuplicateRule::default();
    for (a, b) in [
        ("7号楼下有人打扑克", "7号楼下有人打扑克"),
        ("小区东门有人翻出去", "东门有人翻墙出去了"),
        ("3号楼2单元封条被撕", "三号楼二单元封条让人撕了"),
    ] {
        let (x, y) = (
            profile(1, "static_control", a, 0),
            profile(2, "static_control", b, 0),
        );
        assert!(
            score(&x, &y, &Proximity::SameCompound, &rule).is_some(),
            "{a} / {b}"
        );
        for near in [
            Proximity::SameCommunity,
            Proximity::SharedSite("福瑞采样点".into()),
        ] {
            assert_eq!(score(&x, &y, &near, &rule), None, "{a} / {b}, {near:?}");
        }
    }
    // Without a place of their own, neighbours' reports are weighed as before.
    let (x, y) = (
        profile(1, "testing", "福瑞采样点排队太乱", 0),
        profile(2, "testing", "中间那个核酸点排队挤", 0),
    );
    assert!(score(&x, &y, &Proximity::SharedSite("福瑞采样点".into()), &rule).is_some());
}

#[test]
fn rare_words_weigh_more_than_common_ones() {
    let idf = Idf::new(
        ["小区门口有人", "小区里有人聚集", "小区东门", "哈尔滨来的车"].map(|t| ("spill_over", t)),
    );
    let score_of = |x: &str, y: &str| {
        let p = |id, t| {
            Profile::new(
                &CaseText {
                    id,
                    category: "spill_over",
                    text: t,
                    reported_at_ms: 0,
                },
                &idf,
            )
        };
        features(
            &p(1, x),
            &p(2, y),
            &Proximity::SameCompound,
            &DuplicateRule::default(),
        )
        .unwrap()[0]
    };
    assert!(
        score_of("哈尔滨来的人要出去", "哈尔滨的车") > score_of("门口来的人要出去", "门口的车")
    );
}

#[test]
fn one_place_in_one_template_with_another_problem_is_told_by_the_rest() {
    let x = |a: &str, b: &str| {
        features(
            &profile(1, "supplies", a, 0),
            &profile(2, "supplies", b, 0),
            &Proximity::SameCompound,
            &DuplicateRule::default(),
        )
        .unwrap()
    };
    // Same frame, another problem: what is left once the shared frame is out shares nothing (11).
    let other = x(
        "经督查，鑫盛超市保供商户存在哄抬物价情况。",
        "经督查，鑫盛超市保供商户存在员工未戴口罩情况。",
    );
    assert_eq!(other[11], 0.0, "{other:?}");
    // One problem in two registers: the rest still meets (物价 / 菜价, one concept).
    let same = x(
        "经督查，鑫盛超市保供商户存在哄抬物价情况。",
        "鑫盛超市菜价涨老高了 黄瓜八块",
    );
    assert!(same[11] > other[11], "{same:?}");
    // Identical texts: everything is frame, nothing is left to differ.
    let twice = x("东门没人守", "东门没人守");
    assert_eq!((twice[11], twice[12]), (1.0, 1.0));
}

proptest! {
    #[test]
    fn scores_are_symmetric_and_bounded(a in "[门岗核酸物资无人值守居民东西 ]{1,20}", b in "[门岗核酸物资无人值守居民东西 ]{1,20}") {
        let rule = DuplicateRule::default();
        let (x, y) = (profile(1, "testing", &a, 0), profile(2, "testing", &b, 0));
        let s = score(&x, &y, &Proximity::SameCompound, &rule);
        prop_assert_eq!(s, score(&y, &x, &Proximity::SameCompound, &rule));
        if let Some(s) = s {
            prop_assert!((0.0..=1.0).contains(&s));
        }
    }

    #[test]
    fn differing_places_is_symmetric_and_never_a_text_against_itself(a in "[东西南北门侧角号楼单元采样点栋#一二三十0-9 ]{0,16}", b in "[东西南北门侧角号楼单元采样点栋#一二三十0-9 ]{0,16}") {
        prop_assert_eq!(differ(&a, &b), differ(&b, &a));
        prop_assert!(!differ(&a, &a));
    }
}

/// The application's small database: the rare-word weights are counted over the few reports of
/// the last weeks, the new one among them (`huoyan::cases::duplicates::snapshot`).
fn app_profiles(texts: &[&str]) -> Vec<Profile> {
    let idf = Idf::new(texts.iter().map(|t| ("static_control", *t)));
    texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            Profile::new(
                &CaseText {
                    id: i as i64 + 1,
                    category: "static_control",
                    text,
                    reported_at_ms: 0,
                },
                &idf,
            )
        })
        .collect()
}

#[test]
fn a_resend_in_nearly_the_same_words_is_proposed_where_few_reports_weigh_the_words() {
    let p = app_profiles(&[
        "3号楼东门岗无人值守，居民随意进出",
        "三号楼东门岗无人值守，居民随意出入",
        "5号楼西门岗没人看守",
    ]);
    let rule = DuplicateRule::default();
    let near = Proximity::SameCompound;
    let found = propose(&p[1], [(&p[0], &near), (&p[2], &near)], &rule);
    assert_eq!(
        found.iter().map(|f| f.id).collect::<Vec<_>>(),
        [1],
        "the resend, not the other building: {found:?}"
    );
}

/// Both twins, in either order: the resend in nearly the same words and the formal report are
/// one problem (the fourth pass put the formal one first, the fifth the resend).
#[test]
fn both_twins_are_proposed_where_few_reports_weigh_the_words() {
    let p = app_profiles(&[
        "经督查，景程小区3号楼东侧出入口值守人员脱岗，进出人员未查验健康码、未登记",
        "3号楼东门没人守着 随意进出",
        "5号楼西门岗没人看守",
        "三号楼东门没人守 随便进出",
    ]);
    let rule = DuplicateRule::default();
    let near = Proximity::SameCompound;
    let found = propose(&p[3], p[..3].iter().map(|o| (o, &near)), &rule);
    let mut ids: Vec<i64> = found.iter().map(|f| f.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2], "both twins, not the other building: {found:?}");
}
