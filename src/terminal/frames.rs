//! The binary frames of `/ws/terminal` (§13.9): byte 0 is the opcode, the rest the payload.

use bytes::{BufMut, Bytes, BytesMut};
use serde::Deserialize;

pub const INPUT: u8 = 0x01;
pub const RESIZE: u8 = 0x02;
pub const CLOSE: u8 = 0x03;
pub const OUTPUT: u8 = 0x04;
pub const EXIT: u8 = 0x05;
pub const ERROR: u8 = 0x06;
pub const INIT_ACK: u8 = 0x07;
pub const TITLE: u8 = 0x08;
pub const REPLAY_COMPLETE: u8 = 0x09;

/// One server → client frame.
pub fn encode(opcode: u8, payload: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(1 + payload.len());
    b.put_u8(opcode);
    b.put_slice(payload);
    b.freeze()
}

/// A JSON payload frame (`EXIT`, `ERROR`, `INIT_ACK`, `TITLE`).
pub fn encode_json(opcode: u8, payload: &serde_json::Value) -> Bytes {
    encode(opcode, payload.to_string().as_bytes())
}

/// What a client frame asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientFrame<'a> {
    Input(&'a [u8]),
    Resize {
        cols: u16,
        rows: u16,
    },
    Close,
    /// An empty frame, an unknown opcode or a malformed resize: ignored.
    Ignored,
}

#[derive(Deserialize)]
struct Size {
    cols: u32,
    rows: u32,
}

/// Read one client frame (a text frame's UTF-8 bytes read the same way).
pub fn decode(frame: &[u8]) -> ClientFrame<'_> {
    let Some((&op, payload)) = frame.split_first() else {
        return ClientFrame::Ignored;
    };
    match op {
        INPUT => ClientFrame::Input(payload),
        RESIZE => match serde_json::from_slice::<Size>(payload) {
            // A terminal of 0 or 100 000 columns is a client bug; keep it within reason.
            Ok(s) => ClientFrame::Resize {
                cols: s.cols.clamp(1, 1000) as u16,
                rows: s.rows.clamp(1, 1000) as u16,
            },
            Err(_) => ClientFrame::Ignored,
        },
        CLOSE => ClientFrame::Close,
        _ => ClientFrame::Ignored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_the_opcode_first() {
        assert_eq!(&encode(OUTPUT, b"hi")[..], b"\x04hi");
        assert_eq!(decode(b"\x01ls\r"), ClientFrame::Input(b"ls\r"));
        assert_eq!(
            decode(br#"\x02{"cols":120,"rows":0}"#.as_slice()),
            ClientFrame::Ignored,
            "a literal backslash is not the opcode"
        );
        assert_eq!(
            decode(b"\x02{\"cols\":120,\"rows\":0}"),
            ClientFrame::Resize { cols: 120, rows: 1 }
        );
        assert_eq!(decode(b"\x03"), ClientFrame::Close);
        assert_eq!(decode(b""), ClientFrame::Ignored);
        assert_eq!(decode(b"\x02nope"), ClientFrame::Ignored);
    }
}
