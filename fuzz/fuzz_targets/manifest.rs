//! Fuzz target: any bytes as a manifest (JSON or YAML) → decode by apiVersion/kind → defaults →
//! validation. Must never panic; defaulting must be idempotent and decoding must round-trip.
#![no_main]

use kruise_api::any::AnyResource;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) => match serde_saphyr::from_str(text) {
            Ok(v) => v,
            Err(_) => return,
        },
    };
    let Ok(mut obj) = AnyResource::from_value(value) else { return };
    // Decoding then encoding then decoding again gives the same object.
    let again = AnyResource::from_value(obj.to_value()).expect("re-decode of an encoded object");
    assert_eq!(again, obj, "round trip changed the object");
    obj.apply_defaults();
    let once = obj.clone();
    obj.apply_defaults();
    assert_eq!(obj, once, "defaulting is not idempotent");
    let _ = obj.validate();
});
