//! Kubernetes' canonical form of a resource quantity, as Go writes a `resource.Quantity` in
//! JSON: `1000m` → `1`, `0.5` → `500m`, `1024Mi` → `1Gi`, `1.5Gi` → `1536Mi`, `1e3` → `1e3`.
//! Needed so the SidecarSet hash (SCS-6) and the workload template defaults (CS-12, hence the
//! revision hashes) match upstream whatever spelling a user chose.

/// How a quantity was written, which decides how it is written back.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    DecimalSi,
    BinarySi,
    DecimalExponent,
}

const NANO: i128 = 1_000_000_000;

/// The value of quantity `s` in billionths of its unit (`"1"` → 10^9, `"100m"` → 10^8,
/// `"1Ki"` → 1024·10^9), or `None` when `s` is not a quantity (or is beyond the range handled
/// here). Used to compare requests with allocatable resources (BJ-15).
pub fn nanos(s: &str) -> Option<i128> {
    parse_nanos(s).map(|(n, _)| n)
}

/// The canonical text of `s`, or `None` when `s` is not a quantity Kubernetes would parse
/// (or is beyond the range handled here); callers then keep `s` as written.
pub fn canonical(s: &str) -> Option<String> {
    let (nanos, format) = parse_nanos(s)?;
    if nanos == 0 {
        return Some("0".to_owned());
    }
    let format = match format {
        Format::BinarySi if nanos.abs() < 1024 * NANO || nanos % NANO != 0 => Format::DecimalSi,
        f => f,
    };
    if format == Format::BinarySi {
        const SUFFIX: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
        let (mut n, mut k) = (nanos / NANO, 0);
        while k < 6 && n % 1024 == 0 {
            n /= 1024;
            k += 1;
        }
        return Some(format!("{n}{}", SUFFIX[k]));
    }
    let (mut n, mut exp) = (nanos, -9i32);
    while n % 1000 == 0 && (format == Format::DecimalExponent || exp < 18) {
        n /= 1000;
        exp += 3;
    }
    let suffix = match format {
        Format::DecimalExponent if exp == 0 => String::new(),
        Format::DecimalExponent => format!("e{exp}"),
        _ => match exp {
            -9 => "n",
            -6 => "u",
            -3 => "m",
            0 => "",
            3 => "k",
            6 => "M",
            9 => "G",
            12 => "T",
            15 => "P",
            _ => "E",
        }
        .to_owned(),
    };
    Some(format!("{n}{suffix}"))
}

/// The value in nano-units, rounded away from zero as Kubernetes rounds extra precision, and
/// the format of the suffix.
fn parse_nanos(s: &str) -> Option<(i128, Format)> {
    let (neg, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    let (num, suffix) = rest.split_at(num_end);
    let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let (exp10, exp2, format) = match suffix {
        "" => (0, 0, Format::DecimalSi),
        "n" => (-9, 0, Format::DecimalSi),
        "u" => (-6, 0, Format::DecimalSi),
        "m" => (-3, 0, Format::DecimalSi),
        "k" => (3, 0, Format::DecimalSi),
        "M" => (6, 0, Format::DecimalSi),
        "G" => (9, 0, Format::DecimalSi),
        "T" => (12, 0, Format::DecimalSi),
        "P" => (15, 0, Format::DecimalSi),
        "E" => (18, 0, Format::DecimalSi),
        "Ki" => (0, 10, Format::BinarySi),
        "Mi" => (0, 20, Format::BinarySi),
        "Gi" => (0, 30, Format::BinarySi),
        "Ti" => (0, 40, Format::BinarySi),
        "Pi" => (0, 50, Format::BinarySi),
        "Ei" => (0, 60, Format::BinarySi),
        e => {
            let digits = e.strip_prefix(['e', 'E'])?;
            let body = digits.strip_prefix(['+', '-']).unwrap_or(digits);
            if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (digits.parse::<i32>().ok()?, 0, Format::DecimalExponent)
        }
    };
    // mantissa × 10^(exp10 − len(frac)) × 2^exp2, in nano-units.
    let digits: String = format!("{int_part}{frac_part}");
    if digits.len() > 30 {
        return None;
    }
    let mantissa: i128 = if digits.is_empty() { 0 } else { digits.parse().ok()? };
    let scale = exp10 - i32::try_from(frac_part.len()).ok()? + 9;
    let mut value = mantissa.checked_mul(1i128.checked_shl(exp2)?)?;
    if scale >= 0 {
        value = value.checked_mul(10i128.checked_pow(u32::try_from(scale).ok()?)?)?;
    } else {
        let div = 10i128.checked_pow(u32::try_from(-scale).ok()?)?;
        value = value / div + i128::from(value % div != 0);
    }
    Some((if neg { -value } else { value }, format))
}

#[cfg(test)]
mod tests {
    use super::{canonical, nanos};

    #[test]
    fn bj_15_quantity_values_compare_across_spellings() {
        assert_eq!(nanos("1"), Some(1_000_000_000));
        assert_eq!(nanos("1000m"), nanos("1"));
        assert_eq!(nanos("100m"), Some(100_000_000));
        assert_eq!(nanos("1Ki"), Some(1024 * 1_000_000_000));
        assert!(nanos("1Gi") > nanos("1G"));
        assert_eq!(nanos("lots"), None);
        assert_eq!(nanos(""), None);
    }

    #[test]
    fn scs_6_quantities_are_written_in_canonical_form() {
        for (given, want) in [
            ("1", "1"),
            ("1000m", "1"),
            ("1500m", "1500m"),
            ("0.5", "500m"),
            ("100m", "100m"),
            ("0", "0"),
            ("0Mi", "0"),
            ("12000", "12k"),
            ("1024Mi", "1Gi"),
            ("1.5Gi", "1536Mi"),
            ("128Mi", "128Mi"),
            ("1000Ki", "1000Ki"),
            ("512", "512"),
            ("100Ki", "100Ki"),
            ("0.5Ki", "512"),
            ("1e3", "1e3"),
            ("1000e0", "1e3"),
            ("1E6", "1e6"),
            ("2G", "2G"),
            ("2000M", "2G"),
            ("0.0000000001", "1n"),
            ("-1500m", "-1500m"),
        ] {
            assert_eq!(canonical(given).as_deref(), Some(want), "{given}");
        }
        for bad in ["", "abc", "1.2.3", "5x", "m", "1e", "1Ki2"] {
            assert_eq!(canonical(bad), None, "{bad}");
        }
    }
}
