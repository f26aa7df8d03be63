//! What the watch of IdentityCenterInstances delivers and caches.

use kube::Resource;
use kube::core::DeserializeGuard;

use crate::api::IdentityCenterInstance;

/// What the watch delivers: an object, or the metadata of one that does not
/// match the schema, so that it can be told so on its status.
pub type Watched = DeserializeGuard<IdentityCenterInstance>;

/// The prefix of the annotations and labels the operator reads.
const OWN_PREFIX: &str = "identitycenter.dev/";

/// Strips what the operator never reads from a watched object before it is
/// cached: managedFields, and annotations and labels other than its own. A
/// tenant's object, however large its metadata, then costs the operator about
/// as much memory as any other.
pub(super) fn keep_what_is_read(object: &mut Watched) {
    let meta = object.meta_mut();
    meta.managed_fields = None;
    for map in [&mut meta.annotations, &mut meta.labels] {
        if let Some(entries) = map {
            entries.retain(|key, _| key.starts_with(OWN_PREFIX));
            if entries.is_empty() {
                *map = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;

    use super::*;
    use crate::api::PAUSED;

    #[test]
    fn the_cache_keeps_only_the_operators_own_metadata() {
        let mut big = IdentityCenterInstance::test()
            .in_namespace("team-b")
            .named("big", "uid-big")
            .annotated("padding", &"x".repeat(150_000))
            .annotated(PAUSED, "true");
        big.metadata.labels = Some([("team".to_string(), "b".to_string())].into());
        let kubectl = ManagedFieldsEntry {
            manager: Some("kubectl".into()),
            operation: Some("Apply".into()),
            ..ManagedFieldsEntry::default()
        };
        big.metadata.managed_fields = Some(vec![kubectl]);
        // As the watch parses it from the API server's JSON.
        let mut watched: Watched = serde_json::from_value(serde_json::to_value(big).unwrap()).unwrap();
        keep_what_is_read(&mut watched);
        let meta = watched.meta();
        let annotations: Vec<&String> = meta.annotations.iter().flat_map(|a| a.keys()).collect();
        assert_eq!(annotations, ["identitycenter.dev/paused"]);
        assert_eq!((meta.labels.as_ref(), meta.managed_fields.as_ref()), (None, None));
        assert!(watched.0.is_ok(), "the object itself is intact");
    }
}
