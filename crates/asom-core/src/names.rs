//! Closed sets of names: enums whose values have one canonical spelling,
//! parsed leniently (case, `_` for `-`, per type) and refused with a message
//! that lists the valid values.

/// A name was not one of the valid values; the message lists them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {given:?}: expected one of {valid}")]
pub struct UnknownName {
    /// What was being parsed.
    pub what: &'static str,
    /// The text given (clipped).
    pub given: String,
    /// The valid values, comma separated.
    pub valid: String,
}

/// Keeps error messages short when someone pastes a whole file.
pub(crate) fn clip_name(text: &str) -> String {
    text.chars().take(80).collect()
}

/// Defines `ALL`, `as_str`, `Display`, `FromStr` and the `String`
/// conversions (for `#[serde(try_from, into)]`) of a closed enum; input
/// is trimmed and passed through `$normalise` before matching.
macro_rules! closed_names {
    ($ty:ident, $what:literal, $normalise:expr, { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The canonical name used in JSON and on the command line.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::names::UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let normalise: fn(&str) -> String = $normalise;
                let wanted = normalise(s.trim());
                $ty::ALL.iter().copied().find(|v| v.as_str() == wanted).ok_or_else(|| $crate::names::UnknownName {
                    what: $what,
                    given: $crate::names::clip_name(s),
                    valid: $ty::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "),
                })
            }
        }

        impl TryFrom<String> for $ty {
            type Error = $crate::names::UnknownName;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                value.parse()
            }
        }

        impl From<$ty> for String {
            fn from(value: $ty) -> Self {
                value.as_str().to_owned()
            }
        }
    };
}

pub(crate) use closed_names;
