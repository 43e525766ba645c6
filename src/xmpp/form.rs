//! Small builders for XEP-0004 forms used in disco results.

use xmpp_parsers::data_forms::{DataForm, DataFormType, Field, FieldType};

/// A result form with a hidden FORM_TYPE and one jid-single field.
pub fn jid_form(form_type: &str, var: &str, label: &str, value: &str) -> DataForm {
    let mut field = Field::new(var, FieldType::JidSingle).with_value(value);
    field.label = Some(label.to_string());
    DataForm::new(DataFormType::Result_, form_type, vec![field])
}
