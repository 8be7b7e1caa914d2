"""The seal: the kept file verifies, a changed byte does not, a signature of another unit's
certificate names that unit; downloads are the exact signed bytes."""

from __future__ import annotations

import io

from flask import Flask

from tests.conftest import Org
from tests.documents.conftest import Actor, doc
from tests.documents.test_flow import run_to_dispatch


def test_verify_page_and_a_changed_byte(dapp: Flask, dorg: Org) -> None:
    doc_id, _people = run_to_dispatch(dapp, dorg)
    reader = Actor(dapp, "bm2")  # a recipient: may see the document
    page = reader.client.get(f"/documents/{doc_id}/verify").get_data(as_text=True)
    assert "The kept file is unchanged" in page
    data = reader.client.get(f"/documents/{doc_id}/file").data
    sig = reader.client.get(f"/documents/{doc_id}/signature").data
    d = doc(dapp, doc_id)
    assert data == d.sealed_file and sig == d.signature
    ok = reader.client.post(f"/documents/{doc_id}/verify", data={
        "file": (io.BytesIO(data), "copy.txt")}, content_type="multipart/form-data")
    assert ok.status_code == 200 and "Signature valid" in ok.get_data(as_text=True)
    changed = bytearray(data)
    changed[-2] ^= 0x01
    bad = reader.client.post(f"/documents/{doc_id}/verify", data={
        "file": (io.BytesIO(bytes(changed)), "copy.txt")}, content_type="multipart/form-data")
    assert bad.status_code == 422
    assert "Signature invalid / the file was changed" in bad.get_data(as_text=True)
    # the generic page, with the file and its .p7s
    outsider = Actor(dapp, "zg2")  # of the second county, a recipient unit
    ok = outsider.client.post("/documents/verify", data={
        "file": (io.BytesIO(data), "copy.txt"), "signature": (io.BytesIO(sig), "c.p7s")},
        content_type="multipart/form-data")
    assert ok.status_code == 200 and "Signature valid" in ok.get_data(as_text=True)
    garbage = outsider.client.post("/documents/verify", data={
        "file": (io.BytesIO(data), "copy.txt"),
        "signature": (io.BytesIO(b"not a signature"), "c.p7s")},
        content_type="multipart/form-data")
    assert garbage.status_code == 422
    assert outsider.client.get(f"/documents/{doc_id}/file").data == data  # a recipient


def test_the_signature_is_standard_cms(dapp: Flask, dorg: Org, tmp_path: object) -> None:
    """openssl verifies the detached signature against the CA certificate."""
    import shutil
    import subprocess
    from pathlib import Path

    from sso.ca import service as ca_service

    doc_id, _people = run_to_dispatch(dapp, dorg)
    d = doc(dapp, doc_id)
    folder = Path(str(tmp_path))
    (folder / "doc.txt").write_bytes(d.sealed_file or b"")
    (folder / "doc.p7s").write_bytes(d.signature or b"")
    with dapp.app_context():
        from cryptography.hazmat.primitives import serialization

        authority = ca_service.load_authority(dapp.extensions["portal"].db.session())
        (folder / "ca.pem").write_bytes(authority.cert.public_bytes(serialization.Encoding.PEM))
    openssl = shutil.which("openssl")
    assert openssl, "openssl is part of the machine's packages"
    result = subprocess.run([openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in",
                             str(folder / "doc.p7s"), "-content", str(folder / "doc.txt"),
                             "-CAfile", str(folder / "ca.pem"), "-purpose", "any",
                             "-out", "/dev/null"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
