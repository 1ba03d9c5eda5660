//! Contract: `spec/crm-v8/` is what `cargo xtask import-oas` makes of Zoho's files, and a change
//! upstream shows up as a diff in the spec. The importer's source is compiled in directly.

#[allow(dead_code, clippy::all, reason = "the xtask importer is compiled in whole; this test calls a part of it")]
#[path = "../xtask/src/import_oas.rs"]
mod import_oas;

use std::path::{Path, PathBuf};

fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/zoho/crm-oas");
    if dir.join("v8.0").exists() {
        Some(dir)
    } else {
        println!("skipped: {} is absent (CI has it)", dir.display());
        None
    }
}

fn committed(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/crm-v8").join(name))
        .expect("committed spec")
}

/// Importing the shared checkout again gives the committed files byte for byte.
#[test]
fn import_is_reproducible() {
    let Some(dir) = shared() else { return };
    let source = import_oas::Source::load(&dir).expect("loads");
    assert_eq!(source.commit, "45dff2cc9c69403c85b8a3642e7056528dc668d5");
    let files = import_oas::import_all(&source, &[]).expect("imports");
    assert_eq!(files.len(), 6);
    for (name, text) in files {
        assert!(
            committed(&name) == text,
            "spec/crm-v8/{name} differs from a fresh import: run `cargo xtask import-oas`"
        );
    }
}

/// A changed upstream file (an operation renamed and given a parameter) → import → the spec
/// changes exactly there.
#[test]
fn changed_upstream_file_changes_the_spec() {
    let Some(dir) = shared() else { return };
    let temp = tempfile::tempdir().expect("temp dir");
    let v8 = temp.path().join("v8.0");
    std::fs::create_dir_all(&v8).expect("mkdir");
    for entry in std::fs::read_dir(dir.join("v8.0")).expect("v8.0") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, v8.join(path.file_name().expect("name"))).expect("copy");
    }
    std::fs::copy(dir.join("SOURCES.md"), temp.path().join("SOURCES.md")).expect("SOURCES.md");
    let coql = std::fs::read_to_string(v8.join("coql.json")).expect("coql.json");
    let mut doc: serde_json::Value = serde_json::from_str(&coql).expect("json");
    let op = &mut doc["paths"]["/crm/v8/coql"]["post"];
    op["operationId"] = "Run Query".into();
    op["parameters"] = serde_json::json!([{"name": "include_meta", "in": "query", "schema": {"type": "boolean"}}]);
    std::fs::write(v8.join("coql.json"), serde_json::to_string_pretty(&doc).expect("json")).expect("write");

    let out = temp.path().join("out");
    let message = import_oas::run(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &[
            "--from".into(),
            temp.path().display().to_string(),
            "--groups".into(),
            "core".into(),
            "--out".into(),
            out.display().to_string(),
        ],
    )
    .expect("imports");
    assert!(message.contains("core.json"), "{message}");
    let fresh = std::fs::read_to_string(out.join("core.json")).expect("core.json");
    let old = committed("core.json");
    let removed: Vec<&str> = old.lines().filter(|l| !fresh.lines().any(|f| f == *l)).collect();
    let added: Vec<&str> = fresh.lines().filter(|l| !old.lines().any(|o| o == *l)).collect();
    assert!(removed.iter().any(|l| l.contains("\"operationId\": \"coql_get_records\"")), "{removed:?}");
    assert!(added.iter().any(|l| l.contains("\"operationId\": \"run_query\"")), "{added:?}");
    assert!(added.iter().any(|l| l.contains("\"name\": \"include_meta\"")), "{added:?}");
    assert!(added.len() < 20, "only the edited operation changes: {added:?}");
    // The other groups were not written, the report was.
    assert!(!out.join("records.json").exists());
    let report = std::fs::read_to_string(out.join("IMPORT-REPORT.md")).expect("report");
    assert!(report.contains("`run_query`"));
}
