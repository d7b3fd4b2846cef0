//! Amounts as Stripe keeps them: integer minor units of a lower-case ISO currency.

/// Currencies without minor units.
pub const ZERO_DECIMAL: [&str; 8] = ["jpy", "krw", "vnd", "clp", "pyg", "ugx", "xaf", "xof"];

/// The currencies Stripe charges in (ISO 4217, lower case).
pub const CURRENCIES: [&str; 139] = [
    "aed", "afn", "all", "amd", "ang", "aoa", "ars", "aud", "awg", "azn", "bam", "bbd", "bdt",
    "bgn", "bhd", "bif", "bmd", "bnd", "bob", "brl", "bsd", "bwp", "byn", "bzd", "cad", "cdf",
    "chf", "clp", "cny", "cop", "crc", "cve", "czk", "djf", "dkk", "dop", "dzd", "egp", "etb",
    "eur", "fjd", "fkp", "gbp", "gel", "gip", "gmd", "gnf", "gtq", "gyd", "hkd", "hnl", "htg",
    "huf", "idr", "ils", "inr", "isk", "jmd", "jod", "jpy", "kes", "kgs", "khr", "kmf", "krw",
    "kwd", "kyd", "kzt", "lak", "lbp", "lkr", "lrd", "lsl", "mad", "mdl", "mga", "mkd", "mmk",
    "mnt", "mop", "mur", "mvr", "mwk", "mxn", "myr", "mzn", "nad", "ngn", "nio", "nok", "npr",
    "nzd", "omr", "pab", "pen", "pgk", "php", "pkr", "pln", "pyg", "qar", "ron", "rsd", "rub",
    "rwf", "sar", "sbd", "scr", "sek", "sgd", "shp", "sle", "sos", "srd", "std", "szl", "thb",
    "tjs", "tnd", "top", "try", "ttd", "twd", "tzs", "uah", "ugx", "usd", "uyu", "uzs", "vnd",
    "vuv", "wst", "xaf", "xcd", "xof", "xpf", "yer", "zar", "zmw",
];

/// The currency named by `code` (any case, surrounding spaces ignored), in lower case, if
/// Stripe charges in it.
pub fn known_currency(code: &str) -> Option<String> {
    let code = code.trim().to_ascii_lowercase();
    CURRENCIES.contains(&code.as_str()).then_some(code)
}

fn factor(currency: &str) -> i64 {
    if ZERO_DECIMAL.contains(&currency.to_lowercase().as_str()) {
        1
    } else {
        100
    }
}

/// "20.00" usd → 2000; "500" jpy → 500. `None` unless a positive amount with at most the
/// currency's decimals.
pub fn parse_amount(text: &str, currency: &str) -> Option<i64> {
    let text = text.trim().replace(',', "");
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let decimals = if factor(currency) == 1 { 0 } else { 2 };
    if whole.is_empty() && fraction.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !fraction.chars().all(|c| c.is_ascii_digit())
        || fraction.len() > decimals
    {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let fraction: i64 = format!("{fraction:0<decimals$}").parse().unwrap_or(0);
    let minor = whole.checked_mul(factor(currency))?.checked_add(fraction)?;
    (minor > 0).then_some(minor)
}

/// 2000 usd → "20.00 USD"; 500 jpy → "500 JPY".
pub fn format_amount(minor: i64, currency: &str) -> String {
    let code = currency.to_uppercase();
    if factor(currency) == 1 {
        return format!("{minor} {code}");
    }
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.abs();
    format!("{sign}{}.{:02} {code}", m / 100, m % 100)
}

/// 2000 usd → "20.00": the amount as typed in a form, without the currency.
pub fn format_plain(minor: i64, currency: &str) -> String {
    let text = format_amount(minor, currency);
    text.split(' ').next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_currencies_are_accepted() {
        assert_eq!(known_currency(" USD "), Some("usd".into()));
        assert_eq!(known_currency("jpy"), Some("jpy".into()));
        assert_eq!(known_currency("xyz"), None);
        assert_eq!(known_currency("usd\"><img src=x onerror=alert(1)>"), None);
        assert!(
            CURRENCIES.windows(2).all(|w| w[0] < w[1]),
            "sorted, no repeats"
        );
    }

    #[test]
    fn amounts_are_read_and_written_in_the_currency_s_units() {
        assert_eq!(parse_amount("20.00", "usd"), Some(2000));
        assert_eq!(parse_amount("20.5", "eur"), Some(2050));
        assert_eq!(parse_amount("1,250", "usd"), Some(125_000));
        assert_eq!(parse_amount("500", "jpy"), Some(500));
        assert_eq!(parse_amount("5.5", "jpy"), None);
        assert_eq!(parse_amount("20.001", "usd"), None);
        assert_eq!(parse_amount("0", "usd"), None);
        assert_eq!(parse_amount("-3", "usd"), None);
        assert_eq!(parse_amount("ten", "usd"), None);
        assert_eq!(format_amount(2000, "usd"), "20.00 USD");
        assert_eq!(format_amount(-150, "eur"), "-1.50 EUR");
        assert_eq!(format_amount(500, "jpy"), "500 JPY");
        assert_eq!(format_plain(2050, "usd"), "20.50");
    }
}
