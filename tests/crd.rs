//! The committed CRD files are exactly what `identity-center-operator crd` prints.

use identity_center_operator::api::IdentityCenterInstance;
use kube::CustomResourceExt;

#[test]
fn committed_crds_match_the_rust_types() {
    let generated = serde_yaml::to_string(&IdentityCenterInstance::crd()).unwrap();
    for path in
        ["crds/identitycenterinstances.yaml", "charts/identity-center-operator/crds/identitycenterinstances.yaml"]
    {
        let committed = std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap_or_default();
        assert!(committed == generated, "{path} is stale: run `make crd` and commit the result");
    }
}
