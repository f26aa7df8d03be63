//! The scenarios, in the order they run. Each takes the shared control plane.

mod admission;
mod chart;
mod contention;
mod crash;
mod day_two;
mod iam;
mod instance_features;
mod instance_set_security;
mod instance_sets;
mod isolation;
mod leader;
mod lifecycle;
mod observe;
mod organization;
mod restart;
mod tenancy;

use std::future::Future;
use std::pin::Pin;

use crate::controlplane::ControlPlane;

type Scenario = for<'a> fn(&'a mut ControlPlane) -> Pin<Box<dyn Future<Output = ()> + 'a>>;

pub const ALL: &[(&str, Scenario)] = &[
    ("apply_reaches_ready_and_shows_printer_columns", |p| {
        Box::pin(lifecycle::apply_reaches_ready_and_shows_printer_columns(p))
    }),
    ("edits_and_drift_reach_aws_as_exact_calls", |p| Box::pin(lifecycle::edits_and_drift_reach_aws_as_exact_calls(p))),
    ("deletion_policies", |p| Box::pin(lifecycle::deletion_policies(p))),
    ("pause_holds_every_aws_call_and_reconcile_now_checks_drift", |p| {
        Box::pin(day_two::pause_holds_every_aws_call_and_reconcile_now_checks_drift(p))
    }),
    ("a_restored_object_takes_its_instance_back_and_a_copy_elsewhere_does_not", |p| {
        Box::pin(day_two::a_restored_object_takes_its_instance_back_and_a_copy_elsewhere_does_not(p))
    }),
    ("sigkill_at_each_step_of_create_and_delete", |p| Box::pin(crash::sigkill_at_each_step_of_create_and_delete(p))),
    ("one_object_per_account", |p| Box::pin(contention::one_object_per_account(p))),
    ("management_account_and_create_failed_stall", |p| {
        Box::pin(contention::management_account_and_create_failed_stall(p))
    }),
    ("throttling_storms_and_5xx_bursts_converge", |p| {
        Box::pin(contention::throttling_storms_and_5xx_bursts_converge(p))
    }),
    ("network_controls_are_set_changed_repaired_and_left_alone_once_removed", |p| {
        Box::pin(instance_features::network_controls_are_set_changed_repaired_and_left_alone_once_removed(p))
    }),
    ("attribute_based_access_control_is_configured_changed_and_removed", |p| {
        Box::pin(instance_features::attribute_based_access_control_is_configured_changed_and_removed(p))
    }),
    ("an_account_whose_instance_lives_in_another_region_is_told_to_adopt_it", |p| {
        Box::pin(instance_features::an_account_whose_instance_lives_in_another_region_is_told_to_adopt_it(p))
    }),
    ("a_tenant_cannot_set_network_controls_on_another_tenants_instance", |p| {
        Box::pin(instance_features::a_tenant_cannot_set_network_controls_on_another_tenants_instance(p))
    }),
    ("a_set_follows_its_ous_as_accounts_join_leave_and_close", |p| {
        Box::pin(instance_sets::a_set_follows_its_ous_as_accounts_join_leave_and_close(p))
    }),
    ("the_failure_tolerance_stops_a_rollout_and_a_template_change_rolls_out_at_its_pace", |p| {
        Box::pin(instance_sets::the_failure_tolerance_stops_a_rollout_and_a_template_change_rolls_out_at_its_pace(p))
    }),
    ("sigkill_mid_rollout_keeps_one_create_instance_per_account", |p| {
        Box::pin(instance_sets::sigkill_mid_rollout_keeps_one_create_instance_per_account(p))
    }),
    ("invalid_sets_are_refused_at_admission", |p| Box::pin(instance_sets::invalid_sets_are_refused_at_admission(p))),
    ("a_tenant_cannot_reach_another_tenants_accounts_through_a_set", |p| {
        Box::pin(instance_set_security::a_tenant_cannot_reach_another_tenants_accounts_through_a_set(p))
    }),
    ("the_organizations_reader_policy_is_enough_and_each_action_is_needed", |p| {
        Box::pin(instance_set_security::the_organizations_reader_policy_is_enough_and_each_action_is_needed(p))
    }),
    ("invalid_specs_are_refused_at_admission", |p| Box::pin(admission::invalid_specs_are_refused_at_admission(p))),
    ("observe_only_adoption_and_export", |p| Box::pin(observe::observe_only_adoption_and_export(p))),
    ("organization_instance_key_permission_sets_and_regions", |p| {
        Box::pin(organization::organization_instance_key_permission_sets_and_regions(p))
    }),
    ("only_the_leader_reconciles_and_a_standby_takes_over", |p| {
        Box::pin(leader::only_the_leader_reconciles_and_a_standby_takes_over(p))
    }),
    ("a_frozen_leader_writes_nothing_after_a_standby_took_over", |p| {
        Box::pin(leader::a_frozen_leader_writes_nothing_after_a_standby_took_over(p))
    }),
    ("grants_decide_before_any_aws_call", |p| Box::pin(tenancy::grants_decide_before_any_aws_call(p))),
    ("an_observer_never_takes_over_nor_deletes_another_tenants_instance", |p| {
        Box::pin(isolation::an_observer_never_takes_over_nor_deletes_another_tenants_instance(p))
    }),
    ("a_grant_narrowed_mid_deletion_stops_delete_instance", |p| {
        Box::pin(isolation::a_grant_narrowed_mid_deletion_stops_delete_instance(p))
    }),
    ("export_writes_only_configmaps_made_for_the_object", |p| {
        Box::pin(isolation::export_writes_only_configmaps_made_for_the_object(p))
    }),
    ("iam_policies_are_enough_and_each_action_is_needed", |p| {
        Box::pin(iam::iam_policies_are_enough_and_each_action_is_needed(p))
    }),
    ("a_roles_trust_policy_admits_only_its_own_namespace", |p| {
        Box::pin(iam::a_roles_trust_policy_admits_only_its_own_namespace(p))
    }),
    ("chart_rbac_is_enough_and_no_more", |p| Box::pin(chart::chart_rbac_is_enough_and_no_more(p))),
    ("a_forbidden_watch_is_an_error_with_advice", |p| Box::pin(chart::a_forbidden_watch_is_an_error_with_advice(p))),
    ("a_restart_leaves_settled_objects_alone_until_their_turn", |p| {
        Box::pin(restart::a_restart_leaves_settled_objects_alone_until_their_turn(p))
    }),
    ("apiserver_restart_resumes_without_duplicates", |p| {
        Box::pin(restart::apiserver_restart_resumes_without_duplicates(p))
    }),
];
