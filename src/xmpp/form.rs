//! Small builders for XEP-0004 forms used in disco results, and readers
//! of submitted fields (errors name the field).

use xmpp_parsers::data_forms::{DataForm, DataFormType, Field, FieldType};
use xmpp_parsers::jid::BareJid;

use crate::error::{Error, Result};

/// A result form with a hidden FORM_TYPE and one jid-single field.
pub fn jid_form(form_type: &str, var: &str, label: &str, value: &str) -> DataForm {
    let mut field = Field::new(var, FieldType::JidSingle).with_value(value);
    field.label = Some(label.to_string());
    DataForm::new(DataFormType::Result_, form_type, vec![field])
}

pub fn var(f: &Field) -> &str {
    f.var.as_deref().unwrap_or("")
}

/// At most one value.
pub fn single(f: &Field) -> Result<Option<String>> {
    match f.values.as_slice() {
        [] => Ok(None),
        [v] => Ok(Some(v.trim().to_string())),
        _ => Err(Error::bad_request(format!("{} takes one value", var(f)))),
    }
}

/// A text value; no value means empty.
pub fn text(f: &Field) -> Result<String> {
    Ok(single(f)?.unwrap_or_default())
}

/// An XEP-0004 boolean: `1`/`true`, `0`/`false`.
pub fn boolean(f: &Field) -> Result<Option<bool>> {
    match single(f)?.as_deref() {
        None => Ok(None),
        Some("1" | "true") => Ok(Some(true)),
        Some("0" | "false") => Ok(Some(false)),
        Some(v) => Err(Error::bad_request(format!("{}: {} is not a boolean", var(f), crate::error::quote(v)))),
    }
}

/// Bare JIDs of a jid-multi field (blank lines skipped).
pub fn jids(f: &Field) -> Result<Vec<BareJid>> {
    let mut out: Vec<BareJid> = Vec::new();
    for v in f.values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
        let jid: xmpp_parsers::jid::Jid = v.parse().map_err(|_| Error::bad_request(format!("{}: {} is not a JID", var(f), crate::error::quote(v))))?;
        if jid.resource().is_some() {
            return Err(Error::not_acceptable(format!("{}: {} is not a bare JID", var(f), crate::error::quote(v))));
        }
        let bare = jid.to_bare();
        if !out.contains(&bare) {
            out.push(bare);
        }
    }
    Ok(out)
}

/// The field `var` of a submitted form, if it is there.
pub fn find<'a>(form: &'a DataForm, name: &str) -> Option<&'a Field> {
    form.fields.iter().find(|f| var(f) == name)
}

/// A non-empty text value of field `name`; `bad-request` naming the field
/// when it is missing or empty.
pub fn required(form: &DataForm, name: &str) -> Result<String> {
    match find(form, name).map(text).transpose()? {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(Error::bad_request(format!("{name}: a value is required"))),
    }
}

/// A whole number between `min` and `max`; no value: None.
pub fn number(f: &Field, min: usize, max: usize) -> Result<Option<usize>> {
    match single(f)?.filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(Error::bad_request(format!("{}: {} is not a number from {min} to {max}", var(f), crate::error::quote(&v)))),
        },
    }
}

/// A bare JID or a domain (no resource), normalised; `bad-request`
/// naming the field otherwise.
pub fn jid_or_domain(f: &Field) -> Result<Option<String>> {
    let Some(v) = single(f)?.filter(|v| !v.is_empty()) else { return Ok(None) };
    let jid: xmpp_parsers::jid::Jid = v.parse().map_err(|_| Error::bad_request(format!("{}: {} is not a JID", var(f), crate::error::quote(&v))))?;
    if jid.resource().is_some() {
        return Err(Error::bad_request(format!("{}: {} is not a bare JID or a domain", var(f), crate::error::quote(&v))));
    }
    Ok(Some(jid.to_bare().to_string()))
}
