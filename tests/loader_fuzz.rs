//! Malformed and random input to the volume loader: always diagnostics, never a panic.

use broadsheet::diag::{Diagnostics, SourceFile};
use broadsheet::volume;

const SEED: &str = include_str!("../volumes/011.toml");

/// xorshift64*: a small deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("fits")
    }
}

const FRAGMENTS: [&str; 14] = [
    "[[picks]]\n",
    "[hero]\n",
    "\"",
    "'''",
    "=",
    "\n",
    "2024-13-45",
    "url = \"javascript:x\"\n",
    "\u{0}",
    "“",
    "date = 2024-05-01T10:00:00Z\n",
    "{",
    "]",
    "after = 99\n",
];

fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(4) {
            0 => bytes.truncate(at),
            1 if at < bytes.len() => {
                let end = (at + rng.below(200)).min(bytes.len());
                bytes.drain(at..end);
            }
            2 => {
                let piece = FRAGMENTS[rng.below(FRAGMENTS.len())];
                bytes.splice(at..at, piece.bytes());
            }
            _ => {
                let byte = u8::try_from(rng.below(256)).expect("a byte");
                bytes.insert(at, byte);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn load(text: String) {
    let source = SourceFile::new(std::path::Path::new("volumes/011.toml"), text);
    match volume::parse(source) {
        Ok(volume) => volume.validate(&mut Diagnostics::default()),
        Err(diags) => {
            assert!(diags.has_errors());
            // Rendering every diagnostic exercises span-to-line mapping on odd input.
            let _ = diags.to_string();
        }
    }
}

#[test]
fn mutated_volumes_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..3000 {
        load(mutate(&mut rng, SEED));
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(42);
    for _ in 0..2000 {
        let len = rng.below(300);
        let bytes: Vec<u8> = (0..len)
            .map(|_| u8::try_from(rng.below(256)).unwrap())
            .collect();
        load(String::from_utf8_lossy(&bytes).into_owned());
    }
}
