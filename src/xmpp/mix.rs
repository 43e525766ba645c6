//! XEP-0369 MIX core payloads (namespace `urn:xmpp:mix:core:1`), which
//! xmpp-parsers 0.23 no longer has.

use xmpp_parsers::data_forms::DataForm;
use xso::{AsXml, FromXml};

use super::ns;

/// `<create/>`: create a channel (XEP-0369 "Creating a Channel"); without a
/// name the service picks one (ad-hoc channel). The result echoes the name.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = ns::MIX_CORE, name = "create")]
pub struct Create {
    #[xml(attribute(default))]
    pub channel: Option<String>,
    /// An initial configuration form; accepted and not applied yet.
    #[xml(child(default))]
    pub form: Option<DataForm>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use xmpp_parsers::minidom::Element;

    #[test]
    fn create_parses_and_serialises() {
        let e: Element = "<create xmlns='urn:xmpp:mix:core:1' channel='coven'/>".parse().unwrap();
        let c = Create::try_from(e.clone()).unwrap();
        assert_eq!(c.channel.as_deref(), Some("coven"));
        assert_eq!(Element::from(c), e);
        let adhoc: Element = "<create xmlns='urn:xmpp:mix:core:1'/>".parse().unwrap();
        assert_eq!(Create::try_from(adhoc).unwrap().channel, None);
    }

    #[test]
    fn create_with_unknown_child_is_an_error() {
        let e: Element = "<create xmlns='urn:xmpp:mix:core:1' channel='c'><foo xmlns='urn:x'/></create>".parse().unwrap();
        assert!(Create::try_from(e).is_err());
    }
}
