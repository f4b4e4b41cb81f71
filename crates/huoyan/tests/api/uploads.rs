//! Uploads that try the server: a picture that would take gigabytes to show, file names that
//! turn their text around, and a body that is not a form at all.

use std::io::Write;

use serde_json::json;

use crate::{fields, spawn_app};

/// A PNG of `width` × `height` grey pixels, small on disk whatever its size: a true header and
/// a valid zlib stream holding the first row only (enough for anything that reads the header,
/// as a browser does before it sets aside memory for the pixels).
pub fn png_image(width: u32, height: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(&crc.finalize().to_be_bytes());
    }
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    // 8-bit greyscale, deflate, adaptive filtering, not interlaced.
    header.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &header);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    // One row: its filter byte and its pixels.
    z.write_all(&vec![0u8; width as usize + 1]).unwrap();
    chunk(&mut out, b"IDAT", &z.finish().unwrap());
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A new case reported by the supervisor; its id.
async fn case(app: &crate::TestApp, supervisor: &str) -> i64 {
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let (status, case) = app
        .send(
            "POST",
            supervisor,
            "/api/v1/cases",
            &json!({"category": "static_control", "compound_id": compound, "description": "东门岗无人值守"}),
        )
        .await;
    assert_eq!(status, 201, "{case}");
    case["id"].as_i64().unwrap()
}

/// Sends `files` (name, bytes) as one multipart upload, the names as a browser writes them
/// (UTF-8 between quotes); returns the status and body.
async fn upload(
    app: &crate::TestApp,
    token: &str,
    case: i64,
    files: Vec<(&str, Vec<u8>)>,
) -> (u16, serde_json::Value) {
    let mut form = reqwest::multipart::Form::new().percent_encode_noop();
    for (name, bytes) in files {
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
    }
    let r = app
        .client
        .post(format!("{}/api/v1/cases/{case}/files", app.base))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn a_picture_of_absurd_dimensions_is_refused_by_its_header() {
    let app = spawn_app(true).await;
    let supervisor = app.token("supervisor").await;
    let id = case(&app, &supervisor).await;
    let files_before = app.count("case_files").await;
    // 30,000 × 30,000 pixels: under 1 kB here, 900 million pixels for a phone to decode.
    let bomb = png_image(30_000, 30_000);
    assert!(bomb.len() < 1024, "{} bytes", bomb.len());
    let (status, body) = upload(
        &app,
        &supervisor,
        id,
        vec![("门岗.png", png_image(40, 30)), ("bomb.png", bomb)],
    )
    .await;
    assert_eq!(
        (status, fields(&body)),
        (422, vec!["file[1]".to_string()]),
        "{body}"
    );
    assert_eq!(
        app.count("case_files").await,
        files_before,
        "nothing half-written"
    );
    // A photo of a camera's size passes.
    let (status, body) = upload(
        &app,
        &supervisor,
        id,
        vec![("门岗.png", png_image(4032, 3024))],
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn direction_marks_and_control_characters_are_taken_out_of_file_names() {
    let app = spawn_app(true).await;
    let supervisor = app.token("supervisor").await;
    let id = case(&app, &supervisor).await;
    // A right-to-left override makes "东门exe.png" read as "东门gnp.exe" in a list; the rest
    // are the other marks that reorder or hide text, and a tab (the one control character a
    // header carries).
    let name = "\u{202A}\u{202B}\u{202D}东门\u{202E}exe\u{202C}\u{2066}\u{2067}\u{2068}\u{2069}\u{200E}\u{200F}\u{061C}\t.png";
    let (status, body) = upload(&app, &supervisor, id, vec![(name, png_image(4, 3))]).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body[0]["name"], "东门exe.png");
    let (_, case) = app.get(&supervisor, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["files"][0]["name"], "东门exe.png");
}

#[tokio::test]
async fn an_upload_that_is_not_a_multipart_form_gets_the_json_error() {
    let app = spawn_app(true).await;
    let supervisor = app.token("supervisor").await;
    let id = case(&app, &supervisor).await;
    for (content_type, body) in [
        ("application/json", r#"{"file": "AAAA"}"#),
        ("multipart/form-data", "no boundary named"),
        ("text/plain", ""),
    ] {
        let r = app
            .client
            .post(format!("{}/api/v1/cases/{id}/files", app.base))
            .bearer_auth(&supervisor)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        let body: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{content_type}: {status} {text:?} is not JSON"));
        assert_eq!(
            (status, fields(&body)),
            (422, vec!["content-type".to_string()]),
            "{content_type}: {body}"
        );
        assert_eq!(body["error"], "invalid");
    }
}
