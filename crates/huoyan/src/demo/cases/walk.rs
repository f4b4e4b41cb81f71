//! Walking one case through the rules: each step decided by `huoyan_core::cases::step`, at
//! the scenario's pace for its department, until it closes or the snapshot stops it.

use super::*;

impl World {
    pub(super) fn dept(&self, name: &str) -> usize {
        self.depts
            .iter()
            .position(|d| d.name == name)
            .unwrap_or_else(|| panic!("the demo has the department {name}"))
    }

    pub(super) fn police(&self, c: &Compound) -> usize {
        self.dept(if c.gaoxin {
            "大庆市公安局高新区分局"
        } else {
            "大庆市公安局萨尔图分局"
        })
    }

    pub(super) fn testing_unit(&self, c: &Compound) -> usize {
        self.dept(if c.sartu {
            "萨尔图区疾病预防控制中心"
        } else {
            "大庆市卫生健康委员会"
        })
    }

    /// The unit responsible for a story in a compound (主办), if the demo has one.
    pub(super) fn lead(&self, story: &Story, c: usize) -> Option<usize> {
        let compound = &self.compounds[c];
        let office = compound.office;
        let commerce = self.dept("大庆市商务局");
        Some(match story.category {
            Category::StaticControl | Category::Assistance | Category::Other => office?,
            Category::Testing => self.testing_unit(compound),
            Category::Supplies => match story.place {
                Place::Building | Place::Gate => office.unwrap_or(commerce),
                _ => commerce,
            },
            Category::SupplyVendors => self.dept("大庆市市场监督管理局"),
            Category::OutsideWorkers | Category::SpillOver => self.police(compound),
            Category::Disinfection if c == 0 => self.dept("景程小区物业服务中心"),
            Category::Disinfection => office.unwrap_or(self.dept("萨尔图区疾病预防控制中心")),
        })
    }

    /// A unit a hurried dispatcher might wrongly send a story to, which sends it back.
    pub(super) fn wrong_lead(&self, story: &Story, c: usize, right: usize) -> Option<usize> {
        let compound = &self.compounds[c];
        let candidates = match story.category {
            Category::StaticControl | Category::Other if c == 0 => {
                vec![self.dept("景程小区物业服务中心")]
            }
            Category::StaticControl | Category::Other => vec![self.police(compound)],
            Category::Testing | Category::Disinfection | Category::Supplies => compound
                .office
                .into_iter()
                .chain([self.dept("大庆市卫生健康委员会")])
                .collect(),
            Category::SupplyVendors => vec![self.dept("大庆市商务局")],
            Category::OutsideWorkers | Category::SpillOver => compound.office.into_iter().collect(),
            Category::Assistance => vec![self.dept("大庆市卫生健康委员会")],
        };
        candidates.into_iter().find(|d| *d != right)
    }

    /// Co-responsible units (协办) for a story in compound `c` led by `lead`.
    pub(super) fn co_units(&mut self, story: &Story, c: usize, lead: usize) -> Vec<usize> {
        let office = self.compounds[c].office;
        let police = self.police(&self.compounds[c]);
        let property = self.dept("景程小区物业服务中心");
        let commerce = self.dept("大庆市商务局");
        let market = self.dept("大庆市市场监督管理局");
        let health = self.dept("大庆市卫生健康委员会");
        let cdc = self.dept("萨尔图区疾病预防控制中心");
        let mut wanted: Vec<(Option<usize>, f64)> = Vec::new();
        match story.category {
            Category::StaticControl => {
                wanted.push((Some(police), 0.2));
                if c == 0 {
                    wanted.push((Some(property), 0.3));
                }
            }
            Category::Testing => wanted.push((office, 0.3)),
            Category::Supplies => {
                wanted.push((Some(commerce), 0.4));
                if story.short.contains("价格") {
                    wanted.push((Some(market), 0.5));
                }
            }
            Category::SupplyVendors => {
                wanted.push((office, 0.25));
                wanted.push((Some(commerce), 0.15));
            }
            Category::OutsideWorkers | Category::SpillOver => wanted.push((office, 0.4)),
            Category::Disinfection => {
                wanted.push((Some(cdc), 0.25));
                if c == 0 {
                    wanted.push((office, 0.2));
                }
            }
            Category::Assistance => {
                if ["药", "透析", "孕妇", "发热"]
                    .iter()
                    .any(|w| story.short.contains(w))
                {
                    wanted.push((Some(health), 0.35));
                }
            }
            Category::Other => {}
        }
        let mut co = Vec::new();
        for (unit, p) in wanted {
            if let Some(u) = unit
                && u != lead
                && !co.contains(&u)
                && self.rng.random_bool(p)
            {
                co.push(u);
            }
        }
        co
    }

    pub(super) fn co_instruction(&self, unit: usize, lead: usize) -> String {
        let what = match self.depts[unit].kind.as_str() {
            "police" => "配合做好劝导和秩序维护，必要时依法处置",
            "community" => "配合入户核查和政策宣传",
            "health" => "配合做好医疗保障和消杀指导",
            "supply" => "配合做好物资调配",
            "market_regulator" => "配合核查经营和价格行为",
            "property_manager" => "配合做好现场整改",
            _ => "配合办理",
        };
        format!(
            "请{}{}，与{}同步反馈。",
            self.depts[unit].name, what, self.depts[lead].name
        )
    }

    /// How many hours a unit's fix of a story takes (its pace against the deadline).
    pub(super) fn fix_hours(
        &mut self,
        unit: usize,
        category: Category,
        priority: Priority,
        at: i64,
    ) -> f64 {
        let policy = DeadlinePolicy::default();
        let allowed = (policy.due(0, priority, category.code()) / HOUR) as f64;
        let kind = match category {
            Category::StaticControl | Category::SpillOver => 0.6,
            Category::Testing | Category::Assistance => 0.8,
            Category::OutsideWorkers | Category::Disinfection => 0.9,
            _ => 1.0,
        };
        let low = if priority == Priority::Low { 0.6 } else { 1.0 };
        // Supplies were short in the first week: the commerce bureau ran late then.
        let early = if self.depts[unit].name == "大庆市商务局"
            && at < bj("2022-08-27T00:00:00+08:00")
        {
            1.4
        } else {
            1.0
        };
        let share = self.depts[unit].pace.share * kind * low * early;
        (allowed * share * lognormal(&mut self.rng, 1.0, 0.8)).max(0.15)
    }

    /// Walks case `me` from its report until it ends or the snapshot cuts it.
    pub(super) fn walk(
        &mut self,
        sim: &mut Sim,
        story: &Story,
        parts: &Parts,
        outcome: Outcome,
        hold: Hold,
    ) -> anyhow::Result<()> {
        let result = self.walk_steps(sim, story, parts, outcome, hold);
        sim.escalate_before(self.snapshot, &self.dept_names);
        result
    }

    pub(super) fn walk_steps(
        &mut self,
        sim: &mut Sim,
        story: &Story,
        parts: &Parts,
        outcome: Outcome,
        hold: Hold,
    ) -> anyhow::Result<()> {
        let now = self.snapshot;
        let urgent = if sim.priority == Priority::Urgent {
            0.4
        } else {
            1.0
        };
        let mut t = sim.reported_at;
        if outcome == Outcome::FixOnSite {
            t += self.rng.random_range(5..45) * MIN;
            if t >= now {
                return Ok(());
            }
            let note = format!(
                "现场督促整改：{}。",
                parts.fill(one(&mut self.rng, story.fixes))
            );
            return sim.act(
                t,
                sim.reporter,
                Role::Inspector,
                Action::FixOnSite,
                note,
                Step::Plain,
            );
        }
        let office_stall = stall(&mut self.rng, 0.06);
        t += delay(&mut self.rng, t, 20.0 * urgent * office_stall, 0.9);
        if t >= now || hold == Hold::Office {
            return Ok(());
        }
        let office = self.cast.office;
        if outcome == Outcome::Reject {
            let note = pick(&mut self.rng, words::REJECTIONS).to_string();
            return sim.act(t, office, Role::Office, Action::Reject, note, Step::Plain);
        }
        let c = sim.compound;
        let right = self
            .lead(story, c)
            .expect("stories are chosen where a unit answers");
        let summary = self.summary(sim, story, parts, right);
        sim.act(
            t,
            office,
            Role::Office,
            Action::Triage,
            summary,
            Step::Plain,
        )?;

        let mut lead = match outcome {
            Outcome::SendBack => self.wrong_lead(story, c, right).unwrap_or(right),
            _ => right,
        };
        let mut first = true;
        let policy = DeadlinePolicy::default();
        let group = self.cast.group;
        loop {
            let group_stall = stall(&mut self.rng, 0.06);
            t += delay(&mut self.rng, t, 25.0 * urgent * group_stall, 0.9);
            if t >= now || (first && hold == Hold::Group) {
                return Ok(());
            }
            let due = policy.due(t, sim.priority, sim.category.code());
            let sends_back = lead != right;
            // A unit sent the wrong case is asked alone; a re-routed case sometimes keeps helpers.
            let co: Vec<usize> = if sends_back || !(first || self.rng.random_bool(0.3)) {
                Vec::new()
            } else {
                self.co_units(story, c, lead)
            };
            let mut co_tasks: Vec<(i64, String, i64)> = Vec::new();
            for u in co {
                let due = if self.rng.random_bool(0.7) {
                    due
                } else {
                    due + 12 * HOUR
                };
                co_tasks.push((self.depts[u].id, self.co_instruction(u, lead), due));
            }
            let verb = ["整改到位", "处置完毕", "落实到位"][self.rng.random_range(0..3)];
            let mut instruction = format!(
                "请{}于{}前{}，整改情况附照片反馈。",
                self.depts[lead].name,
                deadline_text(due),
                verb
            );
            if !first {
                instruction = format!("改派：{instruction}");
            }
            sim.act(
                t,
                group,
                Role::Group,
                Action::Dispatch,
                instruction,
                Step::Dispatch {
                    lead: self.depts[lead].id,
                    due,
                    co: co_tasks,
                },
            )?;
            let mut steps = self.unit_steps(sim, t, story, parts, sends_back, right, hold);
            steps.sort_by_key(|s| s.0);
            let mut sent_back = false;
            for (at, action, unit, note, step) in steps {
                if at >= now {
                    return Ok(());
                }
                sim.escalate_before(at, &self.dept_names);
                // A co-responsible unit's later steps lapse once the lead sent the case back.
                let open = sim.has_open(self.depts[unit].id);
                let answering = matches!(action, Action::GrantExtension | Action::RefuseExtension);
                if !open {
                    continue;
                }
                let (actor, role) = if answering {
                    (group, Role::Group)
                } else {
                    (self.depts[unit].account, Role::Department)
                };
                sim.act(at, actor, role, action, note, step)?;
                t = at;
                if action == Action::SendBack && sim.state == CaseState::Triaged {
                    sent_back = true;
                    break;
                }
            }
            if !sent_back {
                break;
            }
            lead = right;
            first = false;
        }
        anyhow::ensure!(
            sim.state == CaseState::Rectified,
            "every unit reported its fix"
        );

        // Re-inspection: by the reporting supervisor or by the group; a failed one is rework.
        let mut reworks = 0;
        loop {
            let supervisor = sim.reporter_role == Role::Supervisor && self.rng.random_bool(0.75);
            let (actor, role, median) = if supervisor {
                (sim.reporter, Role::Supervisor, 120.0)
            } else {
                (group, Role::Group, 60.0)
            };
            let late = stall(&mut self.rng, if supervisor { 0.1 } else { 0.04 });
            t += delay(&mut self.rng, t, median * late, 0.8);
            if supervisor && (0..6).contains(&beijing_hour(t)) {
                t += (7 - beijing_hour(t)) * HOUR + self.rng.random_range(0..90) * MIN;
            }
            if t >= now || hold == Hold::Verify {
                return Ok(());
            }
            let lead_unit = sim.department_id.expect("a dispatched case has a lead");
            let lead_idx = self
                .depts
                .iter()
                .position(|d| d.id == lead_unit)
                .expect("known unit");
            let p = self.depts[lead_idx].pace.rework / if reworks == 0 { 1.0 } else { 6.0 };
            let who = if supervisor {
                "本人现场复查"
            } else {
                "督导组复核"
            };
            if reworks < 2 && self.rng.random_bool(p) {
                let done: Vec<i64> = sim
                    .tasks
                    .iter()
                    .filter(|t| t.task.state == TaskState::Done)
                    .map(|t| t.task.department_id)
                    .collect();
                let failing = if done.contains(&lead_unit) && self.rng.random_bool(0.8) {
                    lead_unit
                } else {
                    *pick(&mut self.rng, &done)
                };
                let note = format!("{who}未通过：{}，请返工。", parts.fill(story.redo));
                sim.act(
                    t,
                    actor,
                    role,
                    Action::Rework,
                    note,
                    Step::Rework(vec![failing]),
                )?;
                reworks += 1;
                let unit = self
                    .depts
                    .iter()
                    .position(|d| d.id == failing)
                    .expect("known unit");
                let hours = self.fix_hours(unit, sim.category, sim.priority, t) * 0.4;
                t += ((hours * HOUR as f64) as i64).max(15 * MIN);
                if t >= now {
                    return Ok(());
                }
                sim.escalate_before(t, &self.dept_names);
                let note = format!(
                    "返工完成：{}。",
                    parts.fill(one(&mut self.rng, story.fixes))
                );
                sim.act(
                    t,
                    self.depts[unit].account,
                    Role::Department,
                    Action::ReportFix,
                    note,
                    Step::Unit(failing),
                )?;
                continue;
            }
            let note = format!("{who}：{}。", parts.fill(one(&mut self.rng, story.checks)));
            sim.act(t, actor, role, Action::Verify, note, Step::Plain)?;
            break;
        }
        t = if self.rng.random_bool(0.45) {
            evening_round(&mut self.rng, t)
        } else {
            t + delay(&mut self.rng, t, 40.0, 1.0)
        };
        if t >= now || hold == Hold::Close {
            return Ok(());
        }
        let note = [
            "问题已整改到位，经核实办结。",
            "整改到位，同意办结。",
            "已办结，纳入日常巡查。",
            "办结。",
        ][self.rng.random_range(0..4)]
        .to_string();
        sim.act(t, group, Role::Group, Action::Close, note, Step::Plain)
    }

    /// The office's summary when it triages.
    pub(super) fn summary(
        &mut self,
        sim: &Sim,
        story: &Story,
        parts: &Parts,
        lead: usize,
    ) -> String {
        let compound = &self.compounds[sim.compound].name;
        let short = parts.fill(story.short);
        let (source, category, unit) = (sim.source.zh(), sim.category.zh(), &self.depts[lead].name);
        match self.rng.random_range(0..3) {
            0 => format!(
                "{compound}：{short}。{source}反映，经梳理属{category}问题，建议交{unit}办理。"
            ),
            1 => format!("【{category}】{compound}{short}，{source}反映属实，转督导组交办。"),
            _ => format!("{compound}{short}（{source}）。已电话核实，请督导组交{unit}。"),
        }
    }

    /// The units' steps after a dispatch at `at`: accept, perhaps ask for more time and get an
    /// answer, report the fix — or, for a wrongly chosen lead, send the case back.
    #[allow(clippy::type_complexity, clippy::too_many_arguments)]
    pub(super) fn unit_steps(
        &mut self,
        sim: &Sim,
        at: i64,
        story: &Story,
        parts: &Parts,
        sends_back: bool,
        right: usize,
        hold: Hold,
    ) -> Vec<(i64, Action, usize, String, Step)> {
        let mut steps = Vec::new();
        let fresh: Vec<(i64, Share, i64)> = sim
            .tasks
            .iter()
            .filter(|t| t.dispatched_at == at)
            .map(|t| (t.task.department_id, t.task.share, t.due_at))
            .collect();
        for (unit_id, share, due) in fresh {
            let unit = self
                .depts
                .iter()
                .position(|d| d.id == unit_id)
                .expect("known unit");
            let pace = self.depts[unit].pace;
            let slow = stall(&mut self.rng, 0.04);
            let mut accept_at = at + delay(&mut self.rng, at, pace.accept_min * slow, 0.8);
            if share == Share::Lead && hold == Hold::Accept {
                accept_at = accept_at.max(self.snapshot + HOUR);
            }
            let accepts = [
                "",
                "已接收，马上安排。",
                "收到，已安排网格员前往。",
                "已接收，立即处置。",
            ];
            let accept_note = accepts[self.rng.random_range(0..accepts.len())].to_string();
            if share == Share::Lead && sends_back {
                let why = match sim.category {
                    Category::StaticControl => "属小区日常管控",
                    Category::Testing => "属采样点组织管理",
                    Category::Supplies => "属物资调配",
                    Category::SupplyVendors => "属商户经营和防疫监管",
                    Category::OutsideWorkers => "涉及外来人员核查处置",
                    Category::SpillOver => "涉及违规外出人员查处",
                    Category::Disinfection => "属小区环境消杀",
                    Category::Assistance => "属居民生活帮扶",
                    Category::Other => "属小区物业服务",
                };
                let note = format!(
                    "经核实，该问题{why}，不属本单位职责，应由{}负责，请督导组改派。",
                    self.depts[right].name
                );
                let mut back_at = accept_at;
                if self.rng.random_bool(0.3) {
                    steps.push((
                        accept_at,
                        Action::Accept,
                        unit,
                        accept_note,
                        Step::Unit(unit_id),
                    ));
                    back_at += self.rng.random_range(20..120) * MIN;
                }
                steps.push((back_at, Action::SendBack, unit, note, Step::Unit(unit_id)));
                continue;
            }
            if share == Share::Co && self.rng.random_bool(0.04) {
                let note =
                    "经核实，本单位无需参与处置，主办单位可独立办结，退回协办任务。".to_string();
                steps.push((accept_at, Action::SendBack, unit, note, Step::Unit(unit_id)));
                continue;
            }
            steps.push((
                accept_at,
                Action::Accept,
                unit,
                accept_note,
                Step::Unit(unit_id),
            ));
            let hours = self.fix_hours(unit, sim.category, sim.priority, accept_at);
            let mut fix_at = accept_at + ((hours * HOUR as f64) as i64).max(8 * MIN);
            if share == Share::Lead && hold == Hold::Fix {
                fix_at = fix_at.max(self.snapshot + HOUR);
            }
            if fix_at > due && due > accept_at + 10 * MIN && self.rng.random_bool(pace.extension) {
                let span = (due - accept_at) as f64;
                let ask_at = accept_at + (span * self.rng.random_range(0.4..0.95)) as i64;
                let until =
                    (fix_at + self.rng.random_range(1..6) * HOUR).div_euclid(HOUR) * HOUR + HOUR;
                let reasons = [
                    "涉及多个部门协调",
                    "需采购材料",
                    "人员不足，正在调配",
                    "当事人暂未联系上",
                    "需等待检测机构排期",
                ];
                let reason = *pick(&mut self.rng, &reasons);
                let note = format!("因{reason}，申请延期至{}。", deadline_text(until));
                steps.push((
                    ask_at,
                    Action::RequestExtension,
                    unit,
                    note,
                    Step::Extension {
                        unit: unit_id,
                        until,
                    },
                ));
                let answer_at = ask_at + self.rng.random_range(10..90) * MIN;
                // A deadline asked for that has passed by the answer can only be refused.
                if self.rng.random_bool(0.65) && answer_at < until {
                    let note = format!("同意延期至{}，请务必按期办结。", deadline_text(until));
                    steps.push((
                        answer_at,
                        Action::GrantExtension,
                        unit,
                        note,
                        Step::Answer(unit_id),
                    ));
                } else {
                    let why = [
                        "此类问题须当日解决",
                        "群众急需，不能拖",
                        "已有同类问题按时办结",
                    ];
                    let note = format!(
                        "不同意延期：{}，请按原时限整改。",
                        pick(&mut self.rng, &why)
                    );
                    steps.push((
                        answer_at,
                        Action::RefuseExtension,
                        unit,
                        note,
                        Step::Answer(unit_id),
                    ));
                    // Refused, the unit hurries.
                    fix_at = answer_at
                        + ((fix_at - answer_at) as f64 * self.rng.random_range(0.4..0.8)) as i64;
                }
                fix_at = fix_at.max(answer_at + 5 * MIN);
            }
            let fix = parts.fill(one(&mut self.rng, story.fixes));
            let note = if share == Share::Lead {
                format!("{fix}（附整改照片）。")
            } else {
                format!("已配合{}完成：{fix}。", self.depts[right].name)
            };
            steps.push((fix_at, Action::ReportFix, unit, note, Step::Unit(unit_id)));
        }
        steps
    }
}
