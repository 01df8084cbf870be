"""A throwaway certificate authority made with the openssl CLI at start: a CA,
a server certificate for localhost and 127.0.0.1 signed by it, and a second,
unrelated CA for negative tests."""

import os
import subprocess

_EXT = """basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
"""


def _openssl(*args):
    subprocess.run(("openssl",) + args, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def _ca(dirname, name, cn):
    key = os.path.join(dirname, name + ".key")
    pem = os.path.join(dirname, name + ".pem")
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", key, "-out", pem, "-days", "30", "-subj", "/CN=" + cn,
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return key, pem


def make(dirname):
    """Returns paths: ca_file, wrong_ca_file, cert_file, key_file."""
    ca_key, ca_pem = _ca(dirname, "ca", "hlua sandbox CA")
    _, wrong_pem = _ca(dirname, "wrong-ca", "hlua sandbox wrong CA")
    key = os.path.join(dirname, "server.key")
    csr = os.path.join(dirname, "server.csr")
    crt = os.path.join(dirname, "server.pem")
    ext = os.path.join(dirname, "server.ext")
    with open(ext, "w") as f:
        f.write(_EXT)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", key, "-out", csr, "-subj", "/CN=localhost")
    _openssl("x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key,
             "-CAcreateserial", "-out", crt, "-days", "30", "-extfile", ext)
    return {"ca_file": ca_pem, "wrong_ca_file": wrong_pem, "cert_file": crt, "key_file": key}
