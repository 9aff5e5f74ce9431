"""Independent oracle for the cross-check suite: recomputes nektar's outputs with the Python
reference implementations (py_ecc, the BLS library the consensus specs use, and eth2spec, the
specs' SSZ containers and helpers). Reads a JSON request on stdin, writes a JSON answer on stdout.

EIP-2333 has no PyPI implementation of the final version; its HKDF_mod_r is exactly the IETF
KeyGen that py_ecc implements, and the Lamport step is transcribed from the EIP below.
"""
import hashlib
import hmac
import json
import sys

from eth2spec.phase0 import mainnet as spec
from py_ecc.bls import G2ProofOfPossession as bls
from py_ecc.bls.g2_primatives import G2_to_signature, signature_to_G2
from py_ecc.optimized_bls12_381 import Z2, add, curve_order, multiply


def unhex(s):
    return bytes.fromhex(s[2:] if s.startswith("0x") else s)


def hexed(b):
    return "0x" + bytes(b).hex()


def lagrange_at_zero(ids):
    coefficients = []
    for i in ids:
        num, den = 1, 1
        for j in ids:
            if j != i:
                num = num * j % curve_order
                den = den * (j - i) % curve_order
        coefficients.append(num * pow(den, -1, curve_order) % curve_order)
    return coefficients


def recover(partials):
    ids = [p["id"] for p in partials]
    total = Z2
    for coefficient, partial in zip(lagrange_at_zero(ids), partials):
        total = add(total, multiply(signature_to_G2(unhex(partial["signature"])), coefficient))
    return hexed(G2_to_signature(total))


def hkdf_expand(prk, info, length):
    okm, block = b"", b""
    for counter in range(1, -(-length // 32) + 1):
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        okm += block
    return okm[:length]


def lamport_pk(parent_sk, index):
    salt = index.to_bytes(4, "big")

    def lamport_sk(ikm):
        prk = hmac.new(salt, ikm, hashlib.sha256).digest()
        okm = hkdf_expand(prk, b"", 32 * 255)
        return [okm[i:i + 32] for i in range(0, len(okm), 32)]

    ikm = parent_sk.to_bytes(32, "big")
    not_ikm = bytes(b ^ 0xFF for b in ikm)
    chunks = lamport_sk(ikm) + lamport_sk(not_ikm)
    return hashlib.sha256(b"".join(hashlib.sha256(c).digest() for c in chunks)).digest()


def derive(seed, path):
    sk = bls.KeyGen(seed)
    for index in path:
        sk = bls.KeyGen(lamport_pk(sk, index))
    return sk


def deposit_roots(entry):
    message = spec.DepositMessage(
        pubkey=unhex(entry["pubkey"]),
        withdrawal_credentials=unhex(entry["withdrawal_credentials"]),
        amount=entry["amount"],
    )
    data = spec.DepositData(
        pubkey=message.pubkey,
        withdrawal_credentials=message.withdrawal_credentials,
        amount=message.amount,
        signature=unhex(entry["signature"]),
    )
    domain = spec.compute_domain(spec.DOMAIN_DEPOSIT, spec.Version(unhex(entry["fork_version"])))
    signing_root = spec.compute_signing_root(message, domain)
    return {
        "deposit_message_root": hexed(message.hash_tree_root()),
        "deposit_data_root": hexed(data.hash_tree_root()),
        "signing_root": hexed(signing_root),
        "signature_valid": bls.Verify(message.pubkey, signing_root, data.signature),
    }


def main():
    request = json.load(sys.stdin)
    answer = {
        "signatures": [
            {
                "pubkey": hexed(bls.SkToPk(int(s["secretKey"], 16))),
                "signature": hexed(bls.Sign(int(s["secretKey"], 16), unhex(s["message"]))),
            }
            for s in request["signatures"]
        ],
        "recovered": [recover(r["partials"]) for r in request["recovered"]],
        "deposits": [deposit_roots(e) for e in request["deposits"]],
        "eip2333": [hex(derive(unhex(d["seed"]), d["path"])) for d in request["eip2333"]],
    }
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
