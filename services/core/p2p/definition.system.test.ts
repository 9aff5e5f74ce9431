/**
 * The cluster definition's canonical form, reproduced by an independent implementation: the
 * config hash by remerkleable (the consensus specs' SSZ), the signatures by py_ecc's secp256k1,
 * and the public key decoded from the peer id by hand (base58btc, identity multihash, libp2p's
 * key protobuf). If this passes, another language can check a nektar definition.
 */
import { describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { toHex } from "../hex.js";
import { configHash, createDefinition, signDefinition } from "./definition.js";
import { generateIdentity } from "./identity.js";

const ORACLE = String.raw`
import hashlib, json, sys
from remerkleable.basic import uint64
from remerkleable.byte_arrays import ByteList, ByteVector, Bytes4
from remerkleable.complex import Container, List
from py_ecc.secp256k1.secp256k1 import ecdsa_raw_recover, P

class Operator(Container):
    name: ByteList[64]
    address: ByteVector[20]
    peer_id: ByteList[64]
    multiaddrs: List[ByteList[256], 8]

class ClusterConfig(Container):
    version: ByteList[64]
    uuid: ByteList[64]
    name: ByteList[64]
    fork_version: Bytes4
    threshold: uint64
    num_validators: uint64
    withdrawal_address: ByteVector[20]
    fee_recipient: ByteVector[20]
    operators: List[Operator, 64]

def b58decode(s):
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    n = 0
    for c in s:
        n = n * 58 + alphabet.index(c)
    zeros = len(s) - len(s.lstrip("1"))  # each leading "1" is a zero byte
    return bytes(zeros) + n.to_bytes((n.bit_length() + 7) // 8, "big")

def public_key(peer_id):
    raw = b58decode(peer_id)
    # identity multihash (0x00, length 37) of the key protobuf: Type=secp256k1 (0x08 0x02), Data (0x12 0x21)
    assert raw[:2] == bytes([0x00, 37]) and raw[2:6] == bytes([0x08, 0x02, 0x12, 0x21]), raw.hex()
    return raw[6:]

def der(sig):
    assert sig[0] == 0x30
    def integer(at):
        assert sig[at] == 0x02
        length = sig[at + 1]
        return int.from_bytes(sig[at + 2 : at + 2 + length], "big"), at + 2 + length
    r, at = integer(2)
    s, _ = integer(at)
    return r, s

def compressed(point):
    x, y = point
    return bytes([2 + (y & 1)]) + x.to_bytes(32, "big")

def h(x): return bytes.fromhex(x[2:])

d = json.load(sys.stdin)
u = lambda s: s.encode()
config = ClusterConfig(
    version=u(d["version"]), uuid=u(d["uuid"]), name=u(d["name"]),
    fork_version=h(d["forkVersion"]), threshold=d["threshold"], num_validators=d["numValidators"],
    withdrawal_address=h(d["withdrawalAddress"]), fee_recipient=h(d["feeRecipient"]),
    operators=[Operator(name=u(o["name"]), address=h(o["address"]), peer_id=u(o["peerId"]),
                        multiaddrs=[u(m) for m in o["multiaddrs"]]) for o in d["operators"]])
root = config.hash_tree_root()
digest = hashlib.sha256(b"nektar-cluster-definition:" + bytes(root)).digest()
valid = []
for o in d["operators"]:
    r, s = der(h(o["signature"]))
    recovered = set()
    for v in (27, 28):
        try:
            recovered.add(compressed(ecdsa_raw_recover(digest, (v, r, s))))
        except ValueError:
            pass
    valid.append(public_key(o["peerId"]) in recovered)
print(json.dumps({"configHash": "0x" + bytes(root).hex(), "signaturesValid": valid}))
`;

describe("cluster definition, checked by Python (remerkleable, py_ecc)", () => {
  const python = process.env.NEKTAR_PYTHON;
  if (python === undefined) throw new Error("NEKTAR_PYTHON is not set: run `npm run test:system` (test/system/provision.sh)");

  it("agrees on the config hash and on every operator's signature", async () => {
    const ids = Array.from({ length: 5 }, generateIdentity);
    let def = createDefinition({
      name: "oracle-check",
      forkVersion: "0x10000910",
      numValidators: 300,
      withdrawalAddress: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
      feeRecipient: "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359",
      operators: ids.map((id, i) => ({
        name: `op-${i}`,
        address: `0x${"ab".repeat(19)}${i.toString(16).padStart(2, "0")}`,
        peerId: id.peerId.toString(),
        multiaddrs: i % 2 === 0 ? [`/dns4/op-${i}.nektar.svc.cluster.local/tcp/3610`] : [`/ip4/10.0.0.${i}/tcp/3610`, `/ip6/fd00::${i}/tcp/3610`],
      })),
    });
    for (const id of ids) def = await signDefinition(def, id);

    const out = execFileSync(python, ["-c", ORACLE], { input: JSON.stringify(def), encoding: "utf8" });
    const result = JSON.parse(out) as { configHash: string; signaturesValid: boolean[] };
    expect(result.configHash).toBe(toHex(configHash(def)));
    expect(result.signaturesValid).toEqual(ids.map(() => true));

    // The oracle can say no: a signature over another definition does not verify.
    const other = await signDefinition({ ...def, numValidators: 301 }, ids[0]!);
    const tampered = { ...def, operators: def.operators.map((op, i) => (i === 0 ? other.operators[0]! : op)) };
    const rejected = JSON.parse(execFileSync(python, ["-c", ORACLE], { input: JSON.stringify(tampered), encoding: "utf8" })) as typeof result;
    expect(rejected.signaturesValid[0]).toBe(false);
  });
});
