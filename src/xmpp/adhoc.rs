//! XEP-0050 ad-hoc commands on the wire: the `<command/>` request, the
//! `<command/>` answers (executing with a form, completed, canceled), and
//! the XEP-0004 forms they carry. No I/O, no knowledge of the commands.

use xmpp_parsers::data_forms::{DataForm, DataFormType, Field, FieldType};
use xmpp_parsers::minidom::Element;

use super::{el, ns, text_el};
use crate::error::{Error, Result};

/// What the requester asks of a command (XEP-0050 §3.4 `action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Execute,
    Next,
    Prev,
    Complete,
    Cancel,
}

/// A `<command xmlns='http://jabber.org/protocol/commands'/>` request.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub node: String,
    pub action: Action,
    pub sessionid: Option<String>,
    /// The submitted form (`type='submit'`), if any.
    pub form: Option<DataForm>,
}

/// Parses a command request: `bad-request` naming what is wrong.
pub fn parse(payload: &Element) -> Result<Command> {
    if !payload.is("command", ns::COMMANDS) {
        return Err(Error::bad_request("not an ad-hoc command"));
    }
    let node = payload.attr("node").filter(|n| !n.is_empty()).ok_or_else(|| Error::bad_request("command without a node"))?.to_string();
    let action = match payload.attr("action") {
        None | Some("execute") => Action::Execute,
        Some("next") => Action::Next,
        Some("prev") => Action::Prev,
        Some("complete") => Action::Complete,
        Some("cancel") => Action::Cancel,
        Some(other) => return Err(Error::bad_request(format!("action: {} is not an action of XEP-0050", crate::error::quote(other))).with_app_condition("malformed-action", ns::COMMANDS)),
    };
    let sessionid = payload.attr("sessionid").filter(|s| !s.is_empty()).map(str::to_string);
    let form = match payload.get_child("x", ns::DATA_FORMS) {
        None => None,
        Some(x) => {
            let form = DataForm::try_from(x.clone()).map_err(|e| Error::bad_request(format!("malformed form: {e}")))?;
            match form.type_ {
                DataFormType::Submit => Some(form),
                // A form of another type submits nothing (a cancel is `action='cancel'`).
                DataFormType::Cancel => None,
                _ => return Err(Error::bad_request("a submitted form has type submit")),
            }
        }
    };
    Ok(Command { node, action, sessionid, form })
}

/// The answer of a command that needs a form: `status='executing'`, the
/// form to fill, and `complete` as the one action.
pub fn executing(node: &str, sessionid: &str, form: Element) -> Element {
    let mut c = el("command", ns::COMMANDS, &[("node", node), ("sessionid", sessionid), ("status", "executing")]);
    let mut actions = el("actions", ns::COMMANDS, &[("execute", "complete")]);
    actions.append_child(Element::bare("complete", ns::COMMANDS));
    c.append_child(actions);
    c.append_child(form);
    c
}

/// The answer of a command that is done: `status='completed'`, an info
/// note and, if any, a result form.
pub fn completed(node: &str, sessionid: &str, note: &str, result: Option<Element>) -> Element {
    let mut c = el("command", ns::COMMANDS, &[("node", node), ("sessionid", sessionid), ("status", "completed")]);
    if let Some(r) = result {
        c.append_child(r);
    }
    let mut n = text_el("note", ns::COMMANDS, note);
    super::set_attr(&mut n, "type", "info");
    c.append_child(n);
    c
}

/// The answer to `action='cancel'`.
pub fn canceled(node: &str, sessionid: &str) -> Element {
    el("command", ns::COMMANDS, &[("node", node), ("sessionid", sessionid), ("status", "canceled")])
}

/// A form of type `form` (or `result`) with a hidden FORM_TYPE.
pub fn form(type_: DataFormType, form_type: &str, title: &str, instructions: Option<&str>, fields: Vec<Field>) -> DataForm {
    let mut f = DataForm::new(type_, form_type, fields);
    f.title = Some(title.to_string());
    f.instructions = instructions.map(str::to_string);
    f
}

/// A field with a label, and `required` if asked.
pub fn field(var: &str, type_: FieldType, label: &str, required: bool) -> Field {
    let mut f = Field::new(var, type_);
    f.label = Some(label.to_string());
    f.required = required;
    f
}

/// A result form as an element with a table (`<reported/>` and one
/// `<item/>` per row) after its fields: `columns` are (var, label), each row
/// the values in that order (empty: no value).
pub fn with_table(form: DataForm, columns: &[(&str, &str)], rows: &[Vec<String>]) -> Element {
    let mut x: Element = form.into();
    let mut reported = Element::bare("reported", ns::DATA_FORMS);
    for (var, label) in columns {
        reported.append_child(el("field", ns::DATA_FORMS, &[("var", var), ("label", label)]));
    }
    x.append_child(reported);
    for row in rows {
        let mut item = Element::bare("item", ns::DATA_FORMS);
        for ((var, _), value) in columns.iter().zip(row) {
            let mut f = el("field", ns::DATA_FORMS, &[("var", var)]);
            if !value.is_empty() {
                f.append_child(text_el("value", ns::DATA_FORMS, value.as_str()));
            }
            item.append_child(f);
        }
        x.append_child(item);
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(xml: &str) -> Result<Command> {
        parse(&xml.parse::<Element>().expect("xml"))
    }

    #[test]
    fn parses_a_submission() {
        let c = parsed(
            "<command xmlns='http://jabber.org/protocol/commands' node='n' sessionid='s1' action='complete'>\
               <x xmlns='jabber:x:data' type='submit'><field var='page'><value>2</value></field></x></command>",
        )
        .unwrap();
        assert_eq!((c.node.as_str(), c.action, c.sessionid.as_deref()), ("n", Action::Complete, Some("s1")));
        assert_eq!(c.form.unwrap().fields[0].values, vec!["2".to_string()]);
    }

    #[test]
    fn refuses_unknown_actions_and_missing_nodes() {
        let e = parsed("<command xmlns='http://jabber.org/protocol/commands' node='n' action='jump'/>").unwrap_err();
        assert!(e.to_string().contains("action: 'jump'"), "{e}");
        assert!(parsed("<command xmlns='http://jabber.org/protocol/commands'/>").unwrap_err().to_string().contains("without a node"));
    }

    #[test]
    fn serialises_an_executing_answer() {
        let x: Element = form(DataFormType::Form, "urn:x", "T", None, vec![]).into();
        let c = executing("n", "s", x);
        assert_eq!(c.attr("status"), Some("executing"));
        let actions = c.get_child("actions", ns::COMMANDS).unwrap();
        assert_eq!(actions.attr("execute"), Some("complete"));
        assert!(actions.get_child("complete", ns::COMMANDS).is_some());
    }
}
