//! The regions a caller may name in an order, as a tree of checkboxes to search and tick
//! (`templates/org/region_picker.html`, `static/region-tree.js`): picked by name, never typed
//! by code. Buildings are left out: an order names areas, down to a compound.

use std::collections::{HashMap, HashSet};

use huoyan_core::org::RegionLevel;
use sqlx::Row;

use crate::auth::Principal;
use crate::db::{Db, Sql};
use crate::error::AppResult;
use crate::i18n::Locale;

/// The most regions the tree holds (a whole city's divisions and compounds fit).
const MOST: i64 = 5000;

/// One region of the tree, in the order the page writes them: each followed by its subtree.
pub struct Pick {
    pub id: i64,
    pub name: String,
    pub code: String,
    pub level: &'static str,
    /// Its subtree follows, inside it.
    pub has_children: bool,
    /// How many enclosing subtrees end after it.
    pub closes: usize,
    pub checked: bool,
    /// Shown unfolded: a root, or holding a ticked region.
    pub open: bool,
}

struct Entry {
    id: i64,
    parent_id: Option<i64>,
    name: String,
    code: Option<String>,
    level: &'static str,
}

/// The regions in the caller's region subtree (the reach an order is checked against), as a
/// tree, with `checked` ticked.
pub async fn tree(db: &Db, p: &Principal, checked: &[i64], locale: Locale) -> AppResult<Vec<Pick>> {
    let mut sql =
        Sql::new("SELECT id, parent_id, name, code, level FROM regions WHERE level <> 'building'");
    p.scope_region(&mut sql, "path");
    sql.push(" ORDER BY id LIMIT ").bind(MOST);
    let mut rows = Vec::new();
    for r in sql.query().fetch_all(&db.pool).await? {
        let level: String = r.try_get("level")?;
        rows.push(Entry {
            id: r.try_get("id")?,
            parent_id: r.try_get("parent_id")?,
            name: r.try_get("name")?,
            code: r.try_get("code")?,
            level: RegionLevel::parse(&level).map_or("", |l| l.label(locale.is_en())),
        });
    }
    // Official divisions by their code, invented ones (compounds) after them by name.
    rows.sort_by(|a, b| {
        (a.code.is_none(), &a.code, &a.name, a.id).cmp(&(b.code.is_none(), &b.code, &b.name, b.id))
    });
    Ok(arrange(rows, checked))
}

/// The rows in depth-first order, each subtree after its root, with the nesting the page needs.
fn arrange(rows: Vec<Entry>, checked: &[i64]) -> Vec<Pick> {
    let ids: HashSet<i64> = rows.iter().map(|r| r.id).collect();
    let parent: HashMap<i64, i64> = rows
        .iter()
        .filter_map(|r| Some((r.id, r.parent_id.filter(|p| ids.contains(p))?)))
        .collect();
    let mut children: HashMap<Option<i64>, Vec<usize>> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        children
            .entry(parent.get(&r.id).copied())
            .or_default()
            .push(i);
    }
    // A ticked region's ancestors unfold, so that it shows.
    let mut open: HashSet<i64> = HashSet::new();
    for id in checked {
        let mut at = parent.get(id);
        while let Some(p) = at {
            open.insert(*p);
            at = parent.get(p);
        }
    }
    let mut order: Vec<(usize, usize)> = Vec::with_capacity(rows.len()); // (row, depth)
    let mut stack: Vec<(usize, usize)> = children
        .get(&None)
        .map(|roots| roots.iter().rev().map(|&i| (i, 0)).collect())
        .unwrap_or_default();
    while let Some((i, depth)) = stack.pop() {
        order.push((i, depth));
        if let Some(kids) = children.get(&Some(rows[i].id)) {
            stack.extend(kids.iter().rev().map(|&k| (k, depth + 1)));
        }
    }
    let mut rows: Vec<Option<Entry>> = rows.into_iter().map(Some).collect();
    let mut out = Vec::with_capacity(order.len());
    for (n, &(i, depth)) in order.iter().enumerate() {
        let next = order.get(n + 1).map_or(0, |&(_, d)| d);
        let has_children = next > depth;
        let r = rows[i].take().expect("each row is visited once");
        out.push(Pick {
            open: depth == 0 || open.contains(&r.id),
            checked: checked.contains(&r.id),
            id: r.id,
            name: r.name,
            code: r.code.unwrap_or_default(),
            level: r.level,
            has_children,
            closes: if has_children { 0 } else { depth - next },
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, parent_id: Option<i64>) -> Entry {
        Entry {
            id,
            parent_id,
            name: format!("r{id}"),
            code: None,
            level: "",
        }
    }

    #[test]
    fn subtrees_follow_their_roots_and_close_where_they_end() {
        // 1 ─ 2 ─ 4
        //   └ 3
        // 5 (its parent 9 is out of reach: a root)
        let picks = arrange(
            vec![
                row(1, None),
                row(2, Some(1)),
                row(3, Some(1)),
                row(4, Some(2)),
                row(5, Some(9)),
            ],
            &[4],
        );
        let seen: Vec<(i64, bool, usize, bool)> = picks
            .iter()
            .map(|p| (p.id, p.has_children, p.closes, p.open))
            .collect();
        assert_eq!(
            seen,
            [
                (1, true, 0, true),
                (2, true, 0, true),
                (4, false, 1, false),
                (3, false, 1, false),
                (5, false, 0, true),
            ]
        );
        assert!(picks.iter().find(|p| p.id == 4).unwrap().checked);
        assert_eq!(picks.iter().filter(|p| p.checked).count(), 1);
    }
}
