//! Updates decide on the row as it is inside their own transaction: concurrent updates of one row
//! each record the value they replaced, and none puts back a value another one changed.

use serde_json::{Value, json};

use crate::spawn_app;

/// The trail of `entity` `id`, oldest first.
async fn trail(app: &crate::TestApp, admin: &str, entity: &str, id: i64) -> Vec<Value> {
    let (status, body) = app
        .get(
            admin,
            &format!("/api/v1/audit?entity={entity}&entity_id={id}&limit=500"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut events = body.as_array().unwrap().clone();
    events.reverse();
    events
}

/// Every update event's `before` of `field` equals the value the event before it left.
fn befores_chain(events: &[Value], field: &str, first: &Value) -> Result<(), String> {
    let mut current = first.clone();
    for e in events.iter().filter(|e| e["action"] == "update") {
        let s = &e["summary"];
        if s["before"][field] != current {
            return Err(format!(
                "event {} says {field} was {} but it was {current}",
                e["seq"], s["before"][field]
            ));
        }
        current = s["after"][field].clone();
    }
    Ok(())
}

#[tokio::test]
async fn concurrent_renames_of_a_department_each_record_what_they_replaced() {
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    let id = app
        .id_of("SELECT id FROM departments WHERE name = '景程社区居委会'")
        .await;
    let mut renames = tokio::task::JoinSet::new();
    for i in 0..8 {
        let (app, admin) = (app.clone(), admin.clone());
        renames.spawn(async move {
            app.send(
                "PATCH",
                &admin,
                &format!("/api/v1/departments/{id}"),
                &json!({"name": format!("景程社区居委会（{i}）")}),
            )
            .await
        });
    }
    for (status, body) in renames.join_all().await {
        assert_eq!(status, 200, "{body}");
    }
    let events = trail(&app, &admin, "department", id).await;
    assert_eq!(events.iter().filter(|e| e["action"] == "update").count(), 8);
    befores_chain(&events, "name", &json!("景程社区居委会")).unwrap();
    let (_, now) = app.get(&admin, &format!("/api/v1/departments/{id}")).await;
    let last = events
        .iter()
        .rev()
        .find(|e| e["action"] == "update")
        .unwrap();
    assert_eq!(now["name"], last["summary"]["after"]["name"]);
}
