//! Builds a genm asking for the CA certificates, encodes it, decodes it as a peer would, and
//! prints what it sees.
//!
//! `cargo run -p cmp-examples --example build_and_decode`

use cmp_core::asn1::{InfoTypeAndValue, PkiBody, PkiMessage, ReceivedMessage, oid};
use cmp_core::builder::PkiHeaderBuilder;
use cmp_core::names::{format_general_name, parse_name};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let header = PkiHeaderBuilder::new()
        .sender_name(parse_name("/O=Example/CN=device-42")?)
        .recipient_name(parse_name("CN=Example CA,O=Example")?)
        .transaction_id([0x42; 16])
        .sender_nonce([0x17; 16])
        .build();
    let genm = PkiMessage::new(
        header,
        PkiBody::Genm(vec![InfoTypeAndValue::request(oid::IT_CA_CERTS)]),
    );
    let der = genm.to_der()?;

    let received = ReceivedMessage::decode(&der)?;
    let msg = received.message();
    println!("{} bytes, body {}", der.len(), msg.body.name());
    println!("sender:    {}", format_general_name(&msg.header.sender));
    println!("recipient: {}", format_general_name(&msg.header.recipient));
    if let PkiBody::Genm(itavs) = &msg.body {
        for itav in itavs {
            println!("asks for:  {}", oid::display(&itav.info_type));
        }
    }
    Ok(())
}
