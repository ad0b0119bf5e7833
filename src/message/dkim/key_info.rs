//! What a private key is, read from its DER bytes without using it: the algorithm a PKCS#8
//! key names (RFC 5958 `PrivateKeyInfo`) and the size of an RSA modulus (RFC 8017
//! `RSAPrivateKey`), so that a key the signer refuses is explained in words.

/// The algorithms a PKCS#8 key may name, by the DER bytes of their object identifier.
const ALGORITHMS: [(&[u8], &str); 8] = [
    // 1.2.840.113549.1.1.1
    (
        &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01],
        "RSA",
    ),
    // 1.2.840.113549.1.1.10
    (
        &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0A],
        "RSA-PSS",
    ),
    // 1.2.840.10045.2.1
    (
        &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01],
        "elliptic-curve (ECDSA)",
    ),
    // 1.2.840.10040.4.1
    (&[0x2A, 0x86, 0x48, 0xCE, 0x38, 0x04, 0x01], "DSA"),
    // 1.3.101.110 to 1.3.101.113 (RFC 8410)
    (&[0x2B, 0x65, 0x6E], "X25519"),
    (&[0x2B, 0x65, 0x6F], "X448"),
    (&[0x2B, 0x65, 0x70], "Ed25519"),
    (&[0x2B, 0x65, 0x71], "Ed448"),
];

/// The algorithm's name that a PKCS#8 key names ("RSA", "Ed448", ...), when it is one of
/// the known ones.
pub(super) fn pkcs8_algorithm(der: &[u8]) -> Option<&'static str> {
    let oid = pkcs8_parts(der)?.0;
    ALGORITHMS
        .iter()
        .find(|(known, _)| *known == oid)
        .map(|(_, name)| *name)
}

/// The size in bits of the RSA key in `der`: PKCS#1 `RSAPrivateKey`, or PKCS#8 holding one.
pub(super) fn rsa_bits(der: &[u8]) -> Option<usize> {
    let pkcs1 = match pkcs8_parts(der) {
        Some((_, inner)) => inner,
        None => der,
    };
    let (tag, fields, _) = tlv(pkcs1)?;
    if tag != SEQUENCE {
        return None;
    }
    let (INTEGER, _, rest) = tlv(fields)? else {
        return None;
    };
    let (INTEGER, modulus, _) = tlv(rest)? else {
        return None;
    };
    let significant = modulus.iter().position(|&b| b != 0)?;
    let first = modulus[significant];
    Some((modulus.len() - significant) * 8 - first.leading_zeros() as usize)
}

const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const SEQUENCE: u8 = 0x30;

/// A PKCS#8 key's algorithm identifier and the private key it wraps.
fn pkcs8_parts(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (SEQUENCE, fields, _) = tlv(der)? else {
        return None;
    };
    let (INTEGER, _, rest) = tlv(fields)? else {
        return None;
    };
    let (SEQUENCE, algorithm, rest) = tlv(rest)? else {
        return None;
    };
    let (OID, oid, _) = tlv(algorithm)? else {
        return None;
    };
    let (OCTET_STRING, key, _) = tlv(rest)? else {
        return None;
    };
    Some((oid, key))
}

/// The first DER element of `input`: its tag, its contents and what follows it.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let octets = usize::from(first & 0x7F);
        if octets == 0 || octets > 4 || rest.len() < octets {
            return None;
        }
        let len = rest[..octets]
            .iter()
            .fold(0usize, |n, &b| (n << 8) | usize::from(b));
        (len, &rest[octets..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PKCS#8 wrapper around `key` for the algorithm `oid`.
    fn pkcs8(oid: &[u8], key: &[u8]) -> Vec<u8> {
        let algorithm = [&[SEQUENCE, oid.len() as u8 + 2, OID, oid.len() as u8], oid].concat();
        let body = [
            &[INTEGER, 1, 0][..],
            &algorithm,
            &[OCTET_STRING, 0x81, key.len() as u8],
            key,
        ]
        .concat();
        [&[SEQUENCE, 0x81, body.len() as u8][..], &body].concat()
    }

    #[test]
    fn names_the_algorithm_and_sizes_the_modulus() {
        // RSAPrivateKey with a 1,024-bit modulus (a leading zero keeps it positive).
        let mut modulus = vec![0x00, 0xC3];
        modulus.extend([0x55; 127]);
        let fields = [&[INTEGER, 1, 0, INTEGER, 0x81, 129][..], &modulus].concat();
        let pkcs1 = [&[SEQUENCE, 0x81, fields.len() as u8][..], &fields].concat();
        assert_eq!(rsa_bits(&pkcs1), Some(1024));
        let rsa = pkcs8(ALGORITHMS[0].0, &pkcs1);
        assert_eq!(pkcs8_algorithm(&rsa), Some("RSA"));
        assert_eq!(rsa_bits(&rsa), Some(1024));
        let ec = pkcs8(&[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01], &[0x30, 0]);
        assert_eq!(pkcs8_algorithm(&ec), Some("elliptic-curve (ECDSA)"));
        assert_eq!(pkcs8_algorithm(&[0x30, 0x05, 0x02]), None);
        assert_eq!(rsa_bits(b"not der"), None);
    }
}
