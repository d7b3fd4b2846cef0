//! The developer API's reference as the app shows it (Integrations → API reference): drawn on
//! the server from the OpenAPI document, so the page and the document say the same.

use serde::{Deserialize, Serialize};

/// The whole reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiReference {
    /// Where the API is: `{public_url}/api/v1`.
    pub base_url: String,
    pub description: String,
    pub operations: Vec<ApiOperation>,
    /// The objects the API takes and answers.
    pub schemas: Vec<ApiSchema>,
}

/// One route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiOperation {
    /// `GET`, `POST`, `DELETE`.
    pub method: String,
    pub path: String,
    pub tag: String,
    pub summary: String,
    pub description: String,
    /// `API key` or `Widget token`.
    pub auth: String,
    pub parameters: Vec<ApiField>,
    /// The object it takes as its body, if any, and whether the body may be left out.
    pub body: Option<String>,
    pub body_required: bool,
    pub responses: Vec<ApiResponse>,
}

/// A parameter, or an object's field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiField {
    pub name: String,
    /// `path`, `query`, `header`; empty for a field.
    pub location: String,
    /// "string", "integer or null", "Participant", "array of Reward".
    pub kind: String,
    pub required: bool,
    pub description: String,
}

/// An answer a route may give.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiResponse {
    pub status: String,
    pub description: String,
    pub body: Option<String>,
}

/// An object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiSchema {
    pub name: String,
    pub description: String,
    pub fields: Vec<ApiField>,
}

impl ApiOperation {
    /// An anchor for the route: `post-participants-id-customers`.
    pub fn anchor(&self) -> String {
        let path: String = self
            .path
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let mut anchor = format!("{}-{}", self.method.to_lowercase(), path);
        while anchor.contains("--") {
            anchor = anchor.replace("--", "-");
        }
        anchor.trim_end_matches('-').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_have_readable_anchors() {
        let op = ApiOperation {
            method: "POST".into(),
            path: "/participants/{id}/customers".into(),
            tag: String::new(),
            summary: String::new(),
            description: String::new(),
            auth: String::new(),
            parameters: vec![],
            body: None,
            body_required: false,
            responses: vec![],
        };
        assert_eq!(op.anchor(), "post-participants-id-customers");
    }
}
