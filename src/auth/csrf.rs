//! Cross-site request forgery protection: a state-changing request from a browser must come
//! from a page of this same origin. Browsers say where a request comes from in `Sec-Fetch-Site`
//! (or, older ones, `Origin`); a request with neither is not from a browser and carries no
//! ambient cookies an attacker could borrow.

use axum::{
    extract::Request,
    http::{header, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// Paths other systems post to (Stripe's webhooks, the Stripe sandbox's API, a mail client's
/// one-click unsubscribe, the developer API): they carry their own authentication and no
/// session cookie.
const EXEMPT_PREFIXES: [&str; 4] = [
    "/webhooks/",
    "/sandbox/stripe/v1/",
    "/unsubscribe/",
    "/api/v1/",
];

pub async fn same_origin_only(req: Request, next: Next) -> Response {
    if allowed(&req) {
        next.run(req).await
    } else {
        (
            StatusCode::FORBIDDEN,
            "Refused: this request came from another site. Open Refloop itself and try again.",
        )
            .into_response()
    }
}

fn allowed(req: &Request) -> bool {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || EXEMPT_PREFIXES
            .iter()
            .any(|p| req.uri().path().starts_with(p))
    {
        return true;
    }
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(origin) => {
            let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
            let authority = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            host.is_some() && authority == host
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn post(path: &str, headers: &[(&str, &str)]) -> Request {
        let mut b = Request::post(path).header(header::HOST, "refloop.example");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).unwrap()
    }

    #[test]
    fn same_origin_posts_pass_and_cross_site_ones_do_not() {
        assert!(allowed(&post(
            "/api/x",
            &[("sec-fetch-site", "same-origin")]
        )));
        assert!(!allowed(&post(
            "/api/x",
            &[("sec-fetch-site", "cross-site")]
        )));
        assert!(!allowed(&post(
            "/api/x",
            &[("sec-fetch-site", "same-site")]
        )));
        assert!(allowed(&post(
            "/api/x",
            &[("origin", "https://refloop.example")]
        )));
        assert!(!allowed(&post(
            "/api/x",
            &[("origin", "https://evil.example")]
        )));
        assert!(!allowed(&post("/api/x", &[("origin", "null")])));
        // Not a browser: nothing ambient to forge.
        assert!(allowed(&post("/api/x", &[])));
    }

    #[test]
    fn reads_and_webhooks_are_not_checked() {
        let get = Request::get("/")
            .header("sec-fetch-site", "cross-site")
            .body(Body::empty())
            .unwrap();
        assert!(allowed(&get));
        assert!(allowed(&post(
            "/webhooks/stripe/abc",
            &[("sec-fetch-site", "cross-site")]
        )));
    }
}
