//! The committed CRD files are exactly what `identity-center-operator crd` prints.

use identity_center_operator::api;

#[test]
fn committed_crds_match_the_rust_types() {
    for crd in api::crds() {
        let generated = serde_yaml::to_string(&crd).unwrap();
        let plural = &crd.spec.names.plural;
        for dir in ["crds", "charts/identity-center-operator/crds"] {
            let path = format!("{}/{dir}/{plural}.yaml", env!("CARGO_MANIFEST_DIR"));
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(committed == generated, "{path} is stale: run `make crd` and commit the result");
        }
    }
}
