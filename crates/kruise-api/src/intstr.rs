//! The three IntOrString readers OpenKruise uses (CS-9). Which one a field uses changes
//! results, so each caller names the reader it needs.
//!
//! | reader | int | `"N%"` | `"12.5%"` | `"3"` | used for |
//! |---|---|---|---|---|---|
//! | [`scaled_kruise`] | as is | N % | 12.5 % | error | validation, partition |
//! | [`scaled_legacy`] | as is | N % | error | 3 % | maxSurge, maxUnavailable (controller) |
//! | [`scaled_strict`] | as is | N % | error | error | imagePreDownloadMinUpdatedReadyPods |

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// Why an IntOrString could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IntOrPercentError {
    /// The field is not set where a value is required.
    #[error("nil value for IntOrString")]
    Nil,
    /// A string without the `%` suffix where one is required.
    #[error("invalid type: string is not a percentage: {0:?}")]
    NotPercent(String),
    /// The text before `%` is not a number this reader accepts.
    #[error("invalid value for IntOrString: invalid value {0:?}")]
    BadNumber(String),
}

fn round(v: f64, round_up: bool) -> i32 {
    let r = if round_up { v.ceil() } else { v.floor() };
    // Saturate like a Go float->int conversion of an in-range value would; out-of-range values
    // come only from absurd inputs and are clamped rather than wrapped.
    r.clamp(i32::MIN as f64, i32::MAX as f64) as i32
}

/// Kruise's reader (`GetScaledValueFromIntOrPercent`): an int is taken as is; a string must end
/// in `%` and the number before it is read as a float, so `"12.5%"` is legal. The result is
/// `ceil` (or `floor`) of `v * total / 100`. `None` is an error.
pub fn scaled_kruise(v: Option<&IntOrString>, total: i32, round_up: bool) -> Result<i32, IntOrPercentError> {
    match v {
        None => Err(IntOrPercentError::Nil),
        Some(IntOrString::Int(i)) => Ok(*i),
        Some(IntOrString::String(s)) => {
            let Some(num) = s.strip_suffix('%') else {
                return Err(IntOrPercentError::NotPercent(s.clone()));
            };
            let f: f64 = num.parse().map_err(|_| IntOrPercentError::BadNumber(s.clone()))?;
            if !f.is_finite() {
                return Err(IntOrPercentError::BadNumber(s.clone()));
            }
            Ok(round(f * f64::from(total) / 100.0, round_up))
        }
    }
}

/// Kubernetes' deprecated reader (`intstr.GetValueFromIntOrPercent`): every `%` is removed and
/// the rest must be an integer, which is **always** a percentage (so `"3"` means 3 %).
/// OpenKruise's controller reads maxSurge and both maxUnavailable fields with it and treats an
/// error as 0 (see [`scaled_legacy_or_zero`]).
pub fn scaled_legacy(v: Option<&IntOrString>, total: i32, round_up: bool) -> Result<i32, IntOrPercentError> {
    match v {
        None => Err(IntOrPercentError::Nil),
        Some(IntOrString::Int(i)) => Ok(*i),
        Some(IntOrString::String(s)) => {
            let stripped: String = s.chars().filter(|&c| c != '%').collect();
            let n: i64 = parse_go_atoi(&stripped).ok_or_else(|| IntOrPercentError::BadNumber(s.clone()))?;
            Ok(round(n as f64 * f64::from(total) / 100.0, round_up))
        }
    }
}

/// [`scaled_legacy`] with errors read as 0, as the CloneSet controller does (CS-9, CS-36).
pub fn scaled_legacy_or_zero(v: Option<&IntOrString>, total: i32, round_up: bool) -> i32 {
    scaled_legacy(v, total, round_up).unwrap_or(0)
}

/// Kubernetes' strict reader (`intstr.GetScaledValueFromIntOrPercent`): a string must end in
/// `%` and the number before it must be an integer.
pub fn scaled_strict(v: Option<&IntOrString>, total: i32, round_up: bool) -> Result<i32, IntOrPercentError> {
    match v {
        None => Err(IntOrPercentError::Nil),
        Some(IntOrString::Int(i)) => Ok(*i),
        Some(IntOrString::String(s)) => {
            let Some(num) = s.strip_suffix('%') else {
                return Err(IntOrPercentError::NotPercent(s.clone()));
            };
            let n = parse_go_atoi(num).ok_or_else(|| IntOrPercentError::BadNumber(s.clone()))?;
            Ok(round(n as f64 * f64::from(total) / 100.0, round_up))
        }
    }
}

/// Go's `strconv.Atoi`: optional sign, decimal digits, fits in 64 bits.
fn parse_go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> IntOrString {
        IntOrString::String(v.to_owned())
    }

    #[test]
    fn cs_9_kruise_reader_accepts_float_percent() {
        assert_eq!(scaled_kruise(Some(&s("12.5%")), 10, true), Ok(2));
        assert_eq!(scaled_kruise(Some(&s("12.5%")), 10, false), Ok(1));
        assert_eq!(scaled_kruise(Some(&s("50%")), 1, true), Ok(1));
        assert_eq!(scaled_kruise(Some(&IntOrString::Int(7)), 5, true), Ok(7));
        assert!(matches!(scaled_kruise(Some(&s("3")), 10, true), Err(IntOrPercentError::NotPercent(_))));
        assert_eq!(scaled_kruise(None, 10, true), Err(IntOrPercentError::Nil));
    }

    #[test]
    fn cs_9_legacy_reader_reads_bare_numbers_as_percent() {
        assert_eq!(scaled_legacy(Some(&s("3")), 100, true), Ok(3));
        assert_eq!(scaled_legacy(Some(&s("20%")), 3, true), Ok(1));
        assert_eq!(scaled_legacy(Some(&s("20%")), 4, false), Ok(0));
        assert!(scaled_legacy(Some(&s("12.5%")), 10, true).is_err());
        assert_eq!(scaled_legacy_or_zero(Some(&s("garbage")), 10, true), 0);
    }

    #[test]
    fn cs_9_strict_reader_requires_suffix() {
        assert_eq!(scaled_strict(Some(&s("50%")), 3, true), Ok(2));
        assert!(scaled_strict(Some(&s("5")), 3, true).is_err());
        assert!(scaled_strict(Some(&s("5.5%")), 3, true).is_err());
    }
}
