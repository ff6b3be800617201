//! The seed manifests (examples/seed/) parse as OpenKruise CloneSets.

use kruise_api::apps::v1alpha1::CloneSet;

#[test]
fn seed_manifests_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/seed");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml")
            && path.file_name().unwrap().to_string_lossy().contains("-ok")
        {
            let text = std::fs::read_to_string(&path).unwrap();
            let cs: CloneSet =
                serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(cs.metadata.name.as_deref(), Some("nginxweb1"));
            n += 1;
        }
    }
    assert_eq!(n, 5);
}
