//! A TLS server whose certificate no client can verify: OpenSSL's `s_server` with a
//! self-signed certificate made for the test, on 127.0.0.1.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `openssl s_server`; stopped on drop.
pub struct SelfSigned {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl SelfSigned {
    /// Makes a self-signed certificate and serves TLS with it.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp folder");
        let (key, cert) = (dir.path().join("key.pem"), dir.path().join("cert.pem"));
        let made = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args(["-subj", "/CN=127.0.0.1", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(Stdio::null())
            .status()
            .expect("run openssl (apt-get install openssl)");
        assert!(made.success(), "openssl req failed");
        let port = super::free_port();
        let child = Command::new("openssl")
            .args([
                "s_server",
                "-quiet",
                "-accept",
                &format!("127.0.0.1:{port}"),
            ])
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start openssl s_server");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "s_server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            port,
            child,
            _dir: dir,
        }
    }
}

impl Drop for SelfSigned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A certificate for 127.0.0.1 issued by a CA made for the test; a client trusts it when
/// `SSL_CERT_FILE` names [`Issued::ca`] (rustls-native-certs reads that variable).
pub struct Issued {
    pub ca: std::path::PathBuf,
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Issued {
    /// Makes the CA and the server's certificate and key (P-256, one day).
    pub fn for_loopback() -> Self {
        let dir = tempfile::tempdir().expect("temp folder");
        let path = |name: &str| dir.path().join(name);
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        openssl(
            &[
                "req",
                "-x509",
                "-days",
                "1",
                "-subj",
                "/CN=broadsheet test CA",
            ],
            &ec,
            &[("-keyout", path("ca.key")), ("-out", path("ca.pem"))],
        );
        openssl(
            &["req", "-subj", "/CN=127.0.0.1"],
            &ec,
            &[("-keyout", path("key.pem")), ("-out", path("server.csr"))],
        );
        std::fs::write(
            path("server.ext"),
            "subjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\n",
        )
        .expect("write the extensions");
        openssl(
            &["x509", "-req", "-days", "1", "-CAcreateserial"],
            &[],
            &[
                ("-in", path("server.csr")),
                ("-CA", path("ca.pem")),
                ("-CAkey", path("ca.key")),
                ("-extfile", path("server.ext")),
                ("-out", path("cert.pem")),
            ],
        );
        Self {
            ca: path("ca.pem"),
            cert: path("cert.pem"),
            key: path("key.pem"),
            _dir: dir,
        }
    }
}

fn openssl(args: &[&str], more: &[&str], files: &[(&str, std::path::PathBuf)]) {
    let mut command = Command::new("openssl");
    command.args(args).args(more).stderr(Stdio::null());
    for (flag, path) in files {
        command.arg(flag).arg(path);
    }
    let status = command
        .status()
        .expect("run openssl (apt-get install openssl)");
    assert!(status.success(), "openssl {args:?} failed");
}
