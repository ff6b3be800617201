//! ImagePullJob and NodeImage: defaulting (IPJ-3, IPJ-6), validation (IPJ-4, IPJ-6), image
//! references (IPJ-5), versions and lossless round-trips.

use std::path::Path;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;
use kruise_api::ValidationErrors;
use kruise_api::any::AnyResource;
use kruise_api::apps::{v1alpha1, v1beta1};
use kruise_api::convert::{
    imagepulljob_to_v1alpha1, imagepulljob_to_v1beta1, nodeimage_to_v1alpha1, nodeimage_to_v1beta1,
};
use kruise_api::defaults::Defaulting;
use kruise_api::defaults::imagepulljob::{add_v1alpha1_create_finalizer, default_node_image_at};
use kruise_api::validation::Validate;
use kruise_api::validation::imagepulljob::{ImageReferenceError, parse_image_reference};

fn base(extra: &str) -> v1beta1::ImagePullJob {
    serde_saphyr::from_str(&format!(
        "apiVersion: apps.kruise.io/v1beta1
kind: ImagePullJob
metadata: {{name: ipj, namespace: default}}
spec:
  image: nginx:1.25
{extra}"
    ))
    .unwrap()
}

fn defaulted(extra: &str) -> v1beta1::ImagePullJob {
    let mut j = base(extra);
    j.apply_defaults();
    j
}

fn paths(errs: &ValidationErrors) -> Vec<String> {
    errs.iter().map(|e| e.path.to_string()).collect()
}

fn error_paths(j: &v1beta1::ImagePullJob) -> Vec<String> {
    j.validate().err().map(|e| paths(&e)).unwrap_or_default()
}

fn messages(j: &v1beta1::ImagePullJob) -> String {
    j.validate().err().map(|e| e.to_string()).unwrap_or_default()
}

fn data(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)).unwrap()
}

// ---- IPJ-3 defaulting --------------------------------------------------------------------

#[test]
fn ipj_3_completion_policy_type_defaults_to_always() {
    assert_eq!(defaulted("").spec.completion_policy.type_, "Always");
}

#[test]
fn ipj_3_pull_policy_defaults_to_600s_and_3_retries() {
    let pp = defaulted("").spec.pull_policy.unwrap();
    assert_eq!((pp.timeout_seconds, pp.backoff_limit), (Some(600), Some(3)));
}

#[test]
fn ipj_3_partial_pull_policy_is_completed() {
    let pp = defaulted("  pullPolicy: {timeoutSeconds: 60}\n").spec.pull_policy.unwrap();
    assert_eq!((pp.timeout_seconds, pp.backoff_limit), (Some(60), Some(3)));
}

#[test]
fn ipj_3_image_pull_policy_defaults_to_if_not_present() {
    assert_eq!(defaulted("").spec.image_pull_policy, "IfNotPresent");
    assert_eq!(defaulted("  imagePullPolicy: Always\n").spec.image_pull_policy, "Always");
}

#[test]
fn ipj_3_parallelism_is_not_defaulted() {
    assert_eq!(defaulted("").spec.parallelism, None);
}

#[test]
fn ipj_3_defaulting_is_idempotent() {
    let once = defaulted("");
    let mut twice = once.clone();
    twice.apply_defaults();
    assert_eq!(once, twice);
}

#[test]
fn ipj_3_v1alpha1_create_adds_the_protection_finalizer_once() {
    let mut a = imagepulljob_to_v1alpha1(&base(""));
    add_v1alpha1_create_finalizer(&mut a.metadata);
    add_v1alpha1_create_finalizer(&mut a.metadata);
    assert_eq!(a.metadata.finalizers, Some(vec!["apps.kruise.io/deletion-protection".to_owned()]));
    // Plain defaulting (also run on updates) does not add it.
    let mut b = imagepulljob_to_v1alpha1(&base(""));
    b.apply_defaults();
    assert_eq!(b.metadata.finalizers, None);
}

// ---- IPJ-4 validation ----------------------------------------------------------------------------

#[test]
fn ipj_4_valid_job_passes() {
    assert_eq!(defaulted("").validate(), Ok(()));
}

#[test]
fn ipj_4_2_pull_secrets_are_immutable() {
    let old = defaulted("  pullSecrets: [a]\n");
    let new = defaulted("  pullSecrets: [a, b]\n");
    let errs = new.validate_update(&old).unwrap_err();
    assert_eq!(paths(&errs), ["spec.pullSecrets"]);
    assert!(errs.to_string().contains("spec.pullSecrets is immutable"));
    let removed = defaulted("");
    assert_eq!(paths(&removed.validate_update(&old).unwrap_err()), ["spec.pullSecrets"]);
    // Absent and empty are different lists.
    let empty = defaulted("  pullSecrets: []\n");
    assert_eq!(paths(&empty.validate_update(&removed).unwrap_err()), ["spec.pullSecrets"]);
    assert_eq!(old.validate_update(&old), Ok(()));
}

#[test]
fn ipj_4_2_other_fields_may_change_on_update() {
    let old = defaulted("  parallelism: 1\n");
    let new = defaulted("  parallelism: 5\n");
    assert_eq!(new.validate_update(&old), Ok(()));
}

#[test]
fn ipj_4_3_names_and_label_selector_together_are_rejected() {
    let j = defaulted("  selector:\n    names: [node1]\n    matchLabels: {arch: arm64}\n");
    assert_eq!(error_paths(&j), ["spec.selector"]);
    assert!(messages(&j).contains("can not set both names and labelSelector in this spec.selector"));
}

#[test]
fn ipj_4_3_empty_match_expressions_still_count_as_a_label_selector() {
    let j = defaulted("  selector:\n    names: [node1]\n    matchExpressions: []\n");
    assert_eq!(error_paths(&j), ["spec.selector"]);
}

#[test]
fn ipj_4_3_invalid_label_selector_is_rejected() {
    let j = defaulted("  selector:\n    matchExpressions:\n      - {key: arch, operator: In}\n");
    assert_eq!(error_paths(&j), ["spec.selector.matchExpressions[0].values"]);
    let j =
        defaulted("  selector:\n    matchExpressions:\n      - {key: arch, operator: Near, values: [a]}\n");
    assert_eq!(error_paths(&j), ["spec.selector.matchExpressions[0].operator"]);
    let j = defaulted("  selector:\n    matchLabels: {'bad key!': x}\n");
    assert_eq!(error_paths(&j), ["spec.selector.matchLabels"]);
    assert!(messages(&j).contains("invalid selector:"));
    let j = defaulted("  podSelector:\n    matchLabels: {app: 'not valid!'}\n");
    assert_eq!(error_paths(&j), ["spec.podSelector.matchLabels[app]"]);
    assert!(messages(&j).contains("invalid podSelector:"));
}

#[test]
fn ipj_4_3_duplicated_names_are_rejected() {
    let j = defaulted("  selector:\n    names: [node1, node2, node1]\n");
    assert_eq!(error_paths(&j), ["spec.selector.names[2]"]);
    assert!(messages(&j).contains("duplicated name in selector names"));
}

#[test]
fn ipj_4_4_pod_selector_with_selector_is_rejected() {
    let j = defaulted("  selector: {names: [node1]}\n  podSelector: {matchLabels: {app: web}}\n");
    assert_eq!(error_paths(&j), ["spec.podSelector"]);
    assert!(messages(&j).contains("can not set both selector and podSelector"));
}

#[test]
fn ipj_4_4_invalid_pod_selector_is_rejected() {
    let j = defaulted(
        "  podSelector:\n    matchExpressions:\n      - {key: app, operator: Exists, values: [x]}\n",
    );
    assert_eq!(error_paths(&j), ["spec.podSelector.matchExpressions[0].values"]);
}

#[test]
fn ipj_4_5_empty_image_is_rejected() {
    let mut j = defaulted("");
    j.spec.image.clear();
    assert_eq!(error_paths(&j), ["spec.image"]);
    assert!(messages(&j).contains("image can not be empty"));
}

#[test]
fn ipj_4_5_unparseable_image_is_rejected() {
    for image in ["nginx:", "Nginx", "nginx@sha256:abc", "-nginx", "nginx::1"] {
        let mut j = defaulted("");
        j.spec.image = image.into();
        assert_eq!(error_paths(&j), ["spec.image"], "{image}");
        assert!(messages(&j).contains(&format!("invalid image {image}")), "{image}");
    }
}

#[test]
fn ipj_4_6_negative_parallelism_is_rejected() {
    let j = defaulted("  parallelism: -1\n");
    assert_eq!(error_paths(&j), ["spec.parallelism"]);
    assert!(messages(&j).contains("parallelism must be non-negative"));
    let j = defaulted("  parallelism: '-2'\n");
    assert!(messages(&j).contains("parallelism must be non-negative"));
}

#[test]
fn ipj_4_6_percent_parallelism_is_rejected() {
    let j = defaulted("  parallelism: 50%\n");
    assert_eq!(error_paths(&j), ["spec.parallelism"]);
    assert!(messages(&j).contains("parallelism does not support percentage value"));
}

#[test]
fn ipj_4_6_non_integer_parallelism_is_rejected() {
    for p in ["abc", "1.5", "2147483648"] {
        let mut j = defaulted("");
        j.spec.parallelism = Some(IntOrString::String(p.into()));
        assert_eq!(error_paths(&j), ["spec.parallelism"], "{p}");
        assert!(messages(&j).contains("parallelism must be a valid integer"), "{p}");
    }
}

#[test]
fn ipj_4_6_numeric_string_and_zero_parallelism_are_accepted() {
    assert_eq!(defaulted("  parallelism: '3'\n").validate(), Ok(()));
    assert_eq!(defaulted("  parallelism: 0\n").validate(), Ok(()));
}

#[test]
fn ipj_4_7_deadline_below_timeout_is_rejected() {
    let j = defaulted("  completionPolicy: {type: Always, activeDeadlineSeconds: 599}\n");
    assert_eq!(error_paths(&j), ["spec.completionPolicy.activeDeadlineSeconds"]);
    assert!(messages(&j).contains("must be greater than pullPolicy.timeoutSeconds(default 600)"));
}

#[test]
fn ipj_4_7_deadline_equal_to_timeout_is_accepted() {
    assert_eq!(
        defaulted("  completionPolicy: {type: Always, activeDeadlineSeconds: 600}\n").validate(),
        Ok(())
    );
}

#[test]
fn ipj_4_7_deadline_is_compared_with_the_job_timeout() {
    let j = defaulted(
        "  pullPolicy: {timeoutSeconds: 60}\n  completionPolicy: {type: Always, activeDeadlineSeconds: 120}\n",
    );
    assert_eq!(j.validate(), Ok(()));
    let j = defaulted(
        "  pullPolicy: {timeoutSeconds: 900}\n  completionPolicy: {type: Always, activeDeadlineSeconds: 800}\n",
    );
    assert_eq!(error_paths(&j), ["spec.completionPolicy.activeDeadlineSeconds"]);
}

#[test]
fn ipj_4_7_never_with_deadline_or_ttl_is_rejected() {
    let j = defaulted(
        "  completionPolicy: {type: Never, activeDeadlineSeconds: 1200, ttlSecondsAfterFinished: 5}\n",
    );
    assert_eq!(
        error_paths(&j),
        ["spec.completionPolicy.activeDeadlineSeconds", "spec.completionPolicy.ttlSecondsAfterFinished"]
    );
    assert!(messages(&j).contains("can only work with Always CompletionPolicyType"));
}

#[test]
fn ipj_4_7_unknown_completion_type_is_rejected() {
    let j = defaulted("  completionPolicy: {type: Sometimes}\n");
    assert_eq!(error_paths(&j), ["spec.completionPolicy.type"]);
    // An empty type is only possible when the mutating webhook was bypassed.
    assert_eq!(error_paths(&base("")), ["spec.completionPolicy.type"]);
}

#[test]
fn ipj_4_image_pull_policy_and_sandbox_config_are_not_validated() {
    let j = defaulted("  imagePullPolicy: Sometimes\n  sandboxConfig: {labels: {'!': '?'}}\n");
    assert_eq!(j.validate(), Ok(()));
}

#[test]
fn ipj_4_all_errors_are_reported_together() {
    let mut j =
        defaulted("  parallelism: 5%\n  completionPolicy: {type: Never, ttlSecondsAfterFinished: 1}\n");
    j.spec.image.clear();
    assert_eq!(
        error_paths(&j),
        ["spec.image", "spec.parallelism", "spec.completionPolicy.ttlSecondsAfterFinished"]
    );
}

// ---- IPJ-5 image references --------------------------------------------------------------------------

#[test]
fn ipj_5_image_references_split_into_familiar_name_and_tag() {
    let digest = "sha256:4c3b7c4a9d1f0e2b6a8d5c7e9f1a3b5c7d9e1f2a3b4c5d6e7f8091a2b3c4d5e6";
    let cases = [
        ("nginx", "nginx", "latest"),
        ("nginx:1.20", "nginx", "1.20"),
        ("docker.io/library/nginx:1.20", "nginx", "1.20"),
        ("library/nginx", "nginx", "latest"),
        ("user/app:v2", "user/app", "v2"),
        ("quay.io/x/y:v1", "quay.io/x/y", "v1"),
        ("localhost:5000/app", "localhost:5000/app", "latest"),
        ("registry.example.com:443/a/b/c:1", "registry.example.com:443/a/b/c", "1"),
    ];
    for (image, name, tag) in cases {
        let r = parse_image_reference(image).unwrap();
        assert_eq!((r.name.as_str(), r.tag.as_str()), (name, tag), "{image}");
    }
    let r = parse_image_reference(&format!("quay.io/x/y:v1@{digest}")).unwrap();
    assert_eq!((r.name.as_str(), r.tag.as_str()), ("quay.io/x/y", digest));
}

#[test]
fn ipj_5_registry_hosts_and_ports() {
    for (image, name) in [
        ("localhost/app", "localhost/app"),
        ("[::1]:5000/app:v1", "[::1]:5000/app"),
        ("my-registry:5000/team/app", "my-registry:5000/team/app"),
        ("a__b/c-d--e.f:tag_1", "a__b/c-d--e.f"),
    ] {
        assert_eq!(parse_image_reference(image).unwrap().name, name, "{image}");
    }
}

#[test]
fn ipj_5_bad_references_name_the_problem() {
    assert_eq!(parse_image_reference("Team/App"), Err(ImageReferenceError::NotLowercase));
    assert_eq!(parse_image_reference("nginx@sha256:12"), Err(ImageReferenceError::InvalidDigest));
    assert_eq!(parse_image_reference(&"a".repeat(64)), Err(ImageReferenceError::HexIdentifier));
    assert_eq!(
        parse_image_reference(&format!("x.io/{}", "a".repeat(260))),
        Err(ImageReferenceError::NameTooLong)
    );
    assert_eq!(parse_image_reference("a//b"), Err(ImageReferenceError::InvalidFormat));
}

// ---- IPJ-6 NodeImage ----------------------------------------------------------------------------------

fn node_image(images: &str) -> v1beta1::NodeImage {
    serde_saphyr::from_str(&format!(
        "apiVersion: apps.kruise.io/v1beta1\nkind: NodeImage\nmetadata: {{name: node-1}}\nspec:\n  images:\n{images}"
    ))
    .unwrap()
}

fn node_image_errors(n: &v1beta1::NodeImage) -> Vec<String> {
    n.validate().err().map(|e| paths(&e)).unwrap_or_default()
}

fn now() -> Time {
    Time(Timestamp::from_second(1_767_225_600).unwrap())
}

#[test]
fn ipj_6_tag_pull_policy_defaults() {
    let mut n =
        node_image("    nginx:\n      tags: [{tag: '1.25'}, {tag: '1.26', pullPolicy: {backoffLimit: 1}}]\n");
    n.apply_defaults();
    let tags = &n.spec.images["nginx"].tags;
    let pp: Vec<_> = tags.iter().map(|t| t.pull_policy.clone().unwrap()).collect();
    assert_eq!((pp[0].timeout_seconds, pp[0].backoff_limit), (Some(600), Some(3)));
    assert_eq!((pp[1].timeout_seconds, pp[1].backoff_limit), (Some(600), Some(1)));
    assert!(tags.iter().all(|t| t.created_at.is_none()), "no clock in apply_defaults");
}

#[test]
fn ipj_6_created_at_defaults_to_the_given_now() {
    let mut n = node_image(
        "    nginx:\n      tags: [{tag: '1.25'}, {tag: '1.26', createdAt: '2020-01-01T00:00:00Z'}]\n",
    );
    default_node_image_at(&mut n, &now());
    let tags = &n.spec.images["nginx"].tags;
    assert_eq!(tags[0].created_at, Some(now()));
    assert_eq!(tags[1].created_at.as_ref().unwrap().0.as_second(), 1_577_836_800);
    assert!(tags[0].pull_policy.is_some());
}

#[test]
fn ipj_6_v1alpha1_node_image_is_defaulted_the_same_way() {
    let mut b = node_image("    nginx:\n      tags: [{tag: '1.25'}]\n");
    let mut a = nodeimage_to_v1alpha1(&b);
    default_node_image_at(&mut b, &now());
    kruise_api::defaults::imagepulljob::default_v1alpha1_node_image_at(&mut a, &now());
    assert_eq!(nodeimage_to_v1beta1(&a), b);
}

#[test]
fn ipj_6_valid_node_image_passes() {
    let n: v1beta1::NodeImage = serde_saphyr::from_str(&data("nodeimage-sample.yaml")).unwrap();
    assert_eq!(n.validate(), Ok(()));
}

#[test]
fn ipj_6_tag_rules() {
    let mut n = node_image(
        "    nginx:\n      tags:\n        - {tag: '', version: -1}\n        - {tag: a, pullPolicy: {}}\n        - {tag: a}\n",
    );
    default_node_image_at(&mut n, &now());
    n.spec.images.get_mut("nginx").unwrap().tags[2].pull_policy = None;
    assert_eq!(
        node_image_errors(&n),
        [
            "spec.images[nginx].tags[0].tag",
            "spec.images[nginx].tags[0].version",
            "spec.images[nginx].tags[0].pullPolicy.ttlSecondsAfterFinished",
            "spec.images[nginx].tags[1].pullPolicy.ttlSecondsAfterFinished",
            "spec.images[nginx].tags[2].tag",
            "spec.images[nginx].tags[2].pullPolicy",
        ]
    );
}

#[test]
fn ipj_6_created_at_is_required() {
    let n = node_image("    nginx:\n      tags: [{tag: a, pullPolicy: {ttlSecondsAfterFinished: 1}}]\n");
    assert_eq!(node_image_errors(&n), ["spec.images[nginx].tags[0].createdAt"]);
}

#[test]
fn ipj_6_at_most_256_images_and_non_empty_names() {
    let mut n = node_image("    '':\n      tags: []\n");
    assert_eq!(node_image_errors(&n), ["spec.images[]"]);
    n.spec.images = (0..257).map(|i| (format!("img{i}"), v1beta1::ImageSpec::default())).collect();
    assert_eq!(node_image_errors(&n), ["spec.images"]);
}

#[test]
fn ipj_5_node_image_conversion_drops_and_restores_secret_mode() {
    let b: v1beta1::NodeImage = serde_saphyr::from_str(&data("nodeimage-sample.yaml")).unwrap();
    let a = nodeimage_to_v1alpha1(&b);
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["apiVersion"], "apps.kruise.io/v1alpha1");
    assert!(json["spec"]["images"]["nginx"]["pullSecrets"][0].get("mode").is_none());
    let back = nodeimage_to_v1beta1(&a);
    assert_eq!(back.spec.images["nginx"].pull_secrets[0].mode, "");
    assert_eq!(back.spec.images["nginx"].tags, b.spec.images["nginx"].tags);
    assert_eq!(back.status, b.status);
}

#[test]
fn ipj_5_node_image_is_cluster_scoped() {
    use k8s_openapi::Resource;
    fn scope<T: Resource>() -> &'static str {
        std::any::type_name::<T::Scope>()
    }
    assert!(scope::<v1beta1::NodeImage>().ends_with("ClusterResourceScope"));
    assert!(scope::<v1alpha1::NodeImage>().ends_with("ClusterResourceScope"));
    assert!(scope::<v1beta1::ImagePullJob>().ends_with("NamespaceResourceScope"));
}

// ---- IPJ-1 versions and samples --------------------------------------------------------------------

#[test]
fn ipj_1_v1alpha1_and_v1beta1_convert_losslessly() {
    let a: v1alpha1::ImagePullJob =
        serde_saphyr::from_str(&data("imagepulljob-v1alpha1-sample.yaml")).unwrap();
    assert_eq!(imagepulljob_to_v1alpha1(&imagepulljob_to_v1beta1(&a)), a);
}

#[test]
fn ipj_1_samples_round_trip_default_and_validate() {
    for name in ["imagepulljob-sample.yaml", "imagepulljob-v1alpha1-sample.yaml", "nodeimage-sample.yaml"] {
        let v: serde_json::Value = serde_saphyr::from_str(&data(name)).unwrap();
        let mut obj = AnyResource::from_value(v.clone()).unwrap();
        assert_eq!(obj.to_value(), v, "{name} does not round-trip");
        obj.apply_defaults();
        assert_eq!(obj.validate(), Ok(()), "{name}");
    }
}

#[test]
fn ipj_1_selector_keeps_nil_and_empty_apart() {
    let j = base("  selector: {names: []}\n");
    let sel = j.spec.selector.as_ref().unwrap();
    assert_eq!(sel.names, Some(vec![]));
    assert!(!sel.has_label_selector());
    let v = serde_json::to_value(&j).unwrap();
    assert_eq!(v["spec"]["selector"], serde_json::json!({"names": []}));
}

// ---- round trip over arbitrary values ------------------------------------------------------------------

mod roundtrip {
    use std::collections::BTreeMap;

    use k8s_openapi::api::core::v1::ObjectReference;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelectorRequirement, ObjectMeta, Time};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    use k8s_openapi::jiff::Timestamp;
    use kruise_api::apps::v1beta1::*;
    use proptest::collection::{btree_map, vec};
    use proptest::option;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 .:%/-]{0,12}"
    }
    fn time() -> impl Strategy<Value = Time> {
        (0i64..4_000_000_000).prop_map(|s| Time(Timestamp::from_second(s).unwrap()))
    }
    fn map() -> impl Strategy<Value = BTreeMap<String, String>> {
        btree_map("[a-z./]{1,8}", text(), 0..3)
    }
    fn requirement() -> impl Strategy<Value = LabelSelectorRequirement> {
        ("[a-z]{1,6}", "In|NotIn|Exists", option::of(vec(text(), 0..3)))
            .prop_map(|(key, operator, values)| LabelSelectorRequirement { key, operator, values })
    }
    fn int_or_string() -> impl Strategy<Value = IntOrString> {
        prop_oneof![any::<i32>().prop_map(IntOrString::Int), text().prop_map(IntOrString::String)]
    }
    fn spec() -> impl Strategy<Value = ImagePullJobSpec> {
        let selector =
            (option::of(vec(text(), 0..3)), option::of(map()), option::of(vec(requirement(), 0..2)))
                .prop_map(|(names, match_labels, match_expressions)| ImagePullJobNodeSelector {
                    names,
                    match_labels,
                    match_expressions,
                });
        let pod_selector = (option::of(map()), option::of(vec(requirement(), 0..2))).prop_map(
            |(match_labels, match_expressions)| ImagePullJobPodSelector { match_labels, match_expressions },
        );
        let pull_policy = (option::of(any::<i32>()), option::of(any::<i32>()))
            .prop_map(|(timeout_seconds, backoff_limit)| PullPolicy { timeout_seconds, backoff_limit });
        let completion =
            (text(), option::of(any::<i64>()), option::of(any::<i32>())).prop_map(|(type_, d, t)| {
                CompletionPolicy { type_, active_deadline_seconds: d, ttl_seconds_after_finished: t }
            });
        (
            text(),
            option::of(vec(text(), 0..3)),
            option::of(selector),
            option::of(pod_selector),
            option::of(int_or_string()),
            option::of(pull_policy),
            completion,
            option::of(
                (map(), map()).prop_map(|(labels, annotations)| SandboxConfig { labels, annotations }),
            ),
            text(),
        )
            .prop_map(
                |(
                    image,
                    pull_secrets,
                    selector,
                    pod_selector,
                    parallelism,
                    pull_policy,
                    completion_policy,
                    sandbox_config,
                    image_pull_policy,
                )| {
                    ImagePullJobSpec {
                        image,
                        pull_secrets,
                        selector,
                        pod_selector,
                        parallelism,
                        pull_policy,
                        completion_policy,
                        sandbox_config,
                        image_pull_policy,
                    }
                },
            )
    }
    fn status() -> impl Strategy<Value = ImagePullJobStatus> {
        (option::of(time()), option::of(time()), any::<[i32; 4]>(), text(), vec(text(), 0..3)).prop_map(
            |(start_time, completion_time, [desired, active, succeeded, failed], message, failed_nodes)| {
                ImagePullJobStatus {
                    start_time,
                    completion_time,
                    desired,
                    active,
                    succeeded,
                    failed,
                    message,
                    failed_nodes,
                }
            },
        )
    }
    fn meta() -> impl Strategy<Value = ObjectMeta> {
        (option::of("[a-z0-9-]{1,20}"), option::of("[a-z0-9-]{1,10}"))
            .prop_map(|(name, namespace)| ObjectMeta { name, namespace, ..Default::default() })
    }
    fn job() -> impl Strategy<Value = ImagePullJob> {
        (meta(), spec(), option::of(status())).prop_map(|(metadata, spec, status)| ImagePullJob {
            metadata,
            spec,
            status,
        })
    }

    fn tag_spec() -> impl Strategy<Value = ImageTagSpec> {
        let pp = (
            option::of(any::<i32>()),
            option::of(any::<i32>()),
            option::of(any::<i32>()),
            option::of(any::<i64>()),
        )
            .prop_map(
                |(timeout_seconds, backoff_limit, ttl_seconds_after_finished, active_deadline_seconds)| {
                    ImageTagPullPolicy {
                        timeout_seconds,
                        backoff_limit,
                        ttl_seconds_after_finished,
                        active_deadline_seconds,
                    }
                },
            );
        let owner =
            (text(), text(), text(), text()).prop_map(|(api_version, kind, name, uid)| ObjectReference {
                api_version: Some(api_version),
                kind: Some(kind),
                name: Some(name),
                uid: Some(uid),
                ..Default::default()
            });
        (text(), option::of(time()), option::of(pp), vec(owner, 0..2), any::<i64>(), text()).prop_map(
            |(tag, created_at, pull_policy, owner_references, version, image_pull_policy)| ImageTagSpec {
                tag,
                created_at,
                pull_policy,
                owner_references,
                version,
                image_pull_policy,
            },
        )
    }
    fn tag_status() -> impl Strategy<Value = ImageTagStatus> {
        (text(), text(), any::<i32>(), option::of(time()), option::of(time()), any::<i64>(), text(), text())
            .prop_map(|(tag, phase, progress, start_time, completion_time, version, image_id, message)| {
                ImageTagStatus {
                    tag,
                    phase,
                    progress,
                    start_time,
                    completion_time,
                    version,
                    image_id,
                    message,
                }
            })
    }
    fn node_image() -> impl Strategy<Value = NodeImage> {
        let secret = (text(), text(), text()).prop_map(|(namespace, name, mode)| ReferenceObject {
            namespace,
            name,
            mode,
        });
        let image = (
            vec(secret, 0..2),
            vec(tag_spec(), 0..3),
            option::of(
                (map(), map()).prop_map(|(labels, annotations)| SandboxConfig { labels, annotations }),
            ),
        )
            .prop_map(|(pull_secrets, tags, sandbox_config)| ImageSpec {
                pull_secrets,
                tags,
                sandbox_config,
            });
        let sync = (option::of(time()), text(), text()).prop_map(|(sync_at, status, message)| SyncStatus {
            sync_at,
            status,
            message,
        });
        let status = (
            any::<[i32; 5]>(),
            btree_map(text(), vec(tag_status(), 0..3).prop_map(|tags| ImageStatus { tags }), 0..3),
            option::of(sync),
        )
            .prop_map(
                |([desired, succeeded, failed, pulling, waiting], image_statuses, first_sync_status)| {
                    NodeImageStatus {
                        desired,
                        succeeded,
                        failed,
                        pulling,
                        waiting,
                        image_statuses,
                        first_sync_status,
                    }
                },
            );
        (meta(), btree_map(text(), image, 0..3), option::of(status)).prop_map(|(metadata, images, status)| {
            NodeImage { metadata, spec: NodeImageSpec { images }, status }
        })
    }

    fn roundtrip<T>(v: &T) -> Result<(), TestCaseError>
    where
        T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let yaml = serde_saphyr::to_string(v).unwrap();
        let from_yaml: T = serde_saphyr::from_str(&yaml).unwrap();
        prop_assert_eq!(&from_yaml, v);
        let json = serde_json::to_string(&from_yaml).unwrap();
        let back: T = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, v);
        Ok(())
    }

    proptest! {
        #[test]
        fn ipj_1_imagepulljob_yaml_json_roundtrip_is_lossless(j in job()) {
            roundtrip(&j)?;
        }

        #[test]
        fn ipj_3_defaulting_is_idempotent_and_validation_never_panics(j in job()) {
            use kruise_api::defaults::Defaulting;
            use kruise_api::validation::Validate;
            let _ = j.validate();
            let mut once = j.clone();
            once.apply_defaults();
            let mut twice = once.clone();
            twice.apply_defaults();
            prop_assert_eq!(&once, &twice);
            let _ = once.validate_update(&j);
        }

        #[test]
        fn ipj_5_image_parser_never_panics(s in "\\PC{0,40}", t in "[a-zA-Z0-9./:@_\\[\\]-]{0,40}") {
            let _ = kruise_api::validation::imagepulljob::parse_image_reference(&s);
            if let Ok(r) = kruise_api::validation::imagepulljob::parse_image_reference(&t) {
                // A parsed name is lower-case and re-parses to itself.
                let again = kruise_api::validation::imagepulljob::parse_image_reference(&r.name).unwrap();
                prop_assert_eq!(again.name, r.name);
            }
        }

        #[test]
        fn ipj_6_node_image_defaulting_is_idempotent_and_validation_never_panics(n in node_image()) {
            use kruise_api::defaults::Defaulting;
            use kruise_api::validation::Validate;
            let mut once = n.clone();
            once.apply_defaults();
            let mut twice = once.clone();
            twice.apply_defaults();
            prop_assert_eq!(&once, &twice);
            let _ = once.validate();
        }

        #[test]
        fn ipj_5_nodeimage_yaml_json_roundtrip_is_lossless(n in node_image()) {
            roundtrip(&n)?;
            let alpha = kruise_api::convert::nodeimage_to_v1alpha1(&n);
            roundtrip(&alpha)?;
        }
    }
}

#[test]
fn ipj_4_metadata_is_validated() {
    let mut j = defaulted("");
    j.metadata = ObjectMeta { name: Some("Bad_Name".into()), ..Default::default() };
    assert_eq!(error_paths(&j), ["metadata.name"]);
}

#[cfg(feature = "schemars")]
#[test]
fn ipj_1_kind_info_matches_upstream_crds() {
    let ipj = v1beta1::imagepulljob::kind_info();
    assert_eq!((ipj.plural, ipj.namespaced), ("imagepulljobs", true));
    let cols: Vec<_> = ipj.versions[1].printer_columns.iter().map(|c| c.name).collect();
    assert_eq!(cols, ["TOTAL", "ACTIVE", "SUCCEED", "FAILED", "AGE", "MESSAGE"]);
    let ni = v1beta1::nodeimage::kind_info();
    assert_eq!((ni.plural, ni.namespaced), ("nodeimages", false));
    let storage: Vec<_> = ni.versions.iter().map(|v| (v.name, v.storage)).collect();
    // No conversion webhook: v1alpha1 is stored (docs/deviations.md).
    assert_eq!(storage, [("v1alpha1", true), ("v1beta1", false)]);
    let cols: Vec<_> = ni.versions[0].printer_columns.iter().map(|c| c.name).collect();
    assert_eq!(cols, ["DESIRED", "PULLING", "SUCCEED", "FAILED", "AGE"]);
    // v1alpha1's secret references have no `mode`.
    let alpha = serde_json::to_value((ni.versions[0].spec_schema)()).unwrap().to_string();
    let beta = serde_json::to_value((ni.versions[1].spec_schema)()).unwrap().to_string();
    assert!(beta.contains("\"mode\"") && !alpha.contains("\"mode\""));
}
