/** Operator registration with a proof of possession, peer ids, and collateral. */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { hexlify, parseEther, toUtf8Bytes } from "ethers";

import { events, g1FromPublicKey, g2FromSignature, operatorIdOf, proofOfPossession, publicKeyFromG1, registerOperator } from "../client/index.js";
import type { OperatorRegistryEvents } from "../client/index.js";
import { deployFixture, operatorKey } from "./fixture.js";
import type { Fixture } from "./fixture.js";
import { SETUP_TIMEOUT_MS, expectRevert } from "./helpers.js";

describe("OperatorRegistry", () => {
  let f: Fixture;

  beforeAll(async () => {
    f = await deployFixture();
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await f?.anvil.stop();
  });

  it("registers a key proven by possession, under the id the client computes", async () => {
    const { operatorRegistry } = await f.as(1);
    const sk = operatorKey(1);
    const registered = await registerOperator(operatorRegistry, sk, toUtf8Bytes("12D3KooW-peer-1"));
    expect(registered.operatorId).toBe(operatorIdOf(sk.toPublicKey()));
    expect(registered.publicKey).toEqual(g1FromPublicKey(sk.toPublicKey()));
    expect(hexlify(publicKeyFromG1(registered.publicKey).toBytes(true))).toBe(hexlify(sk.toPublicKey().toBytes(true)));
    const address = await (await f.anvil.signer(1)).getAddress();
    expect(await f.contracts.operatorRegistry.operatorOf(registered.operatorId)).toBe(address);
    expect((await f.contracts.operatorRegistry.publicKeyOf(address)).toObject(true)).toEqual(registered.publicKey);
    await expectRevert(registerOperator(operatorRegistry, operatorKey(2), toUtf8Bytes("again")), "OperatorAlreadyRegistered");
  });

  it("rejects a forged proof of possession and a key registered by someone else", async () => {
    const { operatorRegistry } = await f.as(2);
    const sk = operatorKey(2);
    // A rogue key attempt: claiming a key with a proof made by another secret key.
    await expectRevert(
      operatorRegistry.register(g1FromPublicKey(sk.toPublicKey()), proofOfPossession(operatorKey(99)), toUtf8Bytes("p")),
      "InvalidProofOfPossession",
    );
    // The plain signature of the key bytes (signature tag instead of the POP tag) is no proof.
    const wrongTag = g2FromSignature(sk.sign(sk.toPublicKey().toBytes(true)));
    await expectRevert(operatorRegistry.register(g1FromPublicKey(sk.toPublicKey()), wrongTag, toUtf8Bytes("p")), "InvalidProofOfPossession");
    await expectRevert(registerOperator(operatorRegistry, operatorKey(1), toUtf8Bytes("p")), "PublicKeyAlreadyRegistered");
    await expectRevert(registerOperator(operatorRegistry, sk, new Uint8Array(0)), "InvalidPeerIdLength");
    await expectRevert(registerOperator(operatorRegistry, sk, new Uint8Array(129)), "InvalidPeerIdLength");
  });

  it("updates the peer id with an event", async () => {
    const { operatorRegistry } = await f.as(1);
    const receipt = await (await operatorRegistry.setPeerId(toUtf8Bytes("12D3KooW-moved"))).wait();
    expect(events<OperatorRegistryEvents>(operatorRegistry).one(receipt, "PeerIdUpdated").peerId).toBe(hexlify(toUtf8Bytes("12D3KooW-moved")));
    const unregistered = await f.as(5);
    await expectRevert(unregistered.operatorRegistry.setPeerId(toUtf8Bytes("x")), "OperatorNotRegistered");
  });

  it("locks 1 divETH per active share and only the pool can lock", async () => {
    const op = await f.as(1);
    const address = await (await f.anvil.signer(1)).getAddress();
    await (await op.stakingPool.deposit(address, { value: parseEther("3") })).wait();
    await (await op.divETH.approve(op.operatorRegistry.target, parseEther("1.5"))).wait();
    await (await op.operatorRegistry.depositCollateral(parseEther("1.5"))).wait();

    await expectRevert(op.operatorRegistry.lockShares([address]), "AccessControlUnauthorizedAccount");
    // The deployer plays the pool here, to drive lock and release directly.
    const registry = f.contracts.operatorRegistry;
    await (await registry.grantRole(await registry.POOL_ROLE(), await f.deployer.getAddress())).wait();
    await (await registry.lockShares([address])).wait();
    await expectRevert(registry.lockShares([address]), "InsufficientCollateral");
    expect(await registry.freeCollateralOf(address)).toBe(parseEther("0.5"));
    await expectRevert(op.operatorRegistry.withdrawCollateral(parseEther("1")), "CollateralLocked");
    await (await op.operatorRegistry.withdrawCollateral(parseEther("0.5"))).wait();
    await (await registry.releaseShares([address])).wait();
    await expectRevert(registry.releaseShares([address]), "NoActiveShares");
    await (await op.operatorRegistry.withdrawCollateral(parseEther("1"))).wait();
    expect((await registry.collateralOf(address)).collateral).toBe(0n);
  });
});
