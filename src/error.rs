//! The one error type handlers return. A `Stanza` error is shown to the
//! sender as the given condition; an `Internal` error is logged with its
//! context and shown only as `internal-server-error`.

use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType, StanzaError};

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// An error the sender is meant to see. Boxed: every `Result` of the
    /// handlers carries this type, and unboxed it made each of them (and
    /// every future holding one) some 200 bytes wide, copied at each move.
    #[error("{0}")]
    Stanza(Box<Refusal>),
    /// A failure of ours: never shown in detail.
    #[error("internal error: {0}")]
    Internal(String),
    /// The store is unreachable (an outage: `store::Store` logs when it
    /// starts and ends); shown like `Internal`, `internal-server-error` of
    /// type `wait`, and logged per stanza only at `debug`.
    #[error("the store is unavailable")]
    Unavailable,
}

/// What a `Stanza` error shows the sender.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{condition:?}{}", text.as_deref().map(|t| format!(": {t}")).unwrap_or_default())]
pub struct Refusal {
    pub type_: ErrorType,
    pub condition: DefinedCondition,
    pub text: Option<String>,
    /// An application-specific condition beside the defined one
    /// (RFC 6120 §8.3.3.4): (element name, namespace), e.g. XEP-0050's
    /// `<bad-sessionid/>`.
    pub app: Option<(&'static str, &'static str)>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A condition's element name (`item-not-found`), for metrics and logs:
/// RFC 6120's names are the variants' names in kebab case.
pub fn condition_name(c: &DefinedCondition) -> String {
    let debug = format!("{c:?}");
    let variant = debug.split([' ', '{', '(']).next().unwrap_or("");
    let mut name = String::with_capacity(variant.len() + 4);
    for (i, ch) in variant.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                name.push('-');
            }
            name.push(ch.to_ascii_lowercase());
        } else {
            name.push(ch);
        }
    }
    name
}

/// A short, quoted piece of user input for an error text: at most 40
/// characters (then `…`), control characters left out. Error texts never
/// repeat more of what the sender wrote.
pub fn quote(input: &str) -> String {
    let mut shown: String = input.chars().filter(|c| !c.is_control()).take(40).collect();
    if input.chars().filter(|c| !c.is_control()).nth(40).is_some() {
        shown.push('…');
    }
    format!("'{shown}'")
}

impl Error {
    pub fn new(type_: ErrorType, condition: DefinedCondition, text: impl Into<Option<String>>) -> Self {
        Error::Stanza(Box::new(Refusal { type_, condition, text: text.into(), app: None }))
    }
    pub fn bad_request(text: impl Into<String>) -> Self {
        Self::new(ErrorType::Modify, DefinedCondition::BadRequest, Some(text.into()))
    }
    pub fn forbidden(text: impl Into<String>) -> Self {
        Self::new(ErrorType::Auth, DefinedCondition::Forbidden, Some(text.into()))
    }
    pub fn conflict(text: impl Into<String>) -> Self {
        Self::new(ErrorType::Cancel, DefinedCondition::Conflict, Some(text.into()))
    }
    pub fn item_not_found() -> Self {
        Self::new(ErrorType::Cancel, DefinedCondition::ItemNotFound, None)
    }
    pub fn service_unavailable() -> Self {
        Self::new(ErrorType::Cancel, DefinedCondition::ServiceUnavailable, None)
    }
    pub fn feature_not_implemented(text: impl Into<String>) -> Self {
        Self::new(ErrorType::Cancel, DefinedCondition::FeatureNotImplemented, Some(text.into()))
    }
    pub fn not_acceptable(text: impl Into<String>) -> Self {
        Self::new(ErrorType::Modify, DefinedCondition::NotAcceptable, Some(text.into()))
    }
    /// `not-acceptable` typed `cancel`: a request from a session that is not
    /// in the room (XEP-0045 §7.4, XEP-0410). XEP-0045's and XEP-0410's
    /// examples type it `cancel`, as Prosody does: the same stanza cannot
    /// succeed until the session enters (RFC 6120 §8.3.2: `modify` means
    /// "retry after changing the data sent").
    pub fn not_acceptable_cancel(text: impl Into<String>) -> Self {
        Self::new(ErrorType::Cancel, DefinedCondition::NotAcceptable, Some(text.into()))
    }
    pub fn policy_violation(text: impl Into<String>) -> Self {
        Self::new(ErrorType::Cancel, DefinedCondition::PolicyViolation, Some(text.into()))
    }
    /// The one answer to a request that needs the sender in the room
    /// (XEP-0045 §7.4, §7.5, §7.8, §7.13; XEP-0410): `not-acceptable` typed
    /// `cancel` (`not_acceptable_cancel`).
    pub fn not_in_room() -> Self {
        Self::not_acceptable_cancel("You are not currently connected to this chat")
    }
    /// Over a limit of what one sender may have pending (RFC 6120 §8.3.3.18).
    pub fn resource_constraint(text: impl Into<String>) -> Self {
        Self::new(ErrorType::Wait, DefinedCondition::ResourceConstraint, Some(text.into()))
    }
    /// Only registered users (members) may (XEP-0045: 407).
    pub fn registration_required(text: impl Into<String>) -> Self {
        Self::new(ErrorType::Auth, DefinedCondition::RegistrationRequired, Some(text.into()))
    }
    pub fn jid_malformed(text: impl Into<String>) -> Self {
        Self::new(ErrorType::Modify, DefinedCondition::JidMalformed, Some(text.into()))
    }
    pub fn not_allowed(text: impl Into<String>) -> Self {
        Self::new(ErrorType::Cancel, DefinedCondition::NotAllowed, Some(text.into()))
    }
    /// The same error with a human-readable text.
    pub fn with_text(mut self, t: impl Into<String>) -> Self {
        if let Error::Stanza(r) = &mut self {
            r.text = Some(t.into());
        }
        self
    }
    /// The same error with an application-specific condition.
    pub fn with_app_condition(mut self, name: &'static str, ns: &'static str) -> Self {
        if let Error::Stanza(r) = &mut self {
            r.app = Some((name, ns));
        }
        self
    }
    pub fn internal(context: impl Into<String>) -> Self {
        Error::Internal(context.into())
    }

    /// The condition the sender is shown (`internal-server-error` for ours).
    pub fn condition_name(&self) -> String {
        condition_name(&self.to_stanza_error().defined_condition)
    }

    /// The `<error/>` element shown to the sender, `by` the entity that refused.
    pub fn to_stanza_error(&self) -> StanzaError {
        match self {
            Error::Stanza(r) => {
                let mut e = match &r.text {
                    Some(t) => StanzaError::new(r.type_.clone(), r.condition.clone(), "en", t.clone()),
                    None => StanzaError {
                        type_: r.type_.clone(),
                        by: None,
                        defined_condition: r.condition.clone(),
                        texts: Default::default(),
                        other: None,
                    },
                };
                e.other = r.app.map(|(name, ns)| xmpp_parsers::minidom::Element::bare(name, ns));
                e
            }
            Error::Internal(_) | Error::Unavailable => StanzaError {
                type_: ErrorType::Wait,
                by: None,
                defined_condition: DefinedCondition::InternalServerError,
                texts: Default::default(),
                other: None,
            },
        }
    }
}

/// Store statements and connections that failed since start (the
/// `mixmuc_store_errors` metric): every database error becomes this
/// crate's error here, or is taken for an outage by the store's gate.
pub static STORE_ERRORS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        STORE_ERRORS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Error::Internal(format!("store: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn condition_names_are_rfc_6120_element_names() {
        assert_eq!(condition_name(&DefinedCondition::ItemNotFound), "item-not-found");
        assert_eq!(condition_name(&DefinedCondition::RemoteServerNotFound), "remote-server-not-found");
        assert_eq!(condition_name(&DefinedCondition::Gone { new_address: None }), "gone");
        assert_eq!(Error::Unavailable.condition_name(), "internal-server-error");
        assert_eq!(Error::forbidden("no").condition_name(), "forbidden");
    }
}
