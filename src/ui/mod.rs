//! Pages and the components they are built from. Compiled into the server and the browser.

/// Inside a page's `Suspend`: the value of a `Result<T, AnyView>` (see
/// `components::layout::{require_user, loaded}`), or return its view in place of the page
/// (the sign-in redirect, or the error's notice).
macro_rules! or_view {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(view) => return view,
        }
    };
}

pub mod components;
pub mod pages;
