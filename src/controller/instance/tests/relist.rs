//! A watch that relists after missing a Delete forgets the object it no
//! longer shows, everything held for it included.

use kube::runtime::{reflector, watcher};

use super::fake_sso::Script;
use super::{Harness, harness, watched};
use crate::api::IdentityCenterInstance;
use crate::controller::instance::index::WatchIndex;
use crate::controller::{Context, Watched};
use crate::sso::{Instance, InstanceState};

const ROLE: &str = "arn:aws:iam::444455556666:role/admin";

fn with_role(name: &str, uid: &str) -> Watched {
    watched(&IdentityCenterInstance::test().role(ROLE).named(name, uid))
}

/// One watch of all namespaces: its index, then its cache, take each event, as in `run.rs`.
struct Watch {
    index: WatchIndex,
    writer: reflector::store::Writer<Watched>,
}

impl Watch {
    fn new() -> Self {
        let (cache, writer) = reflector::store::<Watched>();
        Self { index: WatchIndex::new(String::new(), cache), writer }
    }

    fn deliver(&mut self, ctx: &Context, events: Vec<watcher::Event<Watched>>) {
        for event in events {
            self.index.event(ctx, &event);
            self.writer.apply_watcher_event(&event);
        }
    }
}

#[tokio::test]
async fn a_relist_without_the_delete_event_forgets_everything_held_for_the_gone_object() {
    let h = harness(Script { instances: vec![Instance::test(InstanceState::Active)], ..Default::default() });
    let (gone, kept) = (with_role("gone", "uid-gone"), with_role("kept", "uid-kept"));
    let mut watch = Watch::new();
    use watcher::Event::{Init, InitApply, InitDone};
    watch.deliver(&h.ctx, vec![Init, InitApply(gone.clone()), InitApply(kept.clone()), InitDone]);
    h.ctx.record_failure("uid-gone");
    h.ctx.metrics.object_state("uid-gone", "retrying", "Throttled");
    let claimants = |h: &Harness| h.ctx.claims.claimants("444455556666", None).len();
    assert_eq!(claimants(&h), 2, "both bid for the account");

    // The watch was down while `gone` was deleted: its relist shows `kept` only, and no Delete comes.
    watch.deliver(&h.ctx, vec![Init, InitApply(kept), InitDone]);

    assert_eq!(claimants(&h), 1, "its claim went");
    assert_eq!(h.ctx.record_failure("uid-gone"), 0, "its failure count went");
    let gauge = r#"identity_center_operator_objects{state="retrying",reason="Throttled"} 0"#;
    assert!(h.ctx.metrics.render().contains(gauge), "it left the objects gauge:\n{}", h.ctx.metrics.render());
    assert_eq!(h.journal.entries(), [format!("sessions forget {ROLE} for identity/gone")], "kept keeps its session");
}

#[tokio::test]
async fn a_relist_that_shows_every_object_forgets_nothing() {
    let h = harness(Script::default());
    let one = with_role("one", "uid-1");
    let mut watch = Watch::new();
    use watcher::Event::{Init, InitApply, InitDone};
    watch.deliver(&h.ctx, vec![Init, InitApply(one.clone()), InitDone]);
    h.ctx.record_failure("uid-1");
    watch.deliver(&h.ctx, vec![Init, InitApply(one), InitDone]);
    assert_eq!(h.ctx.record_failure("uid-1"), 1, "its failure count stays");
    assert_eq!(h.ctx.claims.claimants("444455556666", None).len(), 1);
    assert!(h.journal.entries().is_empty(), "no session dropped: {:?}", h.journal.entries());
}
