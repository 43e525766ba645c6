//! XEP-0313 MAM requests (with XEP-0059 RSM paging) and result rendering
//! helpers shared by both views.

use xmpp_parsers::data_forms::{DataForm, DataFormType, Field, FieldType};
use xmpp_parsers::mam::Query;
use xmpp_parsers::minidom::Element;

use super::{el, ns, text_el};
use crate::error::{Error, Result};

/// A parsed archive query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MamRequest {
    pub queryid: Option<String>,
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub with: Option<String>,
    pub before_id: Option<String>,
    pub after_id: Option<String>,
    pub ids: Vec<String>,
    pub max: Option<usize>,
    /// RSM `<after/>`.
    pub after: Option<String>,
    /// RSM `<before/>`; `Some("")` asks for the last page.
    pub before: Option<String>,
    pub flip: bool,
}

fn parse_time(var: &str, v: &str) -> Result<i64> {
    v.parse::<xmpp_parsers::date::DateTime>()
        .map(|d| d.0.timestamp_millis())
        .map_err(|_| Error::bad_request(format!("field {}: not an XEP-0082 date-time", crate::error::quote(var))))
}

/// Parses `<query xmlns='urn:xmpp:mam:2'>`.
pub fn parse(payload: &Element) -> Result<MamRequest> {
    let q = Query::try_from(payload.clone()).map_err(|_| Error::bad_request("malformed MAM query"))?;
    let mut r = MamRequest { queryid: q.queryid.map(|i| i.0), flip: q.flip_page, ..Default::default() };
    if q.node.is_some() {
        return Err(Error::item_not_found().with_text("this archive has no nodes"));
    }
    if let Some(form) = q.form {
        if form.form_type().is_some_and(|t| t != ns::MAM) {
            return Err(Error::bad_request("the form is not of type urn:xmpp:mam:2"));
        }
        for f in form.fields {
            let var = f.var.clone().unwrap_or_default();
            // A single-value field with several values is not guessed at.
            let one = || match f.values.as_slice() {
                [] => Ok(String::new()),
                [v] => Ok(v.clone()),
                _ => Err(Error::bad_request(format!("field {} takes one value", crate::error::quote(&var)))),
            };
            match var.as_str() {
                "FORM_TYPE" => {}
                "start" => r.start = Some(parse_time("start", &one()?)?),
                "end" => r.end = Some(parse_time("end", &one()?)?),
                "with" => r.with = Some(one()?),
                "before-id" => r.before_id = Some(one()?),
                "after-id" => r.after_id = Some(one()?),
                "ids" => r.ids = f.values.clone(),
                other => return Err(Error::bad_request(format!("unsupported field: {}", crate::error::quote(other)))),
            }
        }
    }
    if let Some(set) = q.set {
        r.max = set.max;
        r.after = set.after;
        r.before = set.before;
        if set.index.is_some() {
            return Err(Error::feature_not_implemented("RSM <index/> is not supported; page with <after/> and <before/>"));
        }
    }
    Ok(r)
}

/// The form a client gets with an IQ get on the archive (XEP-0313 §5.1).
pub fn query_form() -> Element {
    let fields = vec![
        Field::new("start", FieldType::TextSingle),
        Field::new("end", FieldType::TextSingle),
        Field::new("with", FieldType::JidSingle),
        Field::new("before-id", FieldType::TextSingle),
        Field::new("after-id", FieldType::TextSingle),
        Field::new("ids", FieldType::TextMulti),
    ];
    let form = DataForm::new(DataFormType::Form, ns::MAM, fields);
    let mut q = Element::bare("query", ns::MAM);
    q.append_child(form.into());
    q
}

/// `<result><forwarded><delay/>{message}</forwarded></result>`.
pub fn result_element(queryid: Option<&str>, archive_id: &str, stamp: &str, message: Element) -> Element {
    let mut result = el("result", ns::MAM, &[("id", archive_id)]);
    if let Some(q) = queryid {
        super::set_attr(&mut result, "queryid", q);
    }
    let mut fwd = Element::bare("forwarded", ns::FORWARD);
    fwd.append_child(el("delay", ns::DELAY, &[("stamp", stamp)]));
    fwd.append_child(message);
    result.append_child(fwd);
    result
}

/// `<fin complete='…'><set>first/last/count</set></fin>`.
pub fn fin(complete: bool, first: Option<&str>, last: Option<&str>, count: Option<i64>) -> Element {
    let mut fin = Element::bare("fin", ns::MAM);
    if complete {
        super::set_attr(&mut fin, "complete", "true");
    }
    let mut set = Element::bare("set", ns::RSM);
    if let Some(f) = first {
        set.append_child(text_el("first", ns::RSM, f));
    }
    if let Some(l) = last {
        set.append_child(text_el("last", ns::RSM, l));
    }
    if let Some(c) = count {
        set.append_child(text_el("count", ns::RSM, c.to_string()));
    }
    fin.append_child(set);
    fin
}

/// XEP-0082 date-time of a millisecond timestamp.
pub fn stamp(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_form_and_rsm() {
        let e: Element = "<query xmlns='urn:xmpp:mam:2' queryid='f27'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field><field var='start'><value>2010-06-07T00:00:00Z</value></field><field var='after-id'><value>abc</value></field></x><set xmlns='http://jabber.org/protocol/rsm'><max>10</max><before/></set></query>".parse().unwrap();
        let r = parse(&e).unwrap();
        assert_eq!(r.queryid.as_deref(), Some("f27"));
        assert_eq!(r.start, Some(1275868800000));
        assert_eq!(r.after_id.as_deref(), Some("abc"));
        assert_eq!(r.max, Some(10));
        assert_eq!(r.before.as_deref(), Some(""));
    }

    #[test]
    fn bad_date_is_bad_request() {
        let e: Element = "<query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field><field var='start'><value>yesterday</value></field></x></query>".parse().unwrap();
        assert!(parse(&e).is_err());
    }

    #[test]
    fn stamps_are_utc_with_millis() {
        assert_eq!(stamp(1275868800123), "2010-06-07T00:00:00.123Z");
    }
}
