//! What the docs show is what the repository holds.

const REPO: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn install_guide_shows_the_iam_policy_files_verbatim() {
    let guide = std::fs::read_to_string(format!("{REPO}/docs/install.md")).unwrap();
    for file in [
        "operator-policy.json",
        "account-role-policy.json",
        "account-role-trust-policy.json",
        "organizations-reader.json",
    ] {
        let policy = std::fs::read_to_string(format!("{REPO}/deploy/iam/{file}")).unwrap();
        let block = format!("```json\n{}\n```", policy.trim_end());
        assert!(guide.contains(&block), "docs/install.md does not show deploy/iam/{file} as it is");
        let parsed: serde_json::Value = serde_json::from_str(&policy).expect("valid JSON");
        assert_eq!(parsed["Version"], "2012-10-17", "{file}");
    }
}
