//! The SidecarSet hashes of SCS-6, byte-compatible with upstream: the sidecars are encoded as
//! Go's `encoding/json` encodes them (struct fields in declaration order, `omitempty`
//! semantics, struct-valued fields always written, HTML-safe string escaping), hashed with
//! SHA-256, and the hex digest mapped onto Kubernetes' safe alphabet.
//!
//! The field tables follow `k8s.io/api` v0.32 (the version upstream builds with). Fields this
//! table does not know (newer Kubernetes fields) are written after the known ones, sorted,
//! so such a sidecar still gets a deterministic hash, which may differ from upstream's.
//! Resource quantities are written in Kubernetes' canonical form ([`super::quantity`]).

use serde_json::{Map, Value};

use crate::apps::v1beta1::sidecarset::SidecarContainer;
use crate::gojson::{write_string, write_value};

/// How Go writes one struct field.
#[derive(Clone, Copy)]
enum Kind {
    /// `omitempty` on a non-pointer scalar, slice or map: dropped when zero or empty.
    Empty,
    /// A pointer with `omitempty`: dropped only when nil.
    Ptr,
    /// No `omitempty` (or a non-pointer struct-like scalar): always written; this zero value
    /// when absent.
    Always(Zero),
    /// A non-pointer struct: always written, `{}` and its own always-fields when absent.
    Struct(&'static [Field]),
    /// A pointer to a struct with `omitempty`: dropped when nil.
    PtrStruct(&'static [Field]),
    /// A slice of structs with `omitempty`.
    Structs(&'static [Field]),
    /// A `ResourceList` with `omitempty`: quantities in canonical form.
    Quantities,
    /// A non-pointer `Quantity`: always written, canonical, `"0"` when absent.
    Quantity,
}

/// The zero value written for an absent always-field.
#[derive(Clone, Copy)]
enum Zero {
    Str(&'static str),
    Num,
    Null,
}

type Field = (&'static str, Kind);

use Kind::{Always, Empty, Ptr, PtrStruct, Quantities, Quantity, Struct, Structs};
use Zero::{Null, Num, Str};

const OBJECT_FIELD_SELECTOR: &[Field] = &[("apiVersion", Empty), ("fieldPath", Always(Str("")))];
const RESOURCE_FIELD_SELECTOR: &[Field] =
    &[("containerName", Empty), ("resource", Always(Str(""))), ("divisor", Quantity)];
const KEY_SELECTOR: &[Field] = &[("name", Empty), ("key", Always(Str(""))), ("optional", Ptr)];
const ENV_VAR_SOURCE: &[Field] = &[
    ("fieldRef", PtrStruct(OBJECT_FIELD_SELECTOR)),
    ("resourceFieldRef", PtrStruct(RESOURCE_FIELD_SELECTOR)),
    ("configMapKeyRef", PtrStruct(KEY_SELECTOR)),
    ("secretKeyRef", PtrStruct(KEY_SELECTOR)),
];
const ENV_VAR: &[Field] =
    &[("name", Always(Str(""))), ("value", Empty), ("valueFrom", PtrStruct(ENV_VAR_SOURCE))];
const ENV_SOURCE_REF: &[Field] = &[("name", Empty), ("optional", Ptr)];
const ENV_FROM_SOURCE: &[Field] = &[
    ("prefix", Empty),
    ("configMapRef", PtrStruct(ENV_SOURCE_REF)),
    ("secretRef", PtrStruct(ENV_SOURCE_REF)),
];
const CONTAINER_PORT: &[Field] = &[
    ("name", Empty),
    ("hostPort", Empty),
    ("containerPort", Always(Num)),
    ("protocol", Empty),
    ("hostIP", Empty),
];
const RESOURCE_CLAIM: &[Field] = &[("name", Always(Str(""))), ("request", Empty)];
const RESOURCES: &[Field] =
    &[("limits", Quantities), ("requests", Quantities), ("claims", Structs(RESOURCE_CLAIM))];
const RESIZE_POLICY: &[Field] = &[("resourceName", Always(Str(""))), ("restartPolicy", Always(Str("")))];
const VOLUME_MOUNT: &[Field] = &[
    ("name", Always(Str(""))),
    ("readOnly", Empty),
    ("recursiveReadOnly", Ptr),
    ("mountPath", Always(Str(""))),
    ("subPath", Empty),
    ("mountPropagation", Ptr),
    ("subPathExpr", Empty),
];
const VOLUME_DEVICE: &[Field] = &[("name", Always(Str(""))), ("devicePath", Always(Str("")))];
const EXEC: &[Field] = &[("command", Empty)];
const HTTP_HEADER: &[Field] = &[("name", Always(Str(""))), ("value", Always(Str("")))];
const HTTP_GET: &[Field] = &[
    ("path", Empty),
    ("port", Always(Num)),
    ("host", Empty),
    ("scheme", Empty),
    ("httpHeaders", Structs(HTTP_HEADER)),
];
const TCP_SOCKET: &[Field] = &[("port", Always(Num)), ("host", Empty)];
const GRPC: &[Field] = &[("port", Always(Num)), ("service", Always(Null))];
const SLEEP: &[Field] = &[("seconds", Always(Num))];
const PROBE: &[Field] = &[
    ("exec", PtrStruct(EXEC)),
    ("httpGet", PtrStruct(HTTP_GET)),
    ("tcpSocket", PtrStruct(TCP_SOCKET)),
    ("grpc", PtrStruct(GRPC)),
    ("initialDelaySeconds", Empty),
    ("timeoutSeconds", Empty),
    ("periodSeconds", Empty),
    ("successThreshold", Empty),
    ("failureThreshold", Empty),
    ("terminationGracePeriodSeconds", Ptr),
];
const LIFECYCLE_HANDLER: &[Field] = &[
    ("exec", PtrStruct(EXEC)),
    ("httpGet", PtrStruct(HTTP_GET)),
    ("tcpSocket", PtrStruct(TCP_SOCKET)),
    ("sleep", PtrStruct(SLEEP)),
];
const LIFECYCLE: &[Field] =
    &[("postStart", PtrStruct(LIFECYCLE_HANDLER)), ("preStop", PtrStruct(LIFECYCLE_HANDLER))];
const CAPABILITIES: &[Field] = &[("add", Empty), ("drop", Empty)];
const SE_LINUX: &[Field] = &[("user", Empty), ("role", Empty), ("type", Empty), ("level", Empty)];
const WINDOWS: &[Field] = &[
    ("gmsaCredentialSpecName", Ptr),
    ("gmsaCredentialSpec", Ptr),
    ("runAsUserName", Ptr),
    ("hostProcess", Ptr),
];
const PROFILE: &[Field] = &[("type", Always(Str(""))), ("localhostProfile", Ptr)];
const SECURITY_CONTEXT: &[Field] = &[
    ("capabilities", PtrStruct(CAPABILITIES)),
    ("privileged", Ptr),
    ("seLinuxOptions", PtrStruct(SE_LINUX)),
    ("windowsOptions", PtrStruct(WINDOWS)),
    ("runAsUser", Ptr),
    ("runAsGroup", Ptr),
    ("runAsNonRoot", Ptr),
    ("readOnlyRootFilesystem", Ptr),
    ("allowPrivilegeEscalation", Ptr),
    ("procMount", Ptr),
    ("seccompProfile", PtrStruct(PROFILE)),
    ("appArmorProfile", PtrStruct(PROFILE)),
];
const UPGRADE_STRATEGY: &[Field] = &[("upgradeType", Empty), ("hotUpgradeEmptyImage", Empty)];
const SHARE_VOLUME_POLICY: &[Field] = &[("type", Empty)];
const SOURCE_CONTAINER_NAME: &[Field] = &[("fieldRef", PtrStruct(OBJECT_FIELD_SELECTOR))];
const TRANSFER_ENV: &[Field] = &[
    ("sourceContainerName", Empty),
    ("sourceContainerNameFrom", PtrStruct(SOURCE_CONTAINER_NAME)),
    ("envName", Empty),
    ("envNames", Empty),
];
const RESOURCE_EXPRS: &[Field] = &[("cpu", Empty), ("memory", Empty)];
const RESOURCES_EXPR: &[Field] =
    &[("limits", PtrStruct(RESOURCE_EXPRS)), ("requests", PtrStruct(RESOURCE_EXPRS))];
const RESOURCES_POLICY: &[Field] = &[
    ("targetContainersMode", Always(Str(""))),
    ("targetContainersNameRegex", Empty),
    ("resourcesExpr", Struct(RESOURCES_EXPR)),
];

/// `SidecarContainer`: the inlined core `Container` fields, then the sidecar's own (SCS-6).
const SIDECAR_CONTAINER: &[Field] = &[
    ("name", Always(Str(""))),
    ("image", Empty),
    ("command", Empty),
    ("args", Empty),
    ("workingDir", Empty),
    ("ports", Structs(CONTAINER_PORT)),
    ("envFrom", Structs(ENV_FROM_SOURCE)),
    ("env", Structs(ENV_VAR)),
    ("resources", Struct(RESOURCES)),
    ("resizePolicy", Structs(RESIZE_POLICY)),
    ("restartPolicy", Ptr),
    ("volumeMounts", Structs(VOLUME_MOUNT)),
    ("volumeDevices", Structs(VOLUME_DEVICE)),
    ("livenessProbe", PtrStruct(PROBE)),
    ("readinessProbe", PtrStruct(PROBE)),
    ("startupProbe", PtrStruct(PROBE)),
    ("lifecycle", PtrStruct(LIFECYCLE)),
    ("terminationMessagePath", Empty),
    ("terminationMessagePolicy", Empty),
    ("imagePullPolicy", Empty),
    ("securityContext", PtrStruct(SECURITY_CONTEXT)),
    ("stdin", Empty),
    ("stdinOnce", Empty),
    ("tty", Empty),
    ("podInjectPolicy", Empty),
    ("upgradeStrategy", Struct(UPGRADE_STRATEGY)),
    ("shareVolumePolicy", Struct(SHARE_VOLUME_POLICY)),
    ("shareVolumeDevicePolicy", PtrStruct(SHARE_VOLUME_POLICY)),
    ("transferEnv", Structs(TRANSFER_ENV)),
    ("resourcesPolicy", PtrStruct(RESOURCES_POLICY)),
];

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// Writes `obj` as Go writes the struct described by `fields`.
fn write_struct(out: &mut String, obj: Option<&Map<String, Value>>, fields: &[Field]) {
    out.push('{');
    let mut first = true;
    let mut sep = |out: &mut String| {
        if !std::mem::take(&mut first) {
            out.push(',');
        }
    };
    for &(name, kind) in fields {
        let v = obj.and_then(|o| o.get(name)).filter(|v| !v.is_null());
        match (kind, v) {
            (Kind::Empty, Some(v)) if !is_empty(v) => {
                sep(out);
                write_key(out, name);
                write_value(out, v);
            }
            (Kind::Ptr, Some(v)) => {
                sep(out);
                write_key(out, name);
                write_value(out, v);
            }
            (Kind::Always(zero), v) => {
                sep(out);
                write_key(out, name);
                match (v, zero) {
                    (Some(v), _) => write_value(out, v),
                    (None, Zero::Str(s)) => write_string(out, s),
                    (None, Zero::Num) => out.push('0'),
                    (None, Zero::Null) => out.push_str("null"),
                }
            }
            (Kind::Struct(sub), v) => {
                sep(out);
                write_key(out, name);
                write_struct(out, v.and_then(Value::as_object), sub);
            }
            (Kind::PtrStruct(sub), Some(v)) => {
                sep(out);
                write_key(out, name);
                write_struct(out, v.as_object(), sub);
            }
            (Kind::Quantities, Some(Value::Object(map))) if !map.is_empty() => {
                sep(out);
                write_key(out, name);
                out.push('{');
                for (i, (k, q)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_key(out, k);
                    write_quantity(out, Some(q));
                }
                out.push('}');
            }
            (Kind::Quantity, v) => {
                sep(out);
                write_key(out, name);
                write_quantity(out, v);
            }
            (Kind::Structs(sub), Some(Value::Array(items))) if !items.is_empty() => {
                sep(out);
                write_key(out, name);
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_struct(out, item.as_object(), sub);
                }
                out.push(']');
            }
            _ => {}
        }
    }
    // Fields this table does not know (newer Kubernetes versions): sorted, after the rest.
    if let Some(o) = obj {
        for (k, v) in o.iter().filter(|(k, v)| !v.is_null() && !fields.iter().any(|(n, _)| n == k)) {
            sep(out);
            write_key(out, k);
            write_value(out, v);
        }
    }
    out.push('}');
}

/// A quantity in canonical form; as written when it does not parse; `"0"` when absent.
fn write_quantity(out: &mut String, q: Option<&Value>) {
    match q {
        None => write_string(out, "0"),
        Some(Value::String(s)) => {
            write_string(out, &super::quantity::canonical(s).unwrap_or_else(|| s.clone()))
        }
        Some(v) => write_value(out, v),
    }
}

fn write_key(out: &mut String, k: &str) {
    write_string(out, k);
    out.push(':');
}

fn write_list(out: &mut String, list: &[SidecarContainer], blank_images: bool) {
    if list.is_empty() {
        // Go writes the nil slice of an absent list as `null`.
        out.push_str("null");
        return;
    }
    out.push('[');
    for (i, sc) in list.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let mut v = serde_json::to_value(sc).unwrap_or(Value::Null);
        if blank_images && let Some(o) = v.as_object_mut() {
            o.remove("image");
        }
        write_struct(out, v.as_object(), SIDECAR_CONTAINER);
    }
    out.push(']');
}

/// The JSON upstream hashes (SCS-6 steps 1-2): `{"containers":[...]}`, plus
/// `"initContainers"` (all of them) when one init container is a native sidecar.
pub fn encode(
    containers: &[SidecarContainer],
    init_containers: &[SidecarContainer],
    blank_images: bool,
) -> String {
    let mut out = String::from("{\"containers\":");
    write_list(&mut out, containers, blank_images);
    if init_containers.iter().any(SidecarContainer::is_native_sidecar) {
        out.push_str(",\"initContainers\":");
        write_list(&mut out, init_containers, blank_images);
    }
    out.push('}');
    out
}

/// SCS-6: `kruise.io/sidecarset-hash` (`blank_images` false) or
/// `kruise.io/sidecarset-hash-without-image` (`blank_images` true) of a SidecarSet's sidecars.
pub fn sidecarset_hash(
    containers: &[SidecarContainer],
    init_containers: &[SidecarContainer],
    blank_images: bool,
) -> String {
    safe_encode(&sha256_hex(encode(containers, init_containers, blank_images).as_bytes()))
}

/// Kubernetes' `rand.SafeEncodeString`: each byte mapped onto a vowel-free alphabet.
fn safe_encode(s: &str) -> String {
    const ALPHABET: &[u8; 27] = b"bcdfghjklmnpqrstvwxz2456789";
    s.bytes().map(|b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()])).collect()
}

/// Lowercase hex SHA-256 (FIPS 180-4).
fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];
    let mut h: [u32; 8] =
        [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh.wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sc(json: &str) -> SidecarContainer {
        serde_json::from_str(json).expect("test JSON")
    }

    #[test]
    fn scs_6_sha256_known_answers() {
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(
            sha256_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        let million_a = vec![b'a'; 1_000_000];
        assert_eq!(
            sha256_hex(&million_a),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        );
    }

    #[test]
    fn scs_6_encoding_matches_go() {
        let c = sc(r#"{"name":"container1","image":"test-image"}"#);
        assert_eq!(
            encode(std::slice::from_ref(&c), &[], false),
            r#"{"containers":[{"name":"container1","image":"test-image","resources":{},"upgradeStrategy":{},"shareVolumePolicy":{}}]}"#
        );
        let c = sc(
            r#"{"name":"a","image":"x<y>&z","tty":false,"stdin":true,"ports":[{"containerPort":80,"hostPort":0}],
                "env":[{"name":"E","valueFrom":{"resourceFieldRef":{"resource":"limits.cpu"}}}],
                "readinessProbe":{"grpc":{"port":9}},"restartPolicy":"Always","securityContext":{"privileged":false},
                "transferEnv":[{"envName":"T"}],"resourcesPolicy":{"targetContainersMode":"sum"}}"#,
        );
        assert_eq!(
            encode(&[], std::slice::from_ref(&c), true),
            concat!(
                r#"{"containers":null,"initContainers":[{"name":"a","ports":[{"containerPort":80}],"#,
                r#""env":[{"name":"E","valueFrom":{"resourceFieldRef":{"resource":"limits.cpu","divisor":"0"}}}],"#,
                r#""resources":{},"restartPolicy":"Always","readinessProbe":{"grpc":{"port":9,"service":null}},"#,
                r#""securityContext":{"privileged":false},"stdin":true,"upgradeStrategy":{},"shareVolumePolicy":{},"#,
                r#""transferEnv":[{"envName":"T"}],"resourcesPolicy":{"targetContainersMode":"sum","resourcesExpr":{}}}]}"#
            )
        );
        let mut out = String::new();
        write_string(&mut out, "a<b>&\u{2028}\n\u{1}\u{8}é");
        assert_eq!(out, r#""a\u003cb\u003e\u0026\u2028\n\u0001\bé""#);
    }

    #[test]
    fn scs_6_resource_quantities_hash_in_canonical_form() {
        let c = sc(
            r#"{"name":"a","resources":{"limits":{"memory":"1024Mi","cpu":"1000m"},"requests":{"cpu":"0.5"}}}"#,
        );
        assert_eq!(
            encode(std::slice::from_ref(&c), &[], false),
            r#"{"containers":[{"name":"a","resources":{"limits":{"cpu":"1","memory":"1Gi"},"requests":{"cpu":"500m"}},"upgradeStrategy":{},"shareVolumePolicy":{}}]}"#
        );
        let same =
            sc(r#"{"name":"a","resources":{"limits":{"memory":"1Gi","cpu":"1"},"requests":{"cpu":"500m"}}}"#);
        assert_eq!(sidecarset_hash(&[c], &[], false), sidecarset_hash(&[same], &[], false));
    }

    #[test]
    fn scs_6_upstream_hash_vectors() {
        let c = vec![sc(r#"{"name":"container1","image":"test-image"}"#)];
        let plain_init = vec![sc(r#"{"name":"container1","image":"test-image"}"#)];
        let native_init = vec![sc(r#"{"name":"container1","image":"test-image","restartPolicy":"Always"}"#)];
        let with = "w26c4x8fz245642fdv499b464248f974xddx4x55z5dw55bc6x66464fxz77dc78";
        assert_eq!(sidecarset_hash(&c, &[], false), with);
        assert_eq!(sidecarset_hash(&c, &plain_init, false), with, "plain init containers are not hashed");
        assert_eq!(
            sidecarset_hash(&c, &native_init, false),
            "4xwx4d4844vd4v9x79wb4xbxf4xb29475cc4446v8cz2c2f2f5c5bw448vd42z8w"
        );
        assert_eq!(
            sidecarset_hash(&c, &plain_init, true),
            "8wzddb4dvv9c6x8zdc77z4z75987424f457dfv6724ddw6zbdx467wz5x24fc759"
        );
        assert_eq!(
            sidecarset_hash(&c, &native_init, true),
            "5725fw8bwbx249bw57v5892c847dzf48bww9zb7c86xb95264fdz26654847b2c8"
        );
    }
}
