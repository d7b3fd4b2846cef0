//! Pieces several pages share: the layout, forms and their errors, a campaign's heading and
//! tabs, charts.

pub mod alerts;
pub mod api_keys;
pub mod campaign;
pub mod chart;
pub mod copy;
pub mod dashboard;
#[cfg(feature = "ssr")]
pub mod dashboard_html;
pub mod error_view;
pub mod form;
pub mod layout;
pub mod webhooks;
