//! Pieces several pages share: the layout, forms and their errors, a campaign's heading and
//! tabs, charts.

pub mod campaign;
pub mod chart;
pub mod dashboard;
pub mod error_view;
pub mod form;
pub mod layout;
