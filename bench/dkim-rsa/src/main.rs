//! `dkim-rsa KEY.der [N]`: signs the same 600 bytes (the size of a DKIM header block) N
//! times with each library and prints the time per signature, and the signatures per
//! second of one thread. PKCS#1 v1.5 with SHA-256 is deterministic, so the three must agree.

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: dkim-rsa KEY.pk8.der [N]");
    let n: u32 = args.next().map_or(2000, |n| n.parse().expect("N"));
    let der = std::fs::read(&path).expect("read the key");
    let data = vec![b'h'; 600];

    let ring_key = ring::signature::RsaKeyPair::from_pkcs8(&der).expect("ring key");
    let rng = ring::rand::SystemRandom::new();
    let ring_sign = || {
        let mut sig = vec![0; ring_key.public().modulus_len()];
        ring_key
            .sign(&ring::signature::RSA_PKCS1_SHA256, &rng, &data, &mut sig)
            .expect("ring signs");
        sig
    };

    let aws_key = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&der).expect("aws-lc key");
    let aws_rng = aws_lc_rs::rand::SystemRandom::new();
    let aws_sign = || {
        let mut sig = vec![0; aws_key.public_modulus_len()];
        aws_key
            .sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &aws_rng,
                &data,
                &mut sig,
            )
            .expect("aws-lc signs");
        sig
    };

    let ossl_key = openssl::pkey::PKey::private_key_from_pkcs8(&der).expect("openssl key");
    let ossl_sign = || {
        let mut signer =
            openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &ossl_key)
                .expect("openssl signer");
        signer.update(&data).expect("update");
        signer.sign_to_vec().expect("openssl signs")
    };

    let reference = ring_sign();
    assert_eq!(aws_sign(), reference, "aws-lc-rs and ring disagree");
    assert_eq!(ossl_sign(), reference, "OpenSSL and ring disagree");

    let run = |name: &str, sign: &dyn Fn() -> Vec<u8>| {
        for _ in 0..n / 10 {
            sign();
        }
        let start = Instant::now();
        for _ in 0..n {
            sign();
        }
        let per = start.elapsed().as_secs_f64() / f64::from(n);
        println!(
            "{name:<10} {:>7.1} µs/signature  {:>6.0} signatures/s on one thread",
            per * 1e6,
            1.0 / per
        );
    };
    // Two passes, interleaved, so that a burst of load elsewhere does not favour one.
    for _ in 0..2 {
        run("ring", &ring_sign);
        run("aws-lc-rs", &aws_sign);
        run("openssl", &ossl_sign);
    }
    println!(
        "{} {}",
        openssl::version::version(),
        if openssl::version::number() > 0 {
            ""
        } else {
            "?"
        }
    );
}
