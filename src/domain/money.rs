//! Amounts as Stripe keeps them: integer minor units of a lower-case ISO currency, with as
//! many decimals as Stripe's currency table gives the currency.

/// Stripe's zero-decimal currencies: an amount is a count of whole units ("500" JPY is 500).
pub const ZERO_DECIMAL: [&str; 16] = [
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
];

/// Stripe's three-decimal currencies: an amount is in thousandths ("1.500" KWD is 1500).
pub const THREE_DECIMAL: [&str; 5] = ["bhd", "jod", "kwd", "omr", "tnd"];

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

/// How many decimals an amount in `currency` has in Stripe's API: 0, 2 or 3.
pub fn decimals(currency: &str) -> u32 {
    let code = currency.to_ascii_lowercase();
    if ZERO_DECIMAL.contains(&code.as_str()) {
        0
    } else if THREE_DECIMAL.contains(&code.as_str()) {
        3
    } else {
        2
    }
}

/// Minor units in one unit of `currency`: 1, 100 or 1,000.
fn factor(currency: &str) -> i64 {
    10_i64.pow(decimals(currency))
}

/// Why a typed amount was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmountError {
    /// Nothing was typed.
    Empty,
    /// Not digits written as an amount is.
    NotAnAmount,
    /// Zero or less.
    NotPositive,
    /// More decimals than the currency has.
    TooManyDecimals,
    /// Two readings make sense ("1,500" KWD: fifteen hundred, or one and a half); the two amounts.
    Ambiguous(i64, i64),
    /// More than an amount can hold.
    TooLarge,
}

impl AmountError {
    /// What is wrong with the amount, as the end of a sentence naming the field
    /// ("The target: {reason}.").
    pub fn reason(&self, currency: &str) -> String {
        let code = currency.to_uppercase();
        let example = format_plain(10 * factor(currency).max(100), currency);
        match self {
            AmountError::Empty => format!("enter an amount, such as {example}"),
            AmountError::NotAnAmount => {
                format!("write the amount in digits, such as {example}")
            }
            AmountError::NotPositive => {
                format!("enter an amount greater than zero, such as {example}")
            }
            AmountError::TooManyDecimals => match decimals(currency) {
                0 => format!("{code} has no decimals: enter a whole amount, such as {example}"),
                n => format!("{code} has at most {n} decimals, such as {example}"),
            },
            AmountError::Ambiguous(a, b) => format!(
                "it could mean {} or {}: write {} or {}",
                format_amount(*a, currency),
                format_amount(*b, currency),
                format_plain(*a, currency),
                format_plain(*b, currency)
            ),
            AmountError::TooLarge => format!("{code} amounts cannot be that large"),
        }
    }
}

/// Marks that can only group thousands: spaces (plain, no-break, narrow no-break) and
/// apostrophes (as in 1'250.00).
fn groups_only(c: char) -> bool {
    matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\'' | '’')
}

/// The amount `text` means if `decimal` (or none) is its decimal separator and every other
/// separator groups thousands.
fn read_as(text: &str, decimal: Option<char>, currency: &str) -> Result<i64, AmountError> {
    let (whole, fraction) = match decimal {
        Some(d) => match text.rsplit_once(d) {
            Some((whole, fraction)) if !whole.contains(d) => (whole, fraction),
            _ => return Err(AmountError::NotAnAmount),
        },
        None => (text, ""),
    };
    if !fraction.chars().all(|c| c.is_ascii_digit()) || whole.is_empty() && fraction.is_empty() {
        return Err(AmountError::NotAnAmount);
    }
    // The whole part: digits, in groups of three after the first when marks separate them,
    // all marks alike.
    let marks: Vec<char> = whole.chars().filter(|c| !c.is_ascii_digit()).collect();
    if marks.windows(2).any(|w| w[0] != w[1])
        || marks
            .first()
            .is_some_and(|&m| !(groups_only(m) || m == '.' || m == ','))
    {
        return Err(AmountError::NotAnAmount);
    }
    let mut groups = whole.split(|c: char| !c.is_ascii_digit());
    let first = groups.next().unwrap_or_default();
    if !marks.is_empty() && !(1..=3).contains(&first.len()) || groups.any(|g| g.len() != 3) {
        return Err(AmountError::NotAnAmount);
    }
    let places = decimals(currency) as usize;
    if fraction.len() > places {
        return Err(AmountError::TooManyDecimals);
    }
    let digits: String = whole.chars().filter(char::is_ascii_digit).collect();
    let whole: i64 = match digits.trim_start_matches('0') {
        "" => 0,
        d if d.len() > 18 => return Err(AmountError::TooLarge),
        d => d.parse().map_err(|_| AmountError::TooLarge)?,
    };
    let fraction: i64 = format!("{fraction:0<places$}").parse().unwrap_or(0);
    whole
        .checked_mul(factor(currency))
        .and_then(|w| w.checked_add(fraction))
        .ok_or(AmountError::TooLarge)
}

/// Reads an amount typed in a form, in the currency's minor units: "20.00" USD → 2000,
/// "1,50" EUR → 150, "1.234,56" → 123456, "1 234,56" → 123456, "500" JPY → 500, "1.500"
/// KWD → 1500. A comma or a dot is a decimal separator or groups thousands, whichever makes
/// sense for the currency; one dot is the decimal point (as Refloop writes amounts) except in a
/// currency without decimals; when two readings remain ("1,500" KWD) the amount is refused,
/// never guessed.
pub fn parse_amount(text: &str, currency: &str) -> Result<i64, AmountError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AmountError::Empty);
    }
    if let Some(rest) = text.strip_prefix('-') {
        return match parse_amount(rest, currency) {
            Ok(_) | Err(AmountError::NotPositive) => Err(AmountError::NotPositive),
            Err(e) => Err(e),
        };
    }
    let readings = match read_as(text, Some('.'), currency) {
        Ok(minor) => vec![Ok(minor)],
        // "20.001" USD: a slip, or twenty thousand and one? Only where a dot cannot be a
        // decimal point at all ("1.500" JPY) is it read as grouping thousands.
        Err(AmountError::TooManyDecimals) if decimals(currency) > 0 => {
            return Err(AmountError::TooManyDecimals)
        }
        with_dot => vec![
            with_dot,
            read_as(text, Some(','), currency),
            read_as(text, None, currency),
        ],
    };
    let mut amounts: Vec<i64> = readings.iter().filter_map(|r| r.clone().ok()).collect();
    amounts.dedup();
    let minor = match amounts.as_slice() {
        [minor] => *minor,
        [a, b] => return Err(AmountError::Ambiguous((*a).max(*b), (*a).min(*b))),
        _ => {
            // Nothing made sense: the most telling reason.
            let refused = |e: AmountError| readings.contains(&Err(e.clone())).then_some(e);
            return Err(refused(AmountError::TooLarge)
                .or_else(|| refused(AmountError::TooManyDecimals))
                .unwrap_or(AmountError::NotAnAmount));
        }
    };
    if minor > 0 {
        Ok(minor)
    } else {
        Err(AmountError::NotPositive)
    }
}

/// 2000 usd → "20.00 USD"; 500 jpy → "500 JPY"; 1500 kwd → "1.500 KWD".
pub fn format_amount(minor: i64, currency: &str) -> String {
    format!(
        "{} {}",
        format_plain(minor, currency),
        currency.to_uppercase()
    )
}

/// 2000 usd → "20.00": the amount as typed in a form, without the currency.
pub fn format_plain(minor: i64, currency: &str) -> String {
    let places = decimals(currency) as usize;
    if places == 0 {
        return minor.to_string();
    }
    let sign = if minor < 0 { "-" } else { "" };
    let (m, f) = (minor.unsigned_abs(), factor(currency).unsigned_abs());
    format!("{sign}{}.{:0places$}", m / f, m % f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
        for code in ZERO_DECIMAL.iter().chain(&THREE_DECIMAL) {
            assert!(
                CURRENCIES.contains(code),
                "{code} is a currency Stripe charges in"
            );
        }
    }

    #[test]
    fn each_currency_has_stripe_s_decimals() {
        assert_eq!(decimals("usd"), 2);
        assert_eq!(decimals("EUR"), 2);
        assert_eq!(decimals("jpy"), 0);
        assert_eq!(decimals("xpf"), 0);
        assert_eq!(decimals("ugx"), 0);
        assert_eq!(decimals("kwd"), 3);
        assert_eq!(decimals("TND"), 3);
        assert_eq!(CURRENCIES.iter().filter(|c| decimals(c) == 0).count(), 16);
        assert_eq!(CURRENCIES.iter().filter(|c| decimals(c) == 3).count(), 5);
    }

    #[test]
    fn amounts_are_read_in_the_currency_s_units() {
        assert_eq!(parse_amount("20.00", "usd"), Ok(2000));
        assert_eq!(parse_amount("20.5", "eur"), Ok(2050));
        assert_eq!(parse_amount(".5", "eur"), Ok(50));
        assert_eq!(parse_amount("500", "jpy"), Ok(500));
        assert_eq!(parse_amount("500", "xpf"), Ok(500));
        assert_eq!(parse_amount("1.5", "kwd"), Ok(1500));
        assert_eq!(parse_amount("1.500", "kwd"), Ok(1500));
        assert_eq!(parse_amount("0.125", "bhd"), Ok(125));
    }

    #[test]
    fn a_comma_is_a_decimal_separator_or_groups_thousands_as_the_amount_shows() {
        assert_eq!(parse_amount("1,50", "eur"), Ok(150));
        assert_eq!(parse_amount("1,5", "eur"), Ok(150));
        assert_eq!(parse_amount("1,250", "usd"), Ok(125_000));
        assert_eq!(parse_amount("1,250.75", "usd"), Ok(125_075));
        assert_eq!(parse_amount("1.250,75", "eur"), Ok(125_075));
        assert_eq!(parse_amount("1 250,75", "eur"), Ok(125_075));
        assert_eq!(parse_amount("1\u{202f}250,75", "eur"), Ok(125_075));
        assert_eq!(parse_amount("1'250.75", "chf"), Ok(125_075));
        assert_eq!(parse_amount("1.234.567", "jpy"), Ok(1_234_567));
        assert_eq!(parse_amount("1,234,567", "krw"), Ok(1_234_567));
        assert_eq!(parse_amount("1.500", "jpy"), Ok(1500));
        assert_eq!(parse_amount("1.234.567", "usd"), Ok(123_456_700));
        assert_eq!(parse_amount("1 500,250", "kwd"), Ok(1_500_250));
    }

    #[test]
    fn an_amount_that_reads_two_ways_or_none_is_refused_with_its_reason() {
        assert_eq!(
            parse_amount("1,500", "kwd"),
            Err(AmountError::Ambiguous(1_500_000, 1_500))
        );
        assert_eq!(
            parse_amount("5.5", "jpy"),
            Err(AmountError::TooManyDecimals)
        );
        assert_eq!(
            parse_amount("20.001", "usd"),
            Err(AmountError::TooManyDecimals)
        );
        assert_eq!(
            parse_amount("1.500", "usd"),
            Err(AmountError::TooManyDecimals)
        );
        assert_eq!(parse_amount("0", "usd"), Err(AmountError::NotPositive));
        assert_eq!(parse_amount("-3", "usd"), Err(AmountError::NotPositive));
        assert_eq!(parse_amount("  ", "usd"), Err(AmountError::Empty));
        assert_eq!(parse_amount("ten", "usd"), Err(AmountError::NotAnAmount));
        assert_eq!(parse_amount("1,2,3", "usd"), Err(AmountError::NotAnAmount));
        assert_eq!(
            parse_amount("12,34.5", "usd"),
            Err(AmountError::NotAnAmount)
        );
        assert_eq!(parse_amount("1.2,3", "usd"), Err(AmountError::NotAnAmount));
        assert_eq!(parse_amount("1 2", "usd"), Err(AmountError::NotAnAmount));
        assert_eq!(parse_amount("$20", "usd"), Err(AmountError::NotAnAmount));
        assert_eq!(
            parse_amount("99999999999999999999", "usd"),
            Err(AmountError::TooLarge)
        );
        assert_eq!(
            AmountError::Ambiguous(1_500_000, 1_500).reason("kwd"),
            "it could mean 1500.000 KWD or 1.500 KWD: write 1500.000 or 1.500"
        );
        assert_eq!(
            AmountError::TooManyDecimals.reason("jpy"),
            "JPY has no decimals: enter a whole amount, such as 1000"
        );
        assert_eq!(
            AmountError::TooManyDecimals.reason("usd"),
            "USD has at most 2 decimals, such as 10.00"
        );
    }

    #[test]
    fn amounts_are_written_in_the_currency_s_units() {
        assert_eq!(format_amount(2000, "usd"), "20.00 USD");
        assert_eq!(format_amount(-150, "eur"), "-1.50 EUR");
        assert_eq!(format_amount(-5, "eur"), "-0.05 EUR");
        assert_eq!(format_amount(500, "jpy"), "500 JPY");
        assert_eq!(format_amount(500, "xpf"), "500 XPF");
        assert_eq!(format_amount(1500, "kwd"), "1.500 KWD");
        assert_eq!(format_amount(7, "omr"), "0.007 OMR");
        assert_eq!(format_plain(2050, "usd"), "20.50");
    }

    /// An amount as a person writes it with `group` between thousands (when `grouped`) and
    /// `point` before the decimals.
    fn written(minor: i64, currency: &str, group: &str, point: &str, grouped: bool) -> String {
        let plain = format_plain(minor, currency);
        let (whole, fraction) = plain.split_once('.').unwrap_or((&plain, ""));
        let mut out = String::new();
        for (i, c) in whole.chars().enumerate() {
            if grouped && i > 0 && (whole.len() - i) % 3 == 0 {
                out.push_str(group);
            }
            out.push(c);
        }
        if !fraction.is_empty() {
            out.push_str(point);
            out.push_str(fraction);
        }
        out
    }

    proptest! {
        /// Every amount of every currency, as Refloop writes it, reads back as itself.
        #[test]
        fn what_refloop_writes_reads_back(minor in 1_i64..10_000_000_000, i in 0..CURRENCIES.len()) {
            let currency = CURRENCIES[i];
            prop_assert_eq!(parse_amount(&format_plain(minor, currency), currency), Ok(minor));
            let shown = format_amount(minor, currency);
            prop_assert!(shown.ends_with(&currency.to_uppercase()));
        }

        /// As people write amounts in English, German, French or Swiss style, grouped or not,
        /// each reads as itself or is refused as ambiguous: never as another amount.
        #[test]
        fn no_locale_s_amount_is_misread(
            minor in 1_i64..10_000_000_000,
            i in 0..CURRENCIES.len(),
            style in 0..4_usize,
            grouped in any::<bool>(),
        ) {
            let currency = CURRENCIES[i];
            let (group, point) = [(",", "."), (".", ","), ("\u{202f}", ","), ("'", ".")][style];
            let text = written(minor, currency, group, point, grouped);
            match parse_amount(&text, currency) {
                Ok(read) => prop_assert_eq!(read, minor, "{} read as {}", text, read),
                Err(AmountError::Ambiguous(a, b)) => {
                    prop_assert!(a == minor || b == minor, "{} refused as {} or {}", text, a, b)
                }
                Err(e) => prop_assert!(false, "{} refused: {:?}", text, e),
            }
        }
    }
}
