//! The one FNV family of the workspace (STYLE.md §2: a hash we own, never `std`'s
//! `DefaultHasher`, for anything that reaches output): Go-compatible 32-bit FNV-1 and FNV-1a
//! for revision names (CS-27, ASTS-21, ADS-8), 64-bit FNV-1a for derived ids and names
//! (CS-45, the simulator's names), and a [`Hasher`](std::hash::Hasher) for look-up maps.
//!
//! Every function hashes the concatenation of its chunks, so callers hash several fields
//! without building one buffer.

const OFFSET_32: u32 = 0x811c_9dc5;
const PRIME_32: u32 = 0x0100_0193;
const OFFSET_64: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME_64: u64 = 0x0000_0100_0000_01b3;

/// FNV-1 32-bit (multiply, then xor), as Go's `fnv.New32`.
pub fn fnv32(chunks: &[&[u8]]) -> u32 {
    let mut h = OFFSET_32;
    for &b in chunks.iter().flat_map(|c| c.iter()) {
        h = h.wrapping_mul(PRIME_32);
        h ^= u32::from(b);
    }
    h
}

/// FNV-1a 32-bit (xor, then multiply), as Go's `fnv.New32a`.
pub fn fnv32a(chunks: &[&[u8]]) -> u32 {
    let mut h = OFFSET_32;
    for &b in chunks.iter().flat_map(|c| c.iter()) {
        h ^= u32::from(b);
        h = h.wrapping_mul(PRIME_32);
    }
    h
}

/// FNV-1a 64-bit, as Go's `fnv.New64a`: our own hash for ids and names.
pub fn fnv1a64(chunks: &[&[u8]]) -> u64 {
    chunks.iter().fold(OFFSET_64, |h, c| fnv1a64_extend(h, c))
}

/// Continues an FNV-1a 64-bit hash `h` over `bytes`.
#[inline]
fn fnv1a64_extend(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(PRIME_64);
    }
    h
}

/// A [`Hasher`](std::hash::Hasher) for look-up-only maps whose keys are short byte strings
/// (FNV-1a 64) or already hashes (`u64` keys pass through unchanged). Deterministic; not
/// DoS-resistant, so only for maps that live for one computation. Use with
/// `HashMap<K, V, BuildHasherDefault<FnvHasher>>`.
#[derive(Clone, Copy, Debug)]
pub struct FnvHasher(u64);

impl Default for FnvHasher {
    fn default() -> Self {
        Self(OFFSET_64)
    }
}

impl std::hash::Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = fnv1a64_extend(self.0, bytes);
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

#[cfg(test)]
mod tests {
    use std::hash::Hasher;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn cs_27_fnv_matches_go_reference_values() {
        // Go: fnv.New32().Sum32() / fnv.New32a() / fnv.New64a() of "" and "a".
        assert_eq!(fnv32(&[b""]), 0x811c_9dc5);
        assert_eq!(fnv32(&[b"a"]), 0x050c_5d7e);
        assert_eq!(fnv32a(&[b"a"]), 0xe40c_292c);
        assert_eq!(fnv1a64(&[b""]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(&[b"a"]), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(&[b"foobar"]), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn hasher_passes_u64_keys_through_and_hashes_bytes_with_fnv1a64() {
        let mut h = FnvHasher::default();
        h.write_u64(42);
        assert_eq!(h.finish(), 42);
        let mut h = FnvHasher::default();
        h.write("nöde-1".as_bytes());
        assert_eq!(h.finish(), fnv1a64(&["nöde-1".as_bytes()]));
    }

    proptest! {
        /// Chunks hash as their concatenation, for each of the three functions.
        #[test]
        fn chunks_hash_as_their_concatenation(a in "\\PC{0,20}", b in "\\PC{0,20}") {
            let whole = format!("{a}{b}");
            let parts: [&[u8]; 2] = [a.as_bytes(), b.as_bytes()];
            prop_assert_eq!(fnv32(&parts), fnv32(&[whole.as_bytes()]));
            prop_assert_eq!(fnv32a(&parts), fnv32a(&[whole.as_bytes()]));
            prop_assert_eq!(fnv1a64(&parts), fnv1a64(&[whole.as_bytes()]));
        }
    }
}
