//! Stripe's search query language, for customers: `field:'value'` (exact), `field~'value'`
//! (substring, for name and email), `created>1700000000` (and `<`, `>=`, `<=`, `:`),
//! `metadata['key']:'value'`, `-` to negate, up to 10 clauses joined by spaces or `AND`, or
//! by `OR` (not both, no parentheses).

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Field {
    Email,
    Name,
    Phone,
    Created,
    Metadata(String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Contains,
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Debug, Clone, PartialEq)]
struct Clause {
    negated: bool,
    field: Field,
    op: Op,
    value: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    any: bool,
    clauses: Vec<Clause>,
}

impl Query {
    pub fn parse(text: &str) -> Result<Query, String> {
        let tokens = tokenize(text)?;
        let mut clauses = Vec::new();
        let mut joiner: Option<bool> = None;
        let mut expect_clause = true;
        for token in tokens {
            match token.as_str() {
                "AND" | "OR" if !expect_clause => {
                    let any = token == "OR";
                    if joiner.is_some_and(|j| j != any) {
                        return Err("Search queries cannot mix AND and OR.".into());
                    }
                    joiner = Some(any);
                    expect_clause = true;
                }
                _ => {
                    if !expect_clause && joiner == Some(true) {
                        return Err("Search queries cannot mix AND and OR.".into());
                    }
                    clauses.push(parse_clause(&token)?);
                    expect_clause = false;
                }
            }
        }
        if clauses.is_empty() || expect_clause && !clauses.is_empty() && joiner.is_some() {
            return Err(format!("Invalid search query: `{text}`."));
        }
        if clauses.len() > 10 {
            return Err("Search queries may have at most 10 clauses.".into());
        }
        Ok(Query {
            any: joiner == Some(true),
            clauses,
        })
    }

    pub fn matches(&self, customer: &Value) -> bool {
        let mut results = self.clauses.iter().map(|c| c.matches(customer));
        if self.any {
            results.any(|m| m)
        } else {
            results.all(|m| m)
        }
    }
}

impl Clause {
    fn matches(&self, c: &Value) -> bool {
        let field = match &self.field {
            Field::Email => c["email"].as_str().map(str::to_string),
            Field::Name => c["name"].as_str().map(str::to_string),
            Field::Phone => c["phone"].as_str().map(str::to_string),
            Field::Created => c["created"].as_i64().map(|n| n.to_string()),
            Field::Metadata(k) => c["metadata"][k].as_str().map(str::to_string),
        };
        let hit = match (self.op, field) {
            (_, None) => self.value.is_empty() && self.op == Op::Eq,
            (Op::Eq, Some(v)) => {
                if matches!(self.field, Field::Email) {
                    v.eq_ignore_ascii_case(&self.value)
                } else {
                    v == self.value
                }
            }
            (Op::Contains, Some(v)) => v.to_lowercase().contains(&self.value.to_lowercase()),
            (op, Some(v)) => match (v.parse::<i64>(), self.value.parse::<i64>()) {
                (Ok(a), Ok(b)) => match op {
                    Op::Gt => a > b,
                    Op::Gte => a >= b,
                    Op::Lt => a < b,
                    _ => a <= b,
                },
                _ => false,
            },
        };
        hit != self.negated
    }
}

/// Splits on spaces outside quotes.
fn tokenize(text: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        match (quote, ch) {
            (Some(q), '\\') => {
                if let Some(next) = chars.next() {
                    current.push('\\');
                    current.push(next);
                }
                let _ = q;
            }
            (Some(q), c) if c == q => {
                quote = None;
                current.push(c);
            }
            (None, '\'' | '"') => {
                quote = Some(ch);
                current.push(ch);
            }
            (None, c) if c.is_whitespace() => {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
            }
            (_, c) => current.push(c),
        }
    }
    if quote.is_some() {
        return Err(format!(
            "Invalid search query: unterminated quote in `{text}`."
        ));
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    Ok(tokens)
}

fn parse_clause(token: &str) -> Result<Clause, String> {
    let invalid = || {
        format!(
            "Invalid search clause `{token}`: use field:'value', e.g. email:'jane@example.com'."
        )
    };
    let (negated, rest) = match token.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, token),
    };
    let (field, rest) = if let Some(r) = rest.strip_prefix("metadata[") {
        let close = r.find(']').ok_or_else(invalid)?;
        let key = unquote(&r[..close]).ok_or_else(invalid)?;
        (Field::Metadata(key), &r[close + 1..])
    } else {
        let end = rest
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .ok_or_else(invalid)?;
        let field = match &rest[..end] {
            "email" => Field::Email,
            "name" => Field::Name,
            "phone" => Field::Phone,
            "created" => Field::Created,
            other => return Err(format!("Field `{other}` is not supported in customer search: use email, name, phone, created or metadata['key'].")),
        };
        (field, &rest[end..])
    };
    let (op, value) = [
        (">=", Op::Gte),
        ("<=", Op::Lte),
        (">", Op::Gt),
        ("<", Op::Lt),
        (":", Op::Eq),
        ("~", Op::Contains),
    ]
    .into_iter()
    .find_map(|(sym, op)| rest.strip_prefix(sym).map(|v| (op, v)))
    .ok_or_else(invalid)?;
    let value = if matches!(op, Op::Gt | Op::Gte | Op::Lt | Op::Lte)
        || (field == Field::Created && op == Op::Eq)
    {
        value.parse::<i64>().map_err(|_| invalid())?.to_string()
    } else {
        unquote(value).ok_or_else(invalid)?
    };
    if op == Op::Contains && !matches!(field, Field::Email | Field::Name) {
        return Err("Substring search (~) works only on name and email.".into());
    }
    Ok(Clause {
        negated,
        field,
        op,
        value,
    })
}

fn unquote(s: &str) -> Option<String> {
    let q = s.chars().next()?;
    if !(q == '\'' || q == '"') || s.len() < 2 || !s.ends_with(q) {
        return None;
    }
    Some(s[1..s.len() - 1].replace(&format!("\\{q}"), &q.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jane() -> Value {
        json!({"email": "jane@example.com", "name": "Jane Doe", "phone": "+15551234", "created": 1_700_000_000,
               "metadata": {"referral_code": "JANE1", "campaign": "spring"}})
    }

    #[test]
    fn clauses_match_like_stripe() {
        let j = jane();
        for (q, expected) in [
            ("email:'jane@example.com'", true),
            ("email:'JANE@example.com'", true),
            ("email:'other@example.com'", false),
            ("name~'doe'", true),
            ("-name~'doe'", false),
            ("metadata['referral_code']:'JANE1'", true),
            ("metadata[\"campaign\"]:'autumn'", false),
            ("created>1699999999", true),
            ("created<=1699999999", false),
            ("email~'example' AND metadata['campaign']:'spring'", true),
            ("email~'example' metadata['campaign']:'autumn'", false),
            ("email:'x@y.z' OR phone:'+15551234'", true),
        ] {
            assert_eq!(Query::parse(q).unwrap().matches(&j), expected, "{q}");
        }
    }

    #[test]
    fn bad_queries_say_what_is_wrong() {
        assert!(Query::parse("email:'a' AND name:'b' OR phone:'c'")
            .unwrap_err()
            .contains("mix AND and OR"));
        assert!(Query::parse("colour:'red'")
            .unwrap_err()
            .contains("not supported"));
        assert!(Query::parse("email:'unterminated")
            .unwrap_err()
            .contains("unterminated"));
        assert!(Query::parse("phone~'555'")
            .unwrap_err()
            .contains("Substring"));
        assert!(Query::parse("created>soon").is_err());
        assert!(Query::parse("").is_err());
        let eleven = ["name:'a'"; 11].join(" ");
        assert!(Query::parse(&eleven).unwrap_err().contains("at most 10"));
    }
}
