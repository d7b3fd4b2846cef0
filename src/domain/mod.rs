//! Plain Rust rules shared by the server and the browser. Depends on nothing but serde.

/// Defines a small enum with a stored key and a label for people.
macro_rules! keyed {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $key:literal, $label:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: [$name; [$(stringify!($variant)),+].len()] = [$($name::$variant),+];

            pub fn key(self) -> &'static str {
                match self { $($name::$variant => $key),+ }
            }

            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            pub fn from_key(key: &str) -> Option<$name> {
                Self::ALL.into_iter().find(|v| v.key() == key)
            }
        }
    };
}

pub mod activity;
pub mod api_keys;
pub mod api_reference;
pub mod attribution;
pub mod campaigns;
pub mod commissions;
pub mod dashboard;
pub mod emails;
pub mod fraud;
pub mod health;
pub mod integrations;
pub mod money;
pub mod operations;
pub mod participants;
pub mod permissions;
pub mod qualification;
pub mod rewards;
pub mod sending;
pub mod sync;
pub mod team;
pub mod time;
pub mod validate;
pub mod webhooks;
