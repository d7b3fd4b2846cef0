//! Pages and the components they are built from. Compiled into the server and the browser.

pub mod components;
pub mod pages;
