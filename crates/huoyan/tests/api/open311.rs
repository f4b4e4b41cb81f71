//! Open311 GeoReport v2 as a 311 app would use it: discover the endpoint, list the services, file
//! a problem with an account's API token, follow it as the city works it. Every answer is read in
//! both formats; XML is parsed with quick-xml.

use quick_xml::events::Event;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{TestApp, spawn_app};

const BASE: &str = "/open311/v2";

struct Answer {
    status: u16,
    content_type: String,
    body: String,
}

impl Answer {
    async fn read(r: reqwest::Response) -> Answer {
        Answer {
            status: r.status().as_u16(),
            content_type: r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string(),
            body: r.text().await.unwrap(),
        }
    }

    fn json(&self) -> Value {
        assert_eq!(
            self.content_type, "application/json; charset=utf-8",
            "{}",
            self.body
        );
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// The element names of an XML answer in document order, the root first, after checking the
    /// declaration and content type the standard asks for.
    fn elements(&self) -> Vec<String> {
        assert_eq!(
            self.content_type, "text/xml; charset=utf-8",
            "{}",
            self.body
        );
        let mut reader = quick_xml::Reader::from_str(&self.body);
        let mut names = Vec::new();
        let mut declared = false;
        loop {
            match reader.read_event() {
                Ok(Event::Decl(d)) => {
                    let encoding = d.encoding().and_then(Result::ok).unwrap();
                    assert!(encoding.eq_ignore_ascii_case("utf-8"));
                    declared = true;
                }
                Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                    names.push(e.name().as_ref().to_string());
                }
                Ok(Event::Eof) => break,
                Ok(_) => {}
                Err(e) => panic!("malformed XML: {e}: {}", self.body),
            }
        }
        assert!(declared, "no XML declaration: {}", self.body);
        names
    }

    fn xml<T: for<'de> Deserialize<'de>>(&self) -> T {
        quick_xml::de::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// An Open311 error answer in either format: (code, description) of each error.
    fn errors(&self) -> Vec<(u16, String)> {
        if self.content_type.starts_with("application/json") {
            self.json()
                .as_array()
                .unwrap_or_else(|| panic!("not an error list: {}", self.body))
                .iter()
                .map(|e| {
                    (
                        e["code"].as_u64().unwrap() as u16,
                        e["description"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        } else {
            assert_eq!(self.elements()[0], "errors");
            self.xml::<XErrors>()
                .error
                .into_iter()
                .map(|e| (e.code, e.description))
                .collect()
        }
    }

    /// Asserts an error answer: its status, the same code in every error, and that one
    /// description names `field`.
    fn assert_error(&self, status: u16, field: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        let errors = self.errors();
        assert!(!errors.is_empty());
        assert!(errors.iter().all(|(code, _)| *code == status), "{errors:?}");
        assert!(
            errors
                .iter()
                .any(|(_, d)| d.starts_with(&format!("{field}: "))),
            "no error names {field}: {errors:?}"
        );
    }
}

#[derive(Deserialize)]
struct XErrors {
    error: Vec<XError>,
}

#[derive(Deserialize)]
struct XError {
    code: u16,
    description: String,
}

#[derive(Deserialize)]
struct XDiscovery {
    changeset: String,
    contact: String,
    key_service: String,
    endpoints: XEndpoints,
}

#[derive(Deserialize)]
struct XEndpoints {
    endpoint: Vec<XEndpoint>,
}

#[derive(Deserialize)]
struct XEndpoint {
    specification: String,
    url: String,
    #[serde(rename = "type")]
    kind: String,
    formats: XFormats,
}

#[derive(Deserialize)]
struct XFormats {
    format: Vec<String>,
}

#[derive(Deserialize)]
struct XServices {
    service: Vec<XService>,
}

#[derive(Deserialize)]
struct XService {
    service_code: String,
    service_name: String,
    description: String,
    metadata: bool,
    #[serde(rename = "type")]
    kind: String,
    keywords: String,
    group: String,
}

#[derive(Deserialize)]
struct XRequests {
    #[serde(default)]
    request: Vec<XRequest>,
}

/// Every field any request answer may carry; an empty element reads as "".
#[derive(Deserialize, Debug)]
struct XRequest {
    service_request_id: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    status_notes: String,
    #[serde(default)]
    service_name: String,
    #[serde(default)]
    service_code: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    agency_responsible: String,
    #[serde(default)]
    service_notice: String,
    #[serde(default)]
    account_id: String,
    #[serde(default)]
    requested_datetime: String,
    #[serde(default)]
    expected_datetime: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    address_id: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    long: String,
}

/// The fields of a service request in a GET answer, as the standard lists them: nothing more
/// (no reporter), nothing less.
const REQUEST_FIELDS: [&str; 17] = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
];

impl TestApp {
    async fn o311(&self, path: &str) -> Answer {
        let r = self
            .client
            .get(format!("{}{BASE}/{path}", self.base))
            .send()
            .await
            .unwrap();
        Answer::read(r).await
    }

    async fn o311_post(&self, path: &str, form: &[(&str, &str)], key: Option<&str>) -> Answer {
        let mut req = self
            .client
            .post(format!("{}{BASE}/{path}", self.base))
            .form(form);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        Answer::read(req.send().await.unwrap()).await
    }

    async fn jingcheng(&self) -> String {
        self.id_of("SELECT id FROM regions WHERE name = '景程小区'")
            .await
            .to_string()
    }
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|r| r["service_request_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn discovery_and_services_in_both_formats() {
    let app = spawn_app(true).await;
    let city: String = {
        use sqlx::Row;
        sqlx::query("SELECT code FROM regions WHERE level = 'city'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap()
            .try_get(0)
            .unwrap()
    };

    let a = app.o311("discovery.json").await;
    assert_eq!(a.status, 200);
    let d = a.json();
    assert!(d["changeset"].is_string() && d["key_service"].is_string());
    assert!(
        d["contact"].as_str().unwrap().contains(&city),
        "discovery names the jurisdiction_id"
    );
    let endpoint = &d["endpoints"][0];
    assert_eq!(
        endpoint["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    assert_eq!(endpoint["url"], format!("{}{BASE}", app.base));
    assert_eq!(endpoint["type"], "production");
    assert_eq!(endpoint["formats"], json!(["text/xml", "application/json"]));
    let a = app.o311("discovery.xml").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.elements()[0], "discovery");
    let d: XDiscovery = a.xml();
    assert!(!d.changeset.is_empty() && !d.key_service.is_empty());
    assert!(d.contact.contains(&city));
    let e = &d.endpoints.endpoint[0];
    assert_eq!(
        (e.specification.as_str(), e.kind.as_str()),
        ("http://wiki.open311.org/GeoReport_v2", "production")
    );
    assert_eq!(e.url, format!("{}{BASE}", app.base));
    assert_eq!(e.formats.format, ["text/xml", "application/json"]);

    let codes: Vec<&str> = huoyan_core::cases::Category::ALL
        .iter()
        .map(|c| c.code())
        .collect();
    for query in [
        "",
        "?jurisdiction_id=",
        format!("?jurisdiction_id={city}").as_str(),
    ] {
        let a = app.o311(&format!("services.json{query}")).await;
        assert_eq!(a.status, 200, "{}", a.body);
        let list = a.json();
        let list = list.as_array().unwrap();
        assert_eq!(
            list.iter()
                .map(|s| s["service_code"].as_str().expect("codes are strings"))
                .collect::<Vec<_>>(),
            codes
        );
        let testing = &list[1];
        assert_eq!(testing["service_name"], "核酸检测");
        assert_eq!(testing["description"], "Testing");
        assert_eq!(testing["metadata"], false);
        assert_eq!(testing["type"], "realtime");
        assert!(testing["keywords"].as_str().unwrap().contains("testing"));
        assert!(testing["group"].is_string());
    }
    let a = app.o311("services.xml").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.elements()[..2], ["services", "service"]);
    let services: XServices = a.xml();
    assert_eq!(
        services
            .service
            .iter()
            .map(|s| s.service_code.as_str())
            .collect::<Vec<_>>(),
        codes
    );
    let s = &services.service[0];
    assert_eq!(
        (s.service_name.as_str(), s.description.as_str()),
        ("静态管控", "Static control")
    );
    assert!(!s.metadata && s.kind == "realtime" && !s.keywords.is_empty() && !s.group.is_empty());

    // A service definition has no attributes: no service asks for more than the standard fields.
    let a = app.o311("services/testing.json").await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.json(),
        json!({"service_code": "testing", "attributes": []})
    );
    let a = app.o311("services/testing.xml").await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.elements(),
        ["service_definition", "service_code", "attributes"]
    );
    app.o311("services/weather.json")
        .await
        .assert_error(404, "service_code");
    app.o311("services/weather.xml")
        .await
        .assert_error(404, "service_code");

    // Another city, an unknown format or resource: 404 in the standard's error format.
    for path in [
        "services.json?jurisdiction_id=sfgov.org",
        "services.xml?jurisdiction_id=sfgov.org",
        "requests.json?jurisdiction_id=daqing.gov.cn",
        "services/testing.xml?jurisdiction_id=sfgov.org",
        "requests/1.json?jurisdiction_id=sfgov.org",
        "tokens/1.xml?jurisdiction_id=sfgov.org",
    ] {
        app.o311(path).await.assert_error(404, "jurisdiction_id");
    }
    for path in [
        "services.yaml",
        "services/testing.yaml",
        "requests/1.txt",
        "requests/1",
    ] {
        let a = app.o311(path).await;
        assert_eq!(a.status, 404, "{path}");
        assert_eq!(
            a.elements()[0],
            "errors",
            "{path}: XML is the standard's format"
        );
    }
    let a = app.o311("nothing.json").await;
    a.assert_error(404, "path");
    assert!(
        a.errors()[0].1.contains("/open311/v2/nothing.json"),
        "{}",
        a.body
    );
}

#[tokio::test]
async fn a_request_filed_over_open311_reads_back_in_both_formats() {
    let app = spawn_app(true).await;
    let key = app.token("supervisor").await;
    let compound = app.jingcheng().await;
    let a = app
        .o311_post(
            "requests.json",
            &[
                ("api_key", key.as_str()),
                ("jurisdiction_id", ""),
                ("service_code", "static_control"),
                ("lat", "46.5868"),
                ("long", "125.1068"),
                ("address_string", "3号楼东门"),
                ("address_id", compound.as_str()),
                ("description", "3号楼东门岗无人值守，居民随意进出"),
                ("first_name", "王"),
                ("last_name", "小明"),
                ("email", "wang@example.com"),
                ("phone", "13800138000"),
                ("device_id", "phone-7"),
                ("account_id", "777"),
                ("media_url", "https://example.com/door.jpg"),
                ("attribute[floor]", "1"),
            ],
            None,
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let created = a.json();
    let created = &created.as_array().unwrap()[0];
    let id = created["service_request_id"]
        .as_str()
        .expect("ids are strings")
        .to_string();
    assert!(
        created["service_notice"]
            .as_str()
            .unwrap()
            .contains("已受理")
    );
    let account = app
        .id_of("SELECT id FROM accounts WHERE username = 'supervisor'")
        .await;
    assert_eq!(created["account_id"], account.to_string());
    assert!(
        created.get("token").is_none(),
        "a realtime service returns no token"
    );

    let a = app.o311(&format!("requests/{id}.json")).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let list = a.json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "one request, still in a list");
    let r = &list[0];
    let mut keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
    let mut expected = REQUEST_FIELDS.to_vec();
    keys.sort_unstable();
    expected.sort_unstable();
    assert_eq!(keys, expected, "public fields only");
    assert_eq!(r["service_request_id"], id);
    assert_eq!(r["status"], "open");
    assert_eq!(r["status_notes"], "已上报（Reported）");
    assert_eq!(r["service_code"], "static_control");
    assert_eq!(r["service_name"], "静态管控");
    assert_eq!(r["description"], "3号楼东门岗无人值守，居民随意进出");
    assert_eq!(r["address"], "3号楼东门，景程小区");
    assert_eq!(r["address_id"], compound);
    assert_eq!(
        (r["lat"].as_f64(), r["long"].as_f64()),
        (Some(46.5868), Some(125.1068))
    );
    assert!(r["agency_responsible"].is_null() && r["expected_datetime"].is_null());
    assert!(r["zipcode"].is_null() && r["media_url"].is_null());
    let requested = r["requested_datetime"].as_str().unwrap();
    assert!(requested.ends_with("+08:00"), "{requested}");
    assert!(chrono::DateTime::parse_from_rfc3339(requested).is_ok());
    // What the reporter said about themselves was dropped.
    for secret in [
        "小明",
        "wang@example.com",
        "13800138000",
        "phone-7",
        "door.jpg",
    ] {
        assert!(!a.body.contains(secret), "{secret} leaked");
    }
    let stored: i64 = app
        .id_of(&format!(
            "SELECT COUNT(*) FROM cases WHERE id = {id} AND address = '3号楼东门' AND source = 'supervisor'"
        ))
        .await;
    assert_eq!(stored, 1);

    let a = app.o311(&format!("requests/{id}.xml")).await;
    assert_eq!(a.status, 200);
    let elements = a.elements();
    assert_eq!(elements[..2], ["service_requests", "request"]);
    assert_eq!(
        elements[2..],
        REQUEST_FIELDS,
        "every field, in the standard's order"
    );
    let x: XRequests = a.xml();
    assert_eq!(x.request.len(), 1);
    let x = &x.request[0];
    assert_eq!(
        (
            x.service_request_id.as_str(),
            x.status.as_str(),
            x.service_code.as_str()
        ),
        (id.as_str(), "open", "static_control")
    );
    assert_eq!((x.lat.as_str(), x.long.as_str()), ("46.5868", "125.1068"));
    assert_eq!(x.address_id, compound);
    assert_eq!(x.requested_datetime, requested);
    assert!(x.agency_responsible.is_empty() && x.expected_datetime.is_empty());

    // Filing in XML, resent with the same Idempotency-Key: one request.
    let form = [
        ("api_key", key.as_str()),
        ("service_code", "supplies"),
        ("address_id", compound.as_str()),
        ("description", "5号楼蔬菜包未送达"),
    ];
    let before = app.count("cases").await;
    let first = app.o311_post("requests.xml", &form, Some("phone-42")).await;
    let again = app.o311_post("requests.xml", &form, Some("phone-42")).await;
    assert_eq!((first.status, again.status), (201, 200), "{}", again.body);
    assert_eq!(
        first.elements(),
        [
            "service_requests",
            "request",
            "service_request_id",
            "service_notice",
            "account_id"
        ]
    );
    let (first, again): (XRequests, XRequests) = (first.xml(), again.xml());
    assert_eq!(
        first.request[0].service_request_id,
        again.request[0].service_request_id
    );
    assert!(!first.request[0].service_notice.is_empty());
    assert_eq!(first.request[0].account_id, account.to_string());
    assert_eq!(app.count("cases").await, before + 1);

    // A token is the request's id: every service is realtime.
    let a = app.o311(&format!("tokens/{id}.json")).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json(), json!([{"service_request_id": id, "token": id}]));
    let a = app.o311(&format!("tokens/{id}.xml")).await;
    assert_eq!(
        a.elements(),
        ["service_requests", "request", "service_request_id", "token"]
    );
    let x: XRequests = a.xml();
    assert_eq!(
        (
            x.request[0].service_request_id.as_str(),
            x.request[0].token.as_str()
        ),
        (id.as_str(), id.as_str())
    );
    app.o311("tokens/999999.json")
        .await
        .assert_error(404, "token");
    app.o311("tokens/999999.xml")
        .await
        .assert_error(404, "token");
    app.o311("requests/999999.json")
        .await
        .assert_error(404, "service_request_id");
    app.o311("requests/abc.xml")
        .await
        .assert_error(404, "service_request_id");
}

#[tokio::test]
async fn filing_errors_name_the_parameter_in_both_formats() {
    let app = spawn_app(true).await;
    let key = app.token("supervisor").await;
    let volunteer = app.token("volunteer").await;
    let compound = app.jingcheng().await;
    let before = app.count("cases").await;
    let elsewhere = app
        .id_of("SELECT id FROM regions WHERE name = '新村七区'")
        .await
        .to_string();
    let community = app
        .id_of("SELECT id FROM regions WHERE code = '230602022001'")
        .await
        .to_string();
    let good = |key: &str| {
        vec![
            ("api_key".to_string(), key.to_string()),
            ("service_code".to_string(), "testing".to_string()),
            ("address_id".to_string(), compound.clone()),
            ("description".to_string(), "采样点排队过密".to_string()),
        ]
    };
    let with = |key: &str, changes: &[(&str, Option<&str>)]| {
        let mut form = good(key);
        for (name, value) in changes {
            form.retain(|(k, _)| k != name);
            if let Some(v) = value {
                form.push((name.to_string(), v.to_string()));
            }
        }
        form
    };
    type Form = Vec<(String, String)>;
    let cases: Vec<(Form, u16, &str)> = vec![
        (with(&key, &[("api_key", None)]), 403, "api_key"),
        (with("not-a-token", &[]), 403, "api_key"),
        (with(&volunteer, &[]), 403, "api_key"),
        (
            with(&key, &[("jurisdiction_id", Some("sfgov.org"))]),
            404,
            "jurisdiction_id",
        ),
        (
            with(&key, &[("service_code", Some("weather"))]),
            404,
            "service_code",
        ),
        (with(&key, &[("service_code", None)]), 400, "service_code"),
        (
            with(&key, &[("service_code", Some(""))]),
            400,
            "service_code",
        ),
        (with(&key, &[("address_id", None)]), 400, "address_id"),
        (
            with(
                &key,
                &[
                    ("address_id", None),
                    ("lat", Some("46.58")),
                    ("long", Some("125.1")),
                ],
            ),
            400,
            "address_id",
        ),
        (
            with(&key, &[("address_id", Some("景程小区"))]),
            400,
            "address_id",
        ),
        (
            with(&key, &[("address_id", Some(elsewhere.as_str()))]),
            403,
            "address_id",
        ),
        (
            with(&key, &[("address_id", Some(community.as_str()))]),
            400,
            "address_id",
        ),
        (
            with(&key, &[("address_id", Some("999999"))]),
            400,
            "address_id",
        ),
        (with(&key, &[("lat", Some("north"))]), 400, "lat"),
        (with(&key, &[("lat", Some("46.58"))]), 400, "long"),
        (
            with(&key, &[("lat", Some("0")), ("long", Some("0"))]),
            400,
            "long",
        ),
        (with(&key, &[("description", None)]), 400, "description"),
    ];
    for (form, status, field) in &cases {
        for format in ["json", "xml"] {
            let pairs: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let a = app
                .o311_post(&format!("requests.{format}"), &pairs, None)
                .await;
            assert!(
                a.status == *status,
                "{form:?} as {format}: {} {}",
                a.status,
                a.body
            );
            a.assert_error(*status, field);
        }
    }
    // A body that is not a form is refused.
    let a = app
        .client
        .post(format!("{}{BASE}/requests.json", app.base))
        .json(&json!({"service_code": "testing", "api_key": key}))
        .send()
        .await
        .unwrap();
    Answer::read(a).await.assert_error(400, "body");
    assert_eq!(app.count("cases").await, before, "nothing was filed");
    // The api_key travels only in the body: in the address it would be written to every log on
    // the way, so a request that puts it there is refused, whatever its body holds.
    for form in [with(&key, &[("api_key", None)]), with(&key, &[])] {
        let a = app
            .client
            .post(format!("{}{BASE}/requests.json?api_key={key}", app.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        Answer::read(a).await.assert_error(400, "api_key");
    }
    assert_eq!(app.count("cases").await, before, "nothing was filed");
}

#[tokio::test]
async fn requests_filter_by_id_service_status_and_time() {
    let app = spawn_app(true).await;
    let (supervisor, office) = (app.token("supervisor").await, app.token("office").await);
    let compound = app.jingcheng().await.parse::<i64>().unwrap();
    let mut id = Vec::new();
    for (category, description) in [
        ("static_control", "门岗无人"),
        ("supplies", "蔬菜包未送达"),
        ("testing", "采样点排队过密"),
    ] {
        let (status, case) = app
            .send(
                "POST",
                &supervisor,
                "/api/v1/cases",
                &json!({"category": category, "compound_id": compound, "description": description}),
            )
            .await;
        assert_eq!(status, 201);
        id.push(case["id"].as_i64().unwrap().to_string());
    }
    let (status, _) = app
        .send(
            "POST",
            &office,
            &format!("/api/v1/cases/{}/transitions", id[2]),
            &json!({"action": "reject", "note": "重复上报"}),
        )
        .await;
    assert_eq!(status, 200);
    let list = async |q: String| {
        let a = app.o311(&format!("requests.json{q}")).await;
        assert_eq!(a.status, 200, "{q}: {}", a.body);
        ids(&a.json())
    };
    let pick = |which: &[usize]| which.iter().map(|&i| id[i].clone()).collect::<Vec<_>>();
    let all = pick(&[2, 1, 0]);
    assert_eq!(list(String::new()).await, all, "newest first");
    assert_eq!(list("?status=".into()).await, all, "empty is absent");
    assert_eq!(list("?status=open,closed".into()).await, all);
    assert_eq!(list("?status=open".into()).await, pick(&[1, 0]));
    assert_eq!(list("?status=closed".into()).await, pick(&[2]));
    assert_eq!(
        list("?service_code=supplies,static_control".into()).await,
        pick(&[1, 0])
    );
    assert_eq!(
        list("?service_code=supplies&service_code=testing".into()).await,
        pick(&[2, 1])
    );
    assert_eq!(
        list(format!(
            "?service_request_id={},{}&status=open",
            id[0], id[2]
        ))
        .await,
        pick(&[2, 0]),
        "ids override every other filter"
    );
    assert_eq!(
        list("?service_request_id=abc".into()).await,
        Vec::<String>::new()
    );
    let august =
        list("?start_date=2022-08-20T00:00:00%2B08:00&end_date=2022-09-01T00:00:00Z".into()).await;
    assert!(
        !august.is_empty() && august.iter().all(|i| !id.contains(i)),
        "the demo's history was filed in August 2022, these reports were not"
    );
    let hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(list(format!("?start_date={hour_ago}")).await, all);
    assert_eq!(
        list(format!("?end_date={hour_ago}")).await,
        Vec::<String>::new()
    );

    let a = app.o311("requests.xml?status=open").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.elements()[..2], ["service_requests", "request"]);
    let x: XRequests = a.xml();
    assert_eq!(
        x.request
            .iter()
            .map(|r| r.service_request_id.clone())
            .collect::<Vec<_>>(),
        pick(&[1, 0])
    );
    let x: XRequests = app
        .o311("requests.xml?status=closed&service_code=static_control")
        .await
        .xml();
    assert!(x.request.is_empty());

    for format in ["json", "xml"] {
        for (query, field) in [
            ("status=pending", "status"),
            ("service_code=weather", "service_code"),
            ("start_date=yesterday", "start_date"),
            ("end_date=2022-08-20T20:00:00", "end_date"),
            (
                "start_date=2022-01-01T00:00:00Z&end_date=2022-08-20T00:00:00Z",
                "end_date",
            ),
            (
                "start_date=2022-08-20T00:00:00Z&end_date=2022-08-01T00:00:00Z",
                "end_date",
            ),
        ] {
            app.o311(&format!("requests.{format}?{query}"))
                .await
                .assert_error(400, field);
        }
    }
}

#[tokio::test]
async fn the_open311_status_follows_the_workflow() {
    let app = spawn_app(true).await;
    let (supervisor, office, group, department) = (
        app.token("supervisor").await,
        app.token("office").await,
        app.token("group").await,
        app.token("department").await,
    );
    let compound = app.jingcheng().await;
    let dept = app
        .id_of("SELECT id FROM departments WHERE name = '景程社区居委会'")
        .await;
    let a = app
        .o311_post(
            "requests.json",
            &[
                ("api_key", supervisor.as_str()),
                ("service_code", "disinfection"),
                ("address_id", compound.as_str()),
                ("description", "垃圾站三天未消杀"),
            ],
            None,
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let id = a.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/v1/cases/{id}/transitions");
    let read = async || {
        let a = app.o311(&format!("requests/{id}.json")).await;
        assert_eq!(a.status, 200);
        a.json()[0].clone()
    };
    let steps = [
        (
            &office,
            json!({"action": "triage", "note": "转督导组"}),
            "open",
            "已梳理（Triaged）",
        ),
        (
            &group,
            json!({"action": "dispatch", "department_id": dept}),
            "open",
            "已转办（Dispatched）",
        ),
        (
            &department,
            json!({"action": "accept"}),
            "open",
            "整改中（Rectifying）",
        ),
        (
            &department,
            json!({"action": "report_fix", "note": "已完成消杀"}),
            "open",
            "已整改（Rectified）",
        ),
        (
            &supervisor,
            json!({"action": "verify", "note": "已核实"}),
            "open",
            "已核实（Verified）",
        ),
        (
            &group,
            json!({"action": "close"}),
            "closed",
            "已办结（Closed）",
        ),
    ];
    for (token, body, status, notes) in steps {
        // A disinfection is shown by a photo of the fix, which comes with it.
        let (code, case) = if body["action"] == "report_fix" {
            let photo = vec![("消杀.png", crate::uploads::png_image(8, 6))];
            app.send_form(token, &path, &body, photo).await
        } else {
            app.send("POST", token, &path, &body).await
        };
        assert_eq!(code, 200, "{body}: {case}");
        let r = read().await;
        assert_eq!(
            (r["status"].as_str(), r["status_notes"].as_str()),
            (Some(status), Some(notes)),
            "{body}"
        );
        if body["action"] == "dispatch" {
            assert_eq!(r["agency_responsible"], "景程社区居委会");
            let due = case["due_at"].as_str().unwrap();
            let expected = r["expected_datetime"].as_str().unwrap();
            assert!(expected.ends_with("+08:00"), "{expected}");
            assert_eq!(
                chrono::DateTime::parse_from_rfc3339(expected).unwrap(),
                chrono::DateTime::parse_from_rfc3339(due).unwrap(),
                "the deadline is the expected time"
            );
        }
    }
    let r = read().await;
    assert!(r["updated_datetime"].as_str().unwrap() >= r["requested_datetime"].as_str().unwrap());
    let a = app.o311(&format!("requests/{id}.xml")).await;
    let x: XRequests = a.xml();
    assert_eq!(
        (
            x.request[0].status.as_str(),
            x.request[0].agency_responsible.as_str()
        ),
        ("closed", "景程社区居委会")
    );
    assert_eq!(x.request[0].status_notes, "已办结（Closed）");
    assert_eq!(x.request[0].service_name, "消杀");
    assert!(!x.request[0].description.is_empty() && !x.request[0].address.is_empty());
}

/// The Open311 counterpart of the authorisation table: these routes are outside the OpenAPI
/// document, so `authz.rs` does not reach them. Reading is public; filing needs a reporting role.
#[tokio::test]
async fn only_reporting_roles_may_file_and_anyone_may_read() {
    let app = spawn_app(true).await;
    let compound = app.jingcheng().await;
    let reporters = ["supervisor", "inspector", "pilot", "office"];
    let mut failures = Vec::new();
    for role in huoyan::demo::LOGINS {
        let key = app.token(role).await;
        let description = format!("{role} 的测试上报");
        let a = app
            .o311_post(
                "requests.json",
                &[
                    ("api_key", key.as_str()),
                    ("service_code", "other"),
                    ("address_id", compound.as_str()),
                    ("description", description.as_str()),
                ],
                None,
            )
            .await;
        let expected = if reporters.contains(&role) { 201 } else { 403 };
        if a.status != expected {
            failures.push(format!("{role}: {} {}", a.status, a.body));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for path in [
        "discovery.xml",
        "services.json",
        "requests.json",
        "requests.xml",
    ] {
        assert_eq!(app.o311(path).await.status, 200, "{path} needs no key");
    }
    let a = app.o311("requests.json").await;
    assert_eq!(a.json().as_array().unwrap().len(), reporters.len());
}

/// The id of the request a filing answered with, in either format.
fn filed_id(a: &Answer) -> String {
    if a.content_type.starts_with("application/json") {
        a.json()[0]["service_request_id"]
            .as_str()
            .unwrap()
            .to_string()
    } else {
        a.xml::<XRequests>().request[0].service_request_id.clone()
    }
}

impl TestApp {
    /// Files a `supplies` request with `place`'s parameters as the account of `key`.
    async fn o311_file(&self, format: &str, key: &str, place: &[(&str, &str)]) -> Answer {
        let mut form = vec![
            ("api_key", key),
            ("service_code", "supplies"),
            ("description", "蔬菜包未送达"),
        ];
        form.extend_from_slice(place);
        self.o311_post(&format!("requests.{format}"), &form, None)
            .await
    }

    /// The compound (`address_id`) a request was filed under.
    async fn o311_compound(&self, id: &str) -> String {
        let a = self.o311(&format!("requests/{id}.json")).await;
        assert_eq!(a.status, 200, "{}", a.body);
        a.json()[0]["address_id"].as_str().unwrap().to_string()
    }

    /// A compound named `name` without an outline, made by the admin in 新村七区's community
    /// (让胡路区, another district than 景程小区's); its id and its district's name.
    async fn add_compound(&self, name: &str) -> (String, String) {
        let community = self
            .id_of("SELECT parent_id FROM regions WHERE name = '新村七区'")
            .await;
        let admin = self.token("admin").await;
        let (status, region) = self
            .send(
                "POST",
                &admin,
                "/api/v1/regions",
                &json!({"parent_id": community, "level": "compound", "name": name}),
            )
            .await;
        assert_eq!(status, 201, "{region}");
        let district: String = {
            use sqlx::Row;
            let path: String = sqlx::query("SELECT path FROM regions WHERE id = $1")
                .bind(community)
                .fetch_one(&self.db.pool)
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
            sqlx::query("SELECT name FROM regions WHERE level = 'district' AND $1 LIKE path || '%'")
                .bind(path)
                .fetch_one(&self.db.pool)
                .await
                .unwrap()
                .try_get(0)
                .unwrap()
        };
        (region["id"].to_string(), district)
    }
}

/// What a 12345 hotline system sends: the place only as the caller said it, no id, no point.
#[tokio::test]
async fn an_address_string_alone_names_the_compound() {
    let app = spawn_app(true).await;
    // The office's scope is the city; the supervisor's is 景程小区 alone.
    let (office, supervisor) = (app.token("office").await, app.token("supervisor").await);
    let jingcheng = app.jingcheng().await;
    let yiteng = app
        .id_of("SELECT id FROM regions WHERE name = '毅腾商都'")
        .await
        .to_string();
    let before = app.count("cases").await;
    let mut filed = 0;
    for (key, address, compound) in [
        (&office, "大庆市高新区景程小区3号楼", &jingcheng),
        (&office, "  景程小区　３号楼２单元 ", &jingcheng),
        (&office, "大庆市毅腾商都2号楼东门", &yiteng),
        (&supervisor, "景程小区3号楼", &jingcheng),
    ] {
        for format in ["json", "xml"] {
            let a = app
                .o311_file(format, key, &[("address_string", address)])
                .await;
            assert_eq!(a.status, 201, "{address} as {format}: {}", a.body);
            assert_eq!(
                &app.o311_compound(&filed_id(&a)).await,
                compound,
                "{address}"
            );
            filed += 1;
        }
    }
    // A scoped account's address counts only its own compounds.
    for (key, address, why) in [
        (
            &supervisor,
            "毅腾商都2号楼",
            "names no compound in your scope",
        ),
        (&office, "中央大街12号", "names no known compound"),
        (&office, "大庆市高新区", "names no known compound"),
    ] {
        for format in ["json", "xml"] {
            let a = app
                .o311_file(format, key, &[("address_string", address)])
                .await;
            a.assert_error(400, "address_string");
            assert!(
                a.errors()
                    .iter()
                    .any(|(_, d)| d == &format!("address_string: {why}")),
                "{address}: {}",
                a.body
            );
        }
    }
    assert_eq!(app.count("cases").await, before + filed);
}

#[tokio::test]
async fn an_ambiguous_address_names_its_candidates() {
    let app = spawn_app(true).await;
    let office = app.token("office").await;
    let jingcheng = app.jingcheng().await;
    let (second, district) = app.add_compound("景程小区").await;
    let before = app.count("cases").await;
    for format in ["json", "xml"] {
        let a = app
            .o311_file(format, &office, &[("address_string", "景程小区3号楼")])
            .await;
        a.assert_error(400, "address_string");
        let (_, d) = &a.errors()[0];
        assert!(
            d.starts_with("address_string: matches 2 compounds: "),
            "{d}"
        );
        for id in [&jingcheng, &second] {
            assert!(d.contains(&format!("景程小区 (id {id}, ")), "{d}");
        }
        assert!(d.contains(&district), "the district tells them apart: {d}");
    }
    assert_eq!(app.count("cases").await, before, "nothing was filed");
    // The regions written in front tell them apart, and so does a point.
    let (lon, lat) = app.centre_of("景程小区").await;
    let (lon, lat) = (lon.to_string(), lat.to_string());
    let here = format!("{district}景程小区5号楼");
    for (place, compound) in [
        (
            vec![("address_string", "大庆市高新区景程小区3号楼")],
            &jingcheng,
        ),
        (vec![("address_string", here.as_str())], &second),
        (
            vec![
                ("address_string", "景程小区3号楼"),
                ("lat", lat.as_str()),
                ("long", lon.as_str()),
            ],
            &jingcheng,
        ),
    ] {
        let a = app.o311_file("json", &office, &place).await;
        assert_eq!(a.status, 201, "{place:?}: {}", a.body);
        assert_eq!(&app.o311_compound(&filed_id(&a)).await, compound);
    }
    // Many candidates: five are listed.
    let names: Vec<String> = {
        use sqlx::Row;
        let rows = sqlx::query("SELECT name FROM regions WHERE level = 'compound'")
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
        let mut by_length: std::collections::HashMap<usize, Vec<String>> = Default::default();
        for r in rows {
            let name: String = r.try_get(0).unwrap();
            by_length
                .entry(name.chars().count())
                .or_default()
                .push(name);
        }
        by_length.into_values().max_by_key(Vec::len).unwrap()
    };
    assert!(names.len() >= 7, "{names:?}");
    let address = names[..7].join("、");
    let a = app
        .o311_file("json", &office, &[("address_string", address.as_str())])
        .await;
    a.assert_error(400, "address_string");
    let (_, d) = &a.errors()[0];
    let n: usize = d
        .strip_prefix("address_string: matches ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{d}"));
    assert!(n >= 7, "{d}");
    assert_eq!(d.matches("(id ").count(), 5, "{d}");
    assert!(d.ends_with("; …"), "{d}");
}

#[tokio::test]
async fn a_point_in_another_compound_than_the_one_named_is_refused() {
    let app = spawn_app(true).await;
    let (office, supervisor) = (app.token("office").await, app.token("supervisor").await);
    let jingcheng = app.jingcheng().await;
    let (lon, lat) = app.centre_of("景程东苑").await;
    let (jlon, jlat) = app.centre_of("景程小区").await;
    assert!(
        (lon - jlon).abs() > 0.003 || (lat - jlat).abs() > 0.002,
        "the demo's 景程东苑 and 景程小区 do not overlap"
    );
    let (lon, lat, jlon, jlat) = (
        lon.to_string(),
        lat.to_string(),
        jlon.to_string(),
        jlat.to_string(),
    );
    let (unbounded, _) = app.add_compound("无界小区").await;
    let before = app.count("cases").await;
    for (key, named, field) in [
        (
            &supervisor,
            ("address_id", jingcheng.as_str()),
            "address_id",
        ),
        (
            &office,
            ("address_string", "景程小区3号楼"),
            "address_string",
        ),
        // A compound without an outline: the point lies where another compound is known to be.
        (&office, ("address_id", unbounded.as_str()), "address_id"),
    ] {
        for format in ["json", "xml"] {
            let a = app
                .o311_file(
                    format,
                    key,
                    &[named, ("lat", lat.as_str()), ("long", lon.as_str())],
                )
                .await;
            a.assert_error(400, field);
            a.assert_error(400, "long");
            assert!(
                a.errors().iter().all(|(_, d)| d.contains("景程东苑")),
                "{}",
                a.body
            );
        }
    }
    assert_eq!(app.count("cases").await, before, "nothing was filed");
    // Inside the compound named, or in no compound's outline (just outside its fence): filed.
    let outside = (jlon.parse::<f64>().unwrap() + 0.0016).to_string();
    for (key, place) in [
        (
            &supervisor,
            vec![
                ("address_id", jingcheng.as_str()),
                ("lat", jlat.as_str()),
                ("long", jlon.as_str()),
            ],
        ),
        (
            &supervisor,
            vec![
                ("address_id", jingcheng.as_str()),
                ("lat", jlat.as_str()),
                ("long", outside.as_str()),
            ],
        ),
    ] {
        let a = app.o311_file("json", key, &place).await;
        assert_eq!(a.status, 201, "{place:?}: {}", a.body);
        assert_eq!(app.o311_compound(&filed_id(&a)).await, jingcheng);
    }
}

#[tokio::test]
async fn limits_and_wrong_methods_answer_in_the_errors_format() {
    let app = spawn_app(true).await;
    let key = app.token("supervisor").await;
    let compound = app.jingcheng().await;
    let before = app.count("cases").await;
    // Over the 64 kB limit: 413, not "send the parameters as form-urlencoded".
    let long = "x".repeat(70 * 1024);
    for format in ["json", "xml"] {
        let a = app
            .o311_file(
                format,
                &key,
                &[("address_id", compound.as_str()), ("media_url", &long)],
            )
            .await;
        a.assert_error(413, "body");
    }
    // A 20 kB value is never sent back whole.
    let huge = "景".repeat(7000);
    for (param, status, field) in [
        ("service_code", 404, "service_code"),
        ("jurisdiction_id", 404, "jurisdiction_id"),
        ("address_string", 400, "address_string"),
        ("address_id", 400, "address_id"),
        ("lat", 400, "lat"),
        ("description", 400, "description"),
    ] {
        for format in ["json", "xml"] {
            let mut form = vec![
                ("api_key", key.as_str()),
                ("service_code", "supplies"),
                ("address_id", compound.as_str()),
                ("description", "蔬菜包未送达"),
            ];
            form.retain(|(k, _)| *k != param);
            form.push((param, &huge));
            let a = app
                .o311_post(&format!("requests.{format}"), &form, None)
                .await;
            a.assert_error(status, field);
            assert!(a.body.len() < 2000, "{param}: {} bytes", a.body.len());
        }
    }
    let huge = "x".repeat(20_000);
    for (path, status, field) in [
        (format!("requests.json?status={huge}"), 400, "status"),
        (format!("requests.xml?start_date={huge}"), 400, "start_date"),
        (
            format!("requests.json?jurisdiction_id={huge}"),
            404,
            "jurisdiction_id",
        ),
        (format!("requests/{huge}.json"), 404, "service_request_id"),
        (format!("tokens/{huge}.xml"), 404, "token"),
        (format!("services/{huge}.json"), 404, "service_code"),
        (format!("{huge}.json"), 404, "path"),
        (format!("requests/{huge}"), 404, "format"),
    ] {
        let a = app.o311(&path).await;
        a.assert_error(status, field);
        assert!(a.body.len() < 2000, "{field}: {} bytes", a.body.len());
    }
    // A method a resource does not take: 405 in the format of its suffix, with Allow.
    for (method, path, allowed) in [
        ("PUT", "requests.json", "POST"),
        ("DELETE", "requests.xml", "POST"),
        ("PATCH", "discovery.json", "GET"),
        ("POST", "services.xml", "GET"),
        ("DELETE", "requests/1.json", "GET"),
    ] {
        let r = app
            .client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}{BASE}/{path}", app.base),
            )
            .form(&[("api_key", key.as_str())])
            .send()
            .await
            .unwrap();
        let allow = r
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(allow.contains(allowed), "{method} {path}: Allow {allow:?}");
        let a = Answer::read(r).await;
        a.assert_error(405, "method");
        if path.ends_with(".xml") {
            assert_eq!(a.elements()[0], "errors");
        }
    }
    assert_eq!(app.count("cases").await, before, "nothing was filed");
}
