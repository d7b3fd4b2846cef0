pub mod campaign;
pub mod chart;
pub mod error_view;
pub mod form;
pub mod layout;
