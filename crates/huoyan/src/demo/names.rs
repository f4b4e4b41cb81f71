//! Plausible invented Chinese names, compound names and phone numbers for the demo.

use rand::RngExt;
use rand::rngs::StdRng;

const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔向汤";
const MALE: &str = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林洋峰建国志庆东海文博";
const FEMALE: &str = "芳娜敏静丽艳娟霞秀英慧颖佳琳雪婷倩玲红梅洁燕萍莉兰琴云晶欣悦桂凤";
const COMPOUND_HEADS: [&str; 24] = [
    "阳光", "锦绣", "和谐", "银河", "湖畔", "学府", "翠湖", "金色", "龙湖", "世纪", "新城", "绿地",
    "兴华", "远望", "华庭", "春晓", "东湖", "明珠", "悦城", "奥林", "万达", "嘉园", "惠民", "乐园",
];
const COMPOUND_TAILS: [&str; 6] = ["小区", "花园", "家园", "嘉园", "新城", "苑"];
const EMPLOYERS: [&str; 8] = [
    "大庆市纪委监委",
    "大庆市委组织部",
    "大庆市财政局",
    "大庆市教育局",
    "大庆市住建局",
    "大庆市税务局",
    "大庆市人社局",
    "大庆市交通运输局",
];

#[derive(Default)]
pub struct Names {
    used_compounds: std::collections::HashSet<String>,
}

fn pick(rng: &mut StdRng, chars: &str) -> char {
    let v: Vec<char> = chars.chars().collect();
    v[rng.random_range(0..v.len())]
}

impl Names {
    /// A name and gender.
    pub fn next(&mut self, rng: &mut StdRng) -> (String, &'static str) {
        let female = rng.random_bool(0.5);
        let pool = if female { FEMALE } else { MALE };
        let mut name = pick(rng, SURNAMES).to_string();
        name.push(pick(rng, pool));
        if rng.random_bool(0.6) {
            name.push(pick(rng, pool));
        }
        (name, if female { "female" } else { "male" })
    }

    /// A compound name not used before.
    pub fn compound(&mut self, rng: &mut StdRng) -> String {
        loop {
            let name = format!(
                "{}{}{}",
                COMPOUND_HEADS[rng.random_range(0..COMPOUND_HEADS.len())],
                ["", "一期", "二期", "三期"][rng.random_range(0..4)],
                COMPOUND_TAILS[rng.random_range(0..COMPOUND_TAILS.len())]
            );
            if self.used_compounds.insert(name.clone()) {
                return name;
            }
        }
    }
}

/// The n-th demo phone: distinct for every n below 10^8 (7919 is coprime with 10^8).
pub fn phone(n: usize) -> String {
    const PREFIXES: [&str; 8] = ["139", "138", "137", "158", "186", "150", "133", "189"];
    let body = (n as u64 * 7919 + 12345) % 100_000_000;
    format!("{}{body:08}", PREFIXES[n % PREFIXES.len()])
}

pub fn employer(i: usize) -> &'static str {
    EMPLOYERS[i % EMPLOYERS.len()]
}

#[cfg(test)]
mod tests {
    #[test]
    fn phones_are_distinct_and_valid() {
        let mut seen = std::collections::HashSet::new();
        for n in 0..5000 {
            let p = super::phone(n);
            assert!(huoyan_core::org::parse_phone(&p).is_ok(), "{p}");
            assert!(seen.insert(p));
        }
    }
}
