//! The whole dispatcher over a real (SQLite) store: bytes → a stanza, if
//! they are one → `Service::handle` → its answers. Whatever the input, the
//! service must answer without panicking (a contained panic counts: the
//! target fails on `internal-server-error` answers too, which only a panic
//! or a store failure produce). State persists across inputs, so sequences
//! reach deep paths (create, join, configure, post, MAM...). The seed
//! corpus is fuzz/corpus/dispatch/ (stanzas of the golden transcripts).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mixmuc::config::{Config, StoreConfig};
use mixmuc::service::Service;
use mixmuc::store::Store;
use xmpp_parsers::minidom::Element;
use xmpp_parsers::stanza::Stanza;

struct Bed {
    rt: tokio::runtime::Runtime,
    service: std::sync::Arc<Service>,
    _dir: tempfile::TempDir,
}

fn bed() -> &'static Bed {
    static BED: OnceLock<Bed> = OnceLock::new();
    BED.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let dir = tempfile::tempdir().expect("temporary folder");
        let toml = "[server]\nport = 5347\n[mix]\ndomain = \"mix.example\"\nsecret = \"a\"\n[muc]\ndomain = \"muc.example\"\nsecret = \"b\"\n\
                    [service]\ncreate_channels = \"anyone\"\nadmins = [\"admin@example\"]\n[limits]\nmessage_rate = 0\npresence_rate = 0\n";
        let config = Config::from_toml(toml).expect("fuzz configuration");
        let store_cfg = StoreConfig { url: format!("sqlite://{}", dir.path().join("fuzz.db").display()), ..StoreConfig::default() };
        let store = rt.block_on(Store::open(&store_cfg)).expect("store");
        let service = Service::new(&config, store);
        Bed { rt, service, _dir: dir }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(element) = text.parse::<Element>() else { return };
    let Ok(stanza) = Stanza::try_from(element) else { return };
    let bed = bed();
    let answers = bed.rt.block_on(bed.service.handle(stanza));
    for a in answers {
        // Serialising every answer exercises the writer's paths too.
        let e = Element::from(a);
        let xml = String::from(&e);
        assert!(!xml.contains("internal-server-error"), "an internal error for a fuzzed stanza: {xml}");
    }
});
